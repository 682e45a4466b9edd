# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state of a pool host's VM: one enum, its groupings, and the one classify. Pure.

A VM's state is read from three records of the snapshot: its node in the VM cluster,
its host job hpcvm:<host> on the host cluster, and its reservation hpcvm-<host>:

  without a host job
    free      FUTURE node, no reservation, not claimed in this run: the name is free
    claimed   FUTURE node, claimed in this run (DNS/DHCP records, no reservation yet)
    stray     a slurmd answers under the name, but no host job holds a VM for it
    leftover  the tail of a teardown: reservation, records or node state still to clean
  with a host job
    pending   the host job waits for a hypervisor
    ending    the host job is COMPLETING
    failed    the node is DOWN or FAIL
    draining  the node is drained (by us, or by an admin)
    booting   the node has not registered yet
    hidden    FUTURE again while its host job runs: a slurmctld restart hid a VM that
              had registered (the evidence: hidden_reason)
    busy      registered and running jobs
    idle      registered, no job
  unknown     the name is missing from the VM cluster's slurm.conf

Hidden VMs: a restarted slurmctld brings nodes declared State=FUTURE back as FUTURE, even
those of running VMs (FACTS.md), and forgets their SlurmdStartTime; their jobs keep running
but no new job is sent to them, and the VM's slurmd is not pinged, so it never registers
again by itself. Without more evidence such a VM looks like one still booting, and
boot_timeout would end its host job. The evidence that the VM of the *current* host job
had registered, any of:
  1. the node's SlurmdStartTime is not before the host job's start (kept by the restart
     on some versions);
  2. a VM-cluster job runs on the node (only a registered slurmd gets jobs);
  3. an earlier scheduler run saw the node registered under this host job: the
     `registered` memory ({host: host job id}) run_report writes each run (REGISTERED_FILE).
