# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reconciler's planner: every record the collection may have left behind,
compared with the live VMs. Pure (no I/O), deterministic (sorted) and explainable
(every removal carries a reason).

A record is removed only when all three hold:
  1. it is marked as ours (see DESIGN.md, "Ownership marks"): a DNS name with the
     TXT mark, a PTR of a pool address naming its pool host, a DHCP reservation the
     backend reports as owned, a reservation hpcvm-<host>, a domain with our libvirt
     metadata, a file in the VM folder named <pool host>.<suffix>, a pool node;
  2. it belongs to no live VM: the name has no host job hpcvm:<host> (pending,
     running or completing) and is not in `live_hosts` (VMs this run just claimed);
  3. it has been seen orphaned for at least `grace` seconds. `first_seen` is the
     reconciler's memory from the previous run ({key: epoch}); a record seen for the
     first time starts its clock now, and a record that disappears or turns live
     is forgotten (reconcile_memory.py).

Nodes: a pool node that is not FUTURE, has no live VM, runs no job and whose slurmd
does not answer goes back to the pool (down, then future). A pool node that is
FUTURE while its host job runs, whose VM had registered under that host job (a
slurmctld restart brings FUTURE-declared nodes back FUTURE, FACTS.md; the evidence
is vm_state.hidden_reason's), and whose domain runs on the host job's
hypervisor when that hypervisor was read, is resumed.

Flags (reported, never acted on): a domain of ours whose overlay's base image changed under
it (libvirt_guest_info's base_changed: overwritten in place, or gone) is listed in `flagged`
as kind base_changed, with the image's name and why. The reconciler neither stops nor removes
it: its jobs may still finish, and the planner and the admin decide (_flag_base_changes).

plan(ReconcileInputs(...)) judges each kind of record in its own step (_judge_dns,
_judge_ptrs, _judge_dhcp, _judge_reservations, _judge_domains, _judge_files,
_judge_nodes) into one _Judgement.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import posixpath

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import (
    DEFAULT_REASON_PREFIX,
    host_of_reservation,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.reconcile_memory import (
    OrphanCollector,
    ReconcileInputError,
    record_key,
    validate_first_seen,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.vm_state import (
    hidden_reason,
    hosts_with_jobs,
    node_runs_jobs,
)

KINDS = ("domain", "file", "reservation", "dhcp", "dns", "node")  # the order removals are applied in
FLAG_KINDS = ("base_changed",)   # reported only
VM_CLUSTER = "vm cluster"


def _fqdn(name):
    return name if name.endswith(".") else name + "."


def _pool_index(images):
    """{hostname: image} for every pool host."""
    index = {}
    for name in sorted(images):
        for host in images[name]["hosts"]:
            index[host] = images[name]
    return index


class ReconcileInputs(object):
    """Everything one reconcile judges; each record source is None when this run did not read it.

    snapshot       the slurm_demand snapshot (nodes, host_jobs, reservations, vm_jobs)
    images         the normalized image table
    now, grace     the time of the run, and how long a record stays orphaned before it goes (seconds)
    first_seen     the previous run's memory ({record key: epoch first seen orphaned})
    dns            dns_record_info `names` of the forward zone (owned and not), or None if not read
    dns_zone       the forward zone (for names without one, and the PTR targets)
    ptrs           dns_record_info `names` of the reverse zone (PTRs), or None; judged with dns only
    reverse_zone   the reverse zone (for PTRs without one)
    dhcp           dhcp_host_info `reservations`, or None
    dhcp_where     the name the DHCP records are listed under (the backend)
    domains        {hypervisor: libvirt_guest_info `guests`} for the hypervisors read
    files          {hypervisor: [paths in the VM folder]} for the hypervisors read
    read_as        {hypervisor: the hypervisor whose read covers it} when several share one libvirtd
                   (the lab's stand-ins); used to find the domain of a host job's hypervisor
    live_hosts     hostnames that count as live though the snapshot has no host job (claimed this run)
    reason_prefix  the prefix of the node reasons the collection sets
    only_hosts     if given, only records of these hostnames are judged (the others are left as they are)
    registered     {host: host job id} of the VMs the last scheduler run saw registered (registered.json)
    """

    def __init__(self, snapshot, images, now, grace, first_seen=None, dns=None, dns_zone=None, ptrs=None,
                 reverse_zone=None, dhcp=None, dhcp_where="dhcp", domains=None, files=None, read_as=None,
                 live_hosts=(), reason_prefix=DEFAULT_REASON_PREFIX, only_hosts=None, registered=None):
        if grace is None or int(grace) < 0:
            raise ReconcileInputError("the grace period must be 0 or more seconds, not %r" % (grace,))
        self.snapshot = snapshot
        self.pool = _pool_index(images)
        self.host_jobs = snapshot.get("host_jobs") or {}
        self.nodes = snapshot.get("nodes") or {}
        self.now = int(now)
        self.grace = int(grace)
        self.first_seen = validate_first_seen(first_seen)
        self.dns, self.dns_zone, self.ptrs, self.reverse_zone = dns, dns_zone, ptrs, reverse_zone
        self.dhcp, self.dhcp_where = dhcp, dhcp_where
        self.domains, self.files, self.read_as = domains, files, read_as or {}
        self.live_hosts = set(live_hosts or ())
        self.reason_prefix = reason_prefix
        self.only_hosts = None if only_hosts is None else set(only_hosts)
        self.registered = registered


class _Judgement(object):
    """The records of one reconcile sorted as they are judged: protected (a live VM's), or
    orphaned (the collector's remove or waiting); the nodes to resume; which sources were observed."""

    def __init__(self, inputs):
        self.inputs = inputs
        self.collector = OrphanCollector(inputs.now, inputs.grace, inputs.first_seen, inputs.only_hosts)
        self.protected = []
        self.observed = set()
        self.resume = []
        self.flagged = []

    def consider(self, item, host, why):
        """A record marked as ours: protected while its host has a live VM, else an orphan."""
        live = _live_reason(host, self.inputs.host_jobs, self.inputs.live_hosts) if host else None
        if live:
            self.protected.append({"kind": item["kind"], "hostname": host, "where": item["where"],
                                   "key": item["key"], "reason": "live VM: %s" % live})
            return
        self.collector.orphan(item, why)

    def result(self):
        collector = self.collector
        collector.keep_unobserved(self.observed)
        order = {kind: index for index, kind in enumerate(KINDS)}

        def sort_key(item):
            return (order[item["kind"]], item["hostname"], item["where"], item["key"])

        removals = sorted(collector.remove, key=sort_key)
        counts = {}
        for item in removals:
            counts[item["kind"]] = counts.get(item["kind"], 0) + 1
        return {
            "remove": removals,
            "resume": self.resume,
            "waiting": sorted(collector.waiting, key=sort_key),
            "protected": sorted(self.protected, key=sort_key),
            "flagged": sorted(self.flagged, key=lambda item: (item["kind"], item["hostname"], item["where"])),
            "first_seen": dict(sorted(collector.memory.items())),
            "counts": counts,
        }


def _live_reason(host, host_jobs, live_hosts):
    job = host_jobs.get(host)
    if job is not None:
        return "host job %s %s" % (job.get("id"), job.get("state"))
    if host in live_hosts:
        return "claimed in this run"
    return None


def plan(inputs):
    """What to remove and what to resume, and what to flag (inputs: ReconcileInputs).
    Returns {remove, resume, waiting, protected, flagged, first_seen, counts}."""
    judgement = _Judgement(inputs)
    if inputs.dns is not None:
        forward_names = _judge_dns(inputs, judgement)
        if inputs.ptrs is not None and inputs.dns_zone:
            _judge_ptrs(inputs, judgement, forward_names)
    if inputs.dhcp is not None:
        _judge_dhcp(inputs, judgement)
    _judge_reservations(inputs, judgement)
    domain_names = _judge_domains(inputs, judgement)
    _flag_base_changes(inputs, judgement, domain_names)
    _judge_files(inputs, judgement, domain_names)
    _judge_nodes(inputs, judgement)
    return judgement.result()


def _judge_dns(inputs, judgement):
    """Forward names with our TXT mark. Returns every forward name read (owned or not)."""
    judgement.observed.add(("dns", None))
    forward_any = set()
    for entry in inputs.dns:
        name = _fqdn(entry["name"])
        forward_any.add(name)
        mark = entry.get("mark")
        if not entry.get("owned") or not mark:
            continue  # unmarked: never ours
        host = (mark.get("vm") or entry.get("label") or name.split(".")[0]).lower()
        zone = _fqdn(entry.get("zone") or inputs.dns_zone or "")
        item = {"kind": "dns", "hostname": host, "where": zone, "name": name, "ptr": True,
                "key": record_key("dns", zone, name)}
        judgement.consider(item, host, "DNS name %s marked by hpc.slurm_vm (image %s, host job %s)"
                           % (name, mark.get("image", "?"), mark.get("job", "?")))
    return forward_any


def _judge_ptrs(inputs, judgement, forward_names):
    """A PTR is ours when it is the pool address of a pool host and names that host, and the
    forward name is gone (a marked forward name takes its PTR with it)."""
    judgement.observed.add(("ptr", None))
    zone = _fqdn(inputs.dns_zone)
    for entry in inputs.ptrs:
        name = _fqdn(entry["name"])
        for target in (entry.get("records") or {}).get("PTR") or []:
            target = _fqdn(target).lower()
            host, _sep, domain = target.partition(".")
            image = inputs.pool.get(host)
            if image is None or domain != zone:
                continue
            pool_ptr = _fqdn(ipaddress.ip_address(image_table.vm_ip(image, host)).reverse_pointer)
            if pool_ptr != name or target in forward_names:
                continue
            where = _fqdn(entry.get("zone") or inputs.reverse_zone or "")
            # the value it points at: dns_record removes it as ours only while it still points there
            item = {"kind": "dns", "hostname": host, "where": where, "name": name, "type": "PTR",
                    "value": target, "ptr": False, "key": record_key("ptr", where, name)}
            judgement.consider(item, host, "PTR %s -> %s, the pool address of %s, without its forward name"
                               % (name, target, host))


def _judge_dhcp(inputs, judgement):
    """DHCP reservations the backend reports as ours."""
    judgement.observed.add(("dhcp", None))
    where = inputs.dhcp_where
    for entry in inputs.dhcp:
        if not entry.get("owned"):
            continue
        host = (entry.get("hostname") or "").lower()
        identity = "%s/%s" % (host, (entry.get("mac") or "").lower())
        item = {"kind": "dhcp", "hostname": host, "where": where, "mac": entry.get("mac"),
                "ip": entry.get("ip"), "key": record_key("dhcp", where, identity)}
        judgement.consider(item, host, "DHCP reservation of %s (%s, %s) marked by hpc.slurm_vm"
                           % (host, entry.get("mac"), entry.get("ip")))


def _judge_reservations(inputs, judgement):
    """Reservations hpcvm-<host> in the VM cluster that carry our mark (a reservation named like ours
    without it, or from a snapshot that does not say, is someone else's: never judged)."""
    judgement.observed.add(("reservation", None))
    reservations = inputs.snapshot.get("reservations") or {}
    for res_name in sorted(reservations):
        host = host_of_reservation(res_name)
        if host is None or not reservations[res_name].get("ours"):
            continue
        item = {"kind": "reservation", "hostname": host, "where": VM_CLUSTER, "name": res_name,
                "key": record_key("reservation", VM_CLUSTER, res_name)}
        judgement.consider(item, host, "reservation %s%s" % (
            res_name, "" if host in inputs.pool else ", which names no pool host"))


def _judge_domains(inputs, judgement):
    """Domains with our metadata, per hypervisor read. Returns {hypervisor: {name: guest}}."""
    domain_names = {}
    domains = inputs.domains or {}
    for hypervisor in sorted(domains):
        judgement.observed.add(("domain", hypervisor))
        for guest in domains[hypervisor] or []:
            if not guest.get("ours", True):
                continue
            name = guest["name"]
            domain_names.setdefault(hypervisor, {})[name] = guest
            meta = guest.get("metadata") or {}
            item = {"kind": "domain", "hostname": name, "where": hypervisor, "name": name,
                    "key": record_key("domain", hypervisor, name)}
            judgement.consider(item, name, "domain %s (%s, image %s, host job %s) with hpc.slurm_vm metadata"
                               % (name, guest.get("state", "?"), meta.get("image", "?"),
                                  meta.get("host_job", meta.get("hostjob", "?"))))
    return domain_names


def _flag_base_changes(inputs, judgement, domain_names):
    """Our domains whose overlay's base image changed (libvirt_guest_info base_changed true): flagged with
    the reason the _info module gave, which names the image, the path and both versions. Never removed
    or stopped here."""
    for hypervisor in sorted(domain_names):
        for name in sorted(domain_names[hypervisor]):
            guest = domain_names[hypervisor][name]
            if guest.get("base_changed") is not True:
                continue
            if inputs.only_hosts is not None and name not in inputs.only_hosts:
                continue
            meta = guest.get("metadata") or {}
            base = guest.get("base") or {}
            reason = guest.get("base_changed_reason") or "image %s: the base image %s under this guest's overlay " \
                "changed" % (meta.get("image", "?"), base.get("path", "?"))
            judgement.flagged.append({
                "kind": "base_changed", "hostname": name, "where": hypervisor, "image": meta.get("image"),
                "image_version": guest.get("image_version") or meta.get("image_version"),
                "base_path": base.get("path"), "state": guest.get("state"),
                "host_job": meta.get("host_job", meta.get("hostjob")),
                "reason": "%s (domain %s on %s, %s; left running: drain or replace it)"
                          % (reason, name, hypervisor, guest.get("state", "?")),
            })


def _judge_files(inputs, judgement, domain_names):
    """Files in the VM folder named after a pool host. A file whose domain still exists there is
    the domain's: removing the domain removes it."""
    files = inputs.files or {}
    for hypervisor in sorted(files):
        judgement.observed.add(("file", hypervisor))
        for path in sorted(files[hypervisor] or []):
            base = posixpath.basename(path)
            host, dot, _suffix = base.partition(".")
            if not dot or host not in inputs.pool or host in domain_names.get(hypervisor, {}):
                continue
            item = {"kind": "file", "hostname": host, "where": hypervisor, "path": path,
                    "key": record_key("file", hypervisor, path)}
            judgement.consider(item, host, "file %s named after pool host %s" % (path, host))


def _judge_nodes(inputs, judgement):
    """Pool nodes: a hidden one (FUTURE while its host job runs) is resumed once its domain runs;
    one that is not FUTURE, with no live VM, no job and no slurmd answering, is an orphan."""
    judgement.observed.add(("node", None))
    busy_hosts = hosts_with_jobs(inputs.snapshot.get("vm_jobs"))
    for host in sorted(inputs.pool):
        node = inputs.nodes.get(host)
        if node is None:
            continue
        job = inputs.host_jobs.get(host)
        if inputs.only_hosts is not None and host not in inputs.only_hosts:
            continue
        if node["state"] == "FUTURE":
            if job is not None and job.get("state") == "RUNNING":
                why = _resume_reason(host, node, job, inputs, busy_hosts)
                if why:
                    judgement.resume.append({"kind": "node", "hostname": host, "where": VM_CLUSTER, "reason": why,
                                             "host_job_id": job.get("id"), "hypervisor": job.get("hypervisor")})
            continue
        if job is not None or host in inputs.live_hosts:
            continue
        if node_runs_jobs(node):
            continue  # a job still runs there: leave it to the planner and to Slurm
        if node.get("registered"):
            continue  # a slurmd still answers under this name; its domain is reconciled first
        judgement.collector.orphan(*_orphan_node(host, node, inputs.reason_prefix))


def _orphan_node(host, node, reason_prefix):
    """(item, why) of a pool node that belongs to no VM."""
    state = "+".join([node["state"]] + list(node.get("flags") or []))
    reason = node.get("reason") or ""
    why = "pool node %s is %s%s with no host job and no slurmd answering" % (
        host, state, (" (reason: %s)" % reason) if reason else "")
    if reason.startswith(reason_prefix):
        why += "; the collection set that reason"
    return {"kind": "node", "hostname": host, "where": VM_CLUSTER, "state": state,
            "key": record_key("node", VM_CLUSTER, host)}, why


def _resume_reason(host, node, job, inputs, busy_hosts):
    """Why a FUTURE node of a running host job is resumed, or None."""
    evidence = hidden_reason(host, node, job, busy_hosts, inputs.registered)
    if evidence is None:
        return None  # still booting (or the slurmd start is from an earlier VM of that name)
    hypervisor = job.get("hypervisor")
    read = inputs.read_as.get(hypervisor, hypervisor)
    domains = inputs.domains
    if domains is not None and read in domains:
        guest = [g for g in domains[read] or [] if g.get("name") == host]
        if not guest or guest[0].get("state") != "running":
            return None  # the VM is gone or stopped; the planner's boot_timeout/teardown handles it
        where = "its domain runs on %s" % hypervisor
    else:
        where = "its hypervisor %s was not read" % hypervisor
    return ("FUTURE while host job %s runs (a slurmctld restart hides FUTURE-declared nodes); %s; %s"
            % (job.get("id"), evidence, where))


def removal_lines(result):
    """One line per removal, resume, waiting record and flag, for the play's debug output."""
    lines = []
    for item in result["remove"]:
        lines.append("remove %-11s %-14s %-16s %s" % (item["kind"], item["hostname"], item["where"], item["reason"]))
    for item in result["resume"]:
        lines.append("resume %-11s %-14s %-16s %s" % (item["kind"], item["hostname"], item["where"], item["reason"]))
    for item in result["waiting"]:
        lines.append("wait   %-11s %-14s %-16s %s" % (item["kind"], item["hostname"], item["where"], item["reason"]))
    for item in result.get("flagged") or []:
        lines.append("flag   %-11s %-14s %-16s %s" % (item["kind"], item["hostname"], item["where"], item["reason"]))
    return lines
