# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner's lifecycle side, per image: the next step of each VM that exists. Pure.

  teardown  the teardown rules, one per state (see TEARDOWN_RULES), each returning
            (step, reason) or (None, None):
              drain         drain the node (the role ends the host job once idle)
              end_host_job  the node is drained and idle, or failed: end the host job
              wait          drained, jobs still running, or a failed boot held DOWN
              finish        the host job is gone: remove reservation, DHCP and DNS,
                            then return the node to the pool (down, future)
  gc        names that belong to no VM (vm_state.GC), for the reconciler
  resume    hidden VMs, for the reconciler to resume once it has seen their domains
  start     booting VMs with a hypervisor: spawn is applied to them again
  reserve   VMs whose reservation starts after their host job now ends (a lowered time limit, a
            maintenance reservation on the hypervisor): it moves earlier, so no job outlives the VM
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import DEFAULT_REASON_PREFIX, reservation_name
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.preview import iso_time
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.vm_state import (
    GC,
    GC_REASONS,
    INVALID_REG,
    VmState,
    node_runs_jobs,
    rollout_reason,
)


# The VMs with a running host job, whose reservation follows its end.
_RESERVED_STATES = (VmState.BOOTING.value, VmState.IDLE.value, VmState.BUSY.value, VmState.DRAINING.value,
                    VmState.HIDDEN.value, VmState.FAILED.value)


def failed_boot_reason(reason_prefix=DEFAULT_REASON_PREFIX):
    """The node reason role teardown sets when a VM did not boot: the node stays DOWN (visible in
    sinfo -R) for the image's failed_hold before it returns to the pool."""
    return reason_prefix + " boot failed"


def vm_steps(context, image, vms, used):
    """{teardown, gc, resume, start}: the items of the image's VMs. used: the hostnames a
    pending job was matched to (an idle VM among them is not idle for idle_timeout)."""
    steps = {"teardown": [], "gc": [], "resume": [], "start": [], "reserve": []}
    idle_kept = 0
    for vm in vms:
        reserve = reserve_item(vm, image, context)
        if reserve:
            steps["reserve"].append(reserve)
        step, why = teardown_step(vm, image, context, used, idle_kept)
        if vm["state"] == VmState.IDLE and step is None:
            idle_kept += 1
        if step:
            steps["teardown"].append(_teardown_item(vm, image, step, why))
        elif vm["state"] in GC:
            steps["gc"].append({"image": image["name"], "hostname": vm["hostname"], "kind": vm["state"],
                                "reason": GC_REASONS[vm["state"]]})
        elif vm["state"] == VmState.HIDDEN:
            steps["resume"].append(_resume_item(vm, image))
        elif vm["state"] == VmState.BOOTING and vm.get("hypervisor"):
            steps["start"].append(_start_item(vm, image, context))
    return steps


# Seconds a reservation may start after the host job's end minus grace before it is moved (Slurm shows
# whole seconds; the spawn role rounds nothing).
RESERVE_TOLERANCE = 5


def reserve_item(vm, image, context):
    """A move of the VM's reservation to start `grace` before its host job's end (host_end: the earlier of
    EndTime and a maintenance reservation on the hypervisor), when it starts later; else None."""
    if vm["state"] not in _RESERVED_STATES or not vm.get("host_end"):
        return None
    reservation = context.snapshot["reservations"].get(reservation_name(vm["hostname"]))
    wanted = vm["host_end"] - context.rules["grace"]
    if not reservation or not reservation.get("ours") or reservation.get("start") is None:
        return None
    if reservation["start"] <= wanted + RESERVE_TOLERANCE:
        return None
    why = "host job %s now ends %s%s; reservation started %s" % (
        vm["host_job"]["id"], iso_time(vm["host_end"]),
        " (maintenance reservation %s on %s)" % (vm["maintenance"], vm["hypervisor"]) if vm.get("maintenance") else "",
        iso_time(reservation["start"]))
    return {"image": image["name"], "hostname": vm["hostname"], "start": wanted, "reason": why}


def _teardown_item(vm, image, step, why):
    return {"image": image["name"], "hostname": vm["hostname"], "step": step, "state": vm["state"], "reason": why,
            "host_job_id": (vm["host_job"] or {}).get("id"), "hypervisor": vm.get("hypervisor"),
            "started": vm.get("started"), "boot_failure": boot_failure(vm, step)}


def boot_failure(vm, step):
    """Why the VM's teardown is a failed boot, or None: it did not register in boot_timeout, or its
    slurmd registered invalid (the image table and slurm.conf disagree); never when its hypervisor is out
    of service (drained, or dead: its VM's slurmd stops answering and looks unregistered). A failed boot counts toward
    the image's backoff, and role teardown holds its node DOWN for failed_hold."""
    if step != "end_host_job" or vm.get("hypervisor_out"):
        return None  # a VM whose hypervisor left the host cluster's service did not fail to boot
    if vm["state"] == VmState.BOOTING:
        return "boot_timeout"
    if vm["state"] == VmState.FAILED and INVALID_REG in vm["node"]["flags"]:
        return "invalid_registration"
    return None