The planner then calls the VM `hidden` (alive, not booting) and the reconciler resumes
its node once it has seen the domain running.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from enum import Enum

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import nodeset
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import (
    DEFAULT_REASON_PREFIX,
    host_job_comment_fields,
    reservation_name,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.parse import JOB_STATES_ON_NODE, NODE_BUSY_STATES


class VmState(str, Enum):
    """The states a pool host's VM can be in. Plans carry the plain strings (.value)."""
    FREE = "free"
    CLAIMED = "claimed"
    PENDING = "pending"
    BOOTING = "booting"
    IDLE = "idle"
    BUSY = "busy"
    DRAINING = "draining"
    FAILED = "failed"
    ENDING = "ending"
    HIDDEN = "hidden"
    STRAY = "stray"
    LEFTOVER = "leftover"
    UNKNOWN = "unknown"

    def __str__(self):
        return self.value


def _values(*states):
    return tuple(state.value for state in states)


# A VM with a host job: counts against max_vms and max_total_vms.
ALIVE = _values(VmState.PENDING, VmState.BOOTING, VmState.IDLE, VmState.BUSY, VmState.DRAINING,
                VmState.FAILED, VmState.ENDING, VmState.HIDDEN)
# Its slurmd registered and Slurm sees it now (boot latency is measured on these).
SERVING = _values(VmState.IDLE, VmState.BUSY, VmState.DRAINING)
# Its slurmd registered under the current host job: what the next run remembers (REGISTERED_FILE).
REGISTERED = SERVING + _values(VmState.HIDDEN)
# Can take a pending job, now or once it is up (a hidden VM only while it runs no job: see is_supply).
SUPPLY = _values(VmState.IDLE, VmState.BOOTING, VmState.PENDING, VmState.HIDDEN)
# Belong to no VM: listed for the reconciler, which applies the grace period; and why.
GC_REASONS = {
    VmState.STRAY.value: "slurmd registered but no host job holds a VM for it",
    VmState.CLAIMED.value: "DNS/DHCP records but no host job or reservation",
    VmState.UNKNOWN.value: "pool host missing from the VM cluster's slurm.conf",
}
GC = _values(VmState.STRAY, VmState.CLAIMED, VmState.UNKNOWN)
# The states the run report counts per image (free names and teardown tails are not VMs).
REPORTED = ALIVE + GC

REGISTERED_FILE = "registered.json"
# The node flag Slurm sets when a slurmd registers with fewer CPUs, sockets or memory than
# slurm.conf gives the node; Slurm drains it with a reason such as "Low CPUs".
INVALID_REG = "INVALID_REG"


def is_supply(vm):
    """Whether the VM can serve a pending job: idle, booting and pending VMs (not draining or
    busy), and hidden ones running no job (this run's reconciler resumes them); never a VM of an
    image version the table no longer has (it is rolled over: lifecycle.py), nor one on a hypervisor
    that leaves the host cluster's service (it is drained)."""
    return (vm["state"] in SUPPLY and not (vm["state"] == VmState.HIDDEN and vm["busy"])
            and not vm.get("outdated") and not vm.get("hypervisor_out"))


def rollout_reason(vm, image):
    """Why a VM (or its pending host job) of an image version the table no longer has goes."""
    return "rollout of image %s: version %s replaced by %s" % (image["name"], vm.get("version"), image["version"])


def vm_version(host_job):
    """The image version the host job's VM was started with (its comment), or None (unknown: a host
    job submitted before versions were recorded, or by someone else)."""
    return host_job_comment_fields((host_job or {}).get("comment")).get("version")


# The host-cluster node states that take a hypervisor out of service: its VMs are drained.
HYPERVISOR_OUT_STATES = ("DOWN", "FAIL", "FUTURE")
HYPERVISOR_OUT_FLAGS = ("DRAIN", "FAIL", "MAINT", "NOT_RESPONDING", "REBOOT_REQUESTED", "REBOOT_ISSUED",
                        "POWER_DOWN", "POWERING_DOWN")


# The host-cluster node states of a hypervisor that does not answer: the host cluster ends its host jobs
# (NODE_FAIL), and nothing can reach it (no domain check, no host-job trap).
HYPERVISOR_DEAD_STATES = ("DOWN", "FAIL")
HYPERVISOR_DEAD_FLAGS = ("NOT_RESPONDING",)


def hypervisor_dead(hypervisor, hypervisors):
    """Whether the host-cluster node `hypervisor` is down or does not answer (False when unknown)."""
    node = (hypervisors or {}).get(hypervisor) if hypervisor else None
    if not node:
        return False
    flags = node.get("flags") or ()
    return node.get("state") in HYPERVISOR_DEAD_STATES or any(f in HYPERVISOR_DEAD_FLAGS for f in flags)


def hypervisor_out(hypervisor, hypervisors):
    """Why the host-cluster node `hypervisor` is out of service ('drained: <reason>'), or None. hypervisors:
    the snapshot's {node: {state, flags, reason}} of the nodes running host jobs. A node missing
    from it is not read as out of service (its host job shows it runs)."""
    node = (hypervisors or {}).get(hypervisor) if hypervisor else None
    if not node:
        return None
    flags = [f for f in node.get("flags") or () if f in HYPERVISOR_OUT_FLAGS]
    if node.get("state") not in HYPERVISOR_OUT_STATES and not flags:
        return None
    state = "+".join([node.get("state") or "?"] + flags)
    reason = node.get("reason")
    return "%s%s" % (state, (": " + reason) if reason else "")


def node_runs_jobs(node):
    """Whether Slurm runs (or finishes) jobs on the node."""
    return node["state"] in NODE_BUSY_STATES or node.get("alloc_cpus", 0) > 0


def is_our_teardown_tail(node, reason_prefix=DEFAULT_REASON_PREFIX):
    """A node our teardown set DOWN or drained (its reason starts with our prefix).

    The shared `registered` (slurm/parse.py) reads Slurm's text alone, and right after our
    teardown drained a node and its VM went, Slurm still shows the gone slurmd's BootTime and
    SlurmdStartTime and no NOT_RESPONDING until the next ping (captured on 22.05:
    tests/unit/plugins/module_utils/scheduler/fixtures/teardown_tail, test_vm_state.py). Only
    the host job's absence tells that the VM is gone, so without a host job this rule, not
    `registered`, decides: the node is the tail of a teardown, not a stray slurmd."""
    return node["state"] != "FUTURE" and (node.get("reason") or "").startswith(reason_prefix)


_STATES_ON_NODE = frozenset(JOB_STATES_ON_NODE)  # a set: most of 100,000 jobs are in none of them


def hosts_with_jobs(vm_jobs):
    """The VM-cluster nodes some job runs on (from the snapshot's vm_jobs)."""
    lists = {job.get("nodelist") for job in vm_jobs or () if job.get("state") in _STATES_ON_NODE}
    hosts = set()
    for expression in sorted(lists - {None, "", "(null)"}):
        hosts.update(nodeset.expand(expression))
    return hosts


def hidden_reason(host, node, host_job, busy_hosts, registered):
    """Why the FUTURE node `host` belongs to a VM that had registered under its running host
    job, or None (not hidden: not FUTURE, no running host job, or no evidence)."""
    if node is None or host_job is None or node.get("state") != "FUTURE" or host_job.get("state") != "RUNNING":
        return None
    started = host_job.get("start")
    slurmd_start = node.get("slurmd_start")
    if slurmd_start and started and slurmd_start >= started:
        return "its slurmd registered after host job %s started" % host_job.get("id")
    if host in busy_hosts:
        return "VM-cluster jobs still run on it"
    if str((registered or {}).get(host)) == str(host_job.get("id")):
        return "an earlier run saw it registered under host job %s" % host_job.get("id")
    return None


def registered_memory(vms):
    """{host: host job id} of the VMs that are registered (or hidden) now, for the next run."""
    return {vm["hostname"]: str(vm["host_job"]["id"]) for vm in vms
            if vm["state"] in REGISTERED and vm.get("host_job")}


def classify_vm(host, image, snapshot, claimed, rules, busy_hosts=(), registered=None,
                reason_prefix=DEFAULT_REASON_PREFIX):
    """The VM state of one pool host, with the times the rules need. busy_hosts and
    registered: the evidence hidden_reason weighs for a FUTURE node; reason_prefix: the
    prefix of the node reasons our teardown sets."""
    node = snapshot["nodes"].get(host)
    host_job = snapshot["host_jobs"].get(host)
    reservation = snapshot["reservations"].get(reservation_name(host))
    vm = {"hostname": host, "image": image["name"], "host_job": host_job, "node": node,
          "reservation": reservation is not None}
    if host_job is not None:
        vm["version"] = vm_version(host_job)
        vm["outdated"] = vm["version"] is not None and vm["version"] != image.get("version")
    if node is None:
        state = VmState.UNKNOWN
    elif host_job is None:
        state = _state_without_host_job(host, node, reservation is not None, claimed, reason_prefix)
    elif host_job["state"] == "PENDING":
        state = VmState.PENDING
        limit = host_job["time_limit"] or image["rules"]["lifetime"]
        vm["life_left"] = min(limit, image["rules"]["lifetime"]) - rules["grace"]
    elif host_job["state"] == "COMPLETING":
        state = VmState.ENDING
    else:
        state = _state_of_running_vm(vm, image, snapshot, rules, busy_hosts, registered)
    vm["state"] = state.value
    return vm


def _state_without_host_job(host, node, reserved, claimed, reason_prefix):
    if node["state"] == "FUTURE" and not reserved and host not in claimed:
        return VmState.FREE
    if node["registered"] and not is_our_teardown_tail(node, reason_prefix):
        return VmState.STRAY  # a slurmd answers under this name, but no host job holds a VM
    if node["state"] != "FUTURE" or reserved:
        return VmState.LEFTOVER
    return VmState.CLAIMED


def host_job_end(host_job, maintenance):
    """(when the host job's node ends it, the maintenance reservation that ends it early or None).

    The end is the job's EndTime, or, when earlier, the start of a MAINT reservation of the host
    cluster on its hypervisor (the snapshot's `maintenance`, {node: {start, reservation}}): Slurm
    does not stop a running job for it, but the site takes the node then, so the VM's life ends
    there (and its VM-cluster reservation moves earlier)."""
    end = host_job.get("end")
    window = (maintenance or {}).get(host_job.get("hypervisor") or "")
    if window and window.get("start") is not None and (end is None or window["start"] < end):
        return window["start"], window.get("reservation")
    return end, None


def _state_of_running_vm(vm, image, snapshot, rules, busy_hosts, registered):
    """The state of a VM whose host job runs; adds its times (usable_end, life_left, started,
    idle_since), its hypervisor and whether that is out of service (hypervisor_out) to vm."""
    host, node, host_job = vm["hostname"], vm["node"], vm["host_job"]
    now, hypervisors = snapshot["time"], snapshot.get("hypervisors")
    started = host_job["start"] or now
    vm["host_end"], vm["maintenance"] = host_job_end(host_job, snapshot.get("maintenance"))
    ends = [started + image["rules"]["lifetime"]]
    if vm["host_end"]:
        ends.append(vm["host_end"])
    vm["usable_end"] = min(ends) - rules["grace"]
    vm["life_left"] = vm["usable_end"] - now
    vm["started"] = started
    vm["hypervisor"] = host_job.get("hypervisor")
    vm["hypervisor_out"] = hypervisor_out(vm["hypervisor"], hypervisors)
    vm["hypervisor_dead"] = hypervisor_dead(vm["hypervisor"], hypervisors)
    if node["state"] in ("DOWN", "FAIL") or "FAIL" in node["flags"] or INVALID_REG in node["flags"]:
        return VmState.FAILED  # INVALID_REG: its slurmd registered with less than slurm.conf says (drained too)
    if "DRAIN" in node["flags"]:
        return VmState.DRAINING
    if not node["registered"]:
        vm["hidden"] = hidden_reason(host, node, host_job, busy_hosts, registered)
        vm["busy"] = host in busy_hosts
        return VmState.HIDDEN if vm["hidden"] else VmState.BOOTING
    if node_runs_jobs(node):
        return VmState.BUSY
    vm["idle_since"] = max(t for t in (node["last_busy"], node["slurmd_start"], started) if t)
    return VmState.IDLE


def count_states(vms):
    """{state: number of VMs}."""
    counts = {}
    for vm in vms:
        counts[vm["state"]] = counts.get(vm["state"], 0) + 1
    return counts