def _resume_item(vm, image):
    return {"image": image["name"], "hostname": vm["hostname"], "host_job_id": vm["host_job"]["id"],
            "hypervisor": vm.get("hypervisor"),
            "reason": "FUTURE while its host job runs (a slurmctld restart hides it): %s" % vm["hidden"]}


def _start_item(vm, image, context):
    """A host job that started after the run that submitted it stopped waiting: its VM is
    (re)applied each run until it registers; role spawn is idempotent."""
    host = vm["hostname"]
    version = vm.get("version") or image["version"]
    return {"image": image["name"], "hostname": host,
            "mac": image_table.vm_mac(image, host), "ip": image_table.vm_ip(image, host),
            "host_job_id": vm["host_job"]["id"], "hypervisor": vm["hypervisor"],
            "host_job_start": vm["started"], "host_job_end": vm.get("host_end") or vm["host_job"].get("end"),
            "image_version": version, "base_record": context.base_record(image, version),
            "reason": "host job runs on %s; VM not registered yet (%ds)" % (vm["hypervisor"],
                                                                            context.now - vm["started"])}


def hypervisor_reason(vm):
    """The drain reason of a VM whose hypervisor is out of service in the host cluster (it names it)."""
    return "hypervisor %s out of service in the host cluster (%s)" % (vm["hypervisor"], vm["hypervisor_out"])


def teardown_step(vm, image, context, used, idle_kept):
    """(step, reason) of the VM's teardown, or (None, None) to leave it. idle_kept: idle VMs of
    the image kept so far (min_idle keeps that many from idle_timeout)."""
    rule = TEARDOWN_RULES.get(vm["state"])
    if rule is None:
        return None, None
    if vm.get("hypervisor_dead") and vm["state"] != VmState.LEFTOVER.value:
        # nothing reaches a dead hypervisor: the host cluster ends the host job (NODE_FAIL), then `finish`
        return "wait", "hypervisor %s does not answer in the host cluster (%s): its host job ends there" % (
            vm["hypervisor"], vm["hypervisor_out"])
    return rule(vm, image, context, used, idle_kept)


def _leftover_step(vm, image, context, _used, _idle_kept):
    node = vm["node"]
    failed_hold = image["rules"]["failed_hold"]
    if node["state"] == "DOWN" and (node.get("reason") or "").startswith(context.failed_boot_reason):
        since = node.get("reason_time") or context.now
        if context.now - since < failed_hold:
            return "wait", "held DOWN after a failed boot until %s (failed_hold %ds)" % (
                iso_time(since + failed_hold), failed_hold)
    return "finish", "host job gone; reservation, records and node state to clean"


def _failed_step(vm, _image, _context, _used, _idle_kept):
    reason = vm["node"]["reason"]
    if INVALID_REG in vm["node"]["flags"]:
        return "end_host_job", ("slurmd registered invalid (%s): the image table and the VM cluster's "
                                "slurm.conf disagree" % (reason or "no reason"))
    return "end_host_job", "node %s%s" % (vm["node"]["state"], (": " + reason) if reason else "")


def _booting_step(vm, image, context, _used, _idle_kept):
    if vm.get("hypervisor_out"):
        return "end_host_job", hypervisor_reason(vm)
    waited = context.now - vm["started"]
    if waited > image["rules"]["boot_timeout"]:
        return "end_host_job", "boot_timeout: not registered %ds after the host job started (limit %ds)" % (
            waited, image["rules"]["boot_timeout"])
    return None, None


def _draining_step(vm, _image, _context, _used, _idle_kept):
    reason = vm["node"]["reason"] or "no reason"
    if node_runs_jobs(vm["node"]):
        return "wait", "drained (%s); jobs still running" % reason
    return "end_host_job", "drained (%s) and idle" % reason


def _in_service_step(vm, image, context, used, idle_kept):
    """An idle or busy VM drains when its hypervisor leaves the host cluster's service, when its image
    version is no longer the table's (rollout: idle ones go at once, busy ones once their jobs end), near
    the end of its usable life, and, idle, after idle_timeout unless min_idle keeps it or a pending job
    was matched to it."""
    if vm.get("hypervisor_out"):
        return "drain", hypervisor_reason(vm)
    if vm.get("outdated"):
        return "drain", rollout_reason(vm, image)
    drain_margin = context.rules["drain_margin"]
    if vm["life_left"] < drain_margin:
        return "drain", "lifetime: %ds of usable life left (drain margin %ds)" % (vm["life_left"], drain_margin)
    if vm["state"] == VmState.IDLE and vm["hostname"] not in used:
        idle_for = context.now - vm["idle_since"]
        irules = image["rules"]
        if idle_for > irules["idle_timeout"] and idle_kept >= irules["min_idle"]:
            return "drain", "idle for %ds (idle_timeout %ds)" % (idle_for, irules["idle_timeout"])
    return None, None


TEARDOWN_RULES = {
    VmState.LEFTOVER.value: _leftover_step,
    VmState.FAILED.value: _failed_step,
    VmState.BOOTING.value: _booting_step,
    VmState.DRAINING.value: _draining_step,
    VmState.IDLE.value: _in_service_step,
    VmState.BUSY.value: _in_service_step,
}
