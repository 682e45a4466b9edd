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
     is forgotten.

Nodes: a pool node that is not FUTURE, has no live VM, runs no job and whose slurmd
does not answer goes back to the pool (down, then future). A pool node that is
FUTURE while its host job runs, whose VM had registered under that host job (a
slurmctld restart brings FUTURE-declared nodes back FUTURE, FACTS.md; the evidence
is hidden_nodes.hidden_reason's), and whose domain runs on the host job's
hypervisor when that hypervisor was read, is resumed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import posixpath

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import (
    DEFAULT_REASON_PREFIX,
    host_of_reservation,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import hidden_nodes
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput

KINDS = ("domain", "file", "reservation", "dhcp", "dns", "node")  # the order removals are applied in
VM_CLUSTER = "vm cluster"
BUSY_STATES = ("ALLOCATED", "MIXED", "COMPLETING")


class ReconcileInputError(InvalidInput):
    """An input of the reconciler is not what the _info modules return."""


def record_key(kind, where, identity):
    """The first-seen memory key of one record."""
    return "%s|%s|%s" % (kind, where, identity)


def _fqdn(name):
    return name if name.endswith(".") else name + "."


def _age(seconds):
    seconds = int(seconds)
    if seconds < 120:
        return "%ds" % seconds
    if seconds < 7200:
        return "%dm" % (seconds // 60)
    return "%dh%02dm" % (seconds // 3600, (seconds % 3600) // 60)


class _Collector(object):
    """Sorts each orphan into `remove` or `waiting` by the grace period, and keeps the memory."""

    def __init__(self, now, grace, first_seen, only_hosts=None):
        self.only_hosts = only_hosts
        self.now = now
        self.grace = grace
        self.previous = first_seen
        self.memory = {}
        self.remove = []
        self.waiting = []

    def orphan(self, item, why):
        key = item["key"]
        if self.only_hosts is not None and item["hostname"] not in self.only_hosts:
            if key in self.previous:  # not judged in this run: its clock runs on
                self.memory[key] = self.previous[key]
            return
        first = self.previous.get(key, self.now)
        if first > self.now:  # a clock step back: start again rather than wait forever
            first = self.now
        self.memory[key] = first
        age = self.now - first
        item = dict(item, first_seen=first, orphaned_for=age)
        if age >= self.grace:
            item["reason"] = "%s (orphaned for %s, grace %s)" % (why, _age(age), _age(self.grace))
            self.remove.append(item)
        else:
            item["reason"] = "%s (orphaned for %s, removed after %s)" % (why, _age(age), _age(self.grace))
            self.waiting.append(item)

    def keep_unobserved(self, kinds_wheres):
        """Memory of records this run did not look at (an unread hypervisor) is kept as it was."""
        for key, first in self.previous.items():
            kind, _sep, rest = key.partition("|")
            where = rest.partition("|")[0]
            if (kind, where) in kinds_wheres or (kind, None) in kinds_wheres:
                continue
            self.memory.setdefault(key, first)


def _pool_index(images):
    """{hostname: image} for every pool host."""
    index = {}
    for name in sorted(images):
        for host in images[name]["hosts"]:
            index[host] = images[name]
    return index


def _validate_first_seen(first_seen):
    memory = {}
    for key, value in (first_seen or {}).items():
        try:
            memory[str(key)] = int(value)
        except (TypeError, ValueError) as exc:
            raise ReconcileInputError("first-seen memory: %r is not an epoch for %s" % (value, key)) from exc
    return memory


def _live_reason(host, host_jobs, live_hosts):
    job = host_jobs.get(host)
    if job is not None:
        return "host job %s %s" % (job.get("id"), job.get("state"))
    if host in live_hosts:
        return "claimed in this run"
    return None


def plan(snapshot, images, now, grace, first_seen=None, dns=None, dns_zone=None, ptrs=None, reverse_zone=None,
         dhcp=None, dhcp_where="dhcp", domains=None, files=None, read_as=None, live_hosts=(),
         reason_prefix=DEFAULT_REASON_PREFIX, only_hosts=None, registered=None):
    """What to remove and what to resume.

    snapshot    the slurm_demand snapshot (nodes, host_jobs, reservations)
    images      the normalized image table
    dns         dns_record_info `names` of the forward zone (owned and not), or None if not read
    ptrs        dns_record_info `names` of the reverse zone (PTRs), or None
    dhcp        dhcp_host_info `reservations`, or None
    domains     {hypervisor: libvirt_guest_info `guests`} for the hypervisors read
    files       {hypervisor: [paths in the VM folder]} for the hypervisors read
    read_as     {hypervisor: the hypervisor whose read covers it} when several share one libvirtd
                (the lab's stand-ins); used to find the domain of a host job's hypervisor
    live_hosts  hostnames that count as live though the snapshot has no host job (claimed this run)
    only_hosts  if given, only records of these hostnames are judged (the others are left as they are)
    registered  {host: host job id} of the VMs the last scheduler run saw registered (registered.json)
    Returns {remove, resume, waiting, protected, first_seen, counts}.
    """
    if grace is None or int(grace) < 0:
        raise ReconcileInputError("the grace period must be 0 or more seconds, not %r" % (grace,))
    now = int(now)
    grace = int(grace)
    host_jobs = snapshot.get("host_jobs") or {}
    nodes = snapshot.get("nodes") or {}
    pool = _pool_index(images)
    live_hosts = set(live_hosts or ())
    collector = _Collector(now, grace, _validate_first_seen(first_seen),
                           None if only_hosts is None else set(only_hosts))
    protected = []
    observed = set()

    def consider(item, host, why):
        live = _live_reason(host, host_jobs, live_hosts) if host else None
        if live:
            protected.append({"kind": item["kind"], "hostname": host, "where": item["where"],
                              "key": item["key"], "reason": "live VM: %s" % live})
            return
        collector.orphan(item, why)

    # DNS: forward names with our TXT mark.
    if dns is not None:
        observed.add(("dns", None))
        forward_owned = set()
        forward_any = set()
        for entry in dns:
            name = _fqdn(entry["name"])
            forward_any.add(name)
            mark = entry.get("mark")
            if not entry.get("owned") or not mark:
                continue  # unmarked: never ours
            forward_owned.add(name)
            host = (mark.get("vm") or entry.get("label") or name.split(".")[0]).lower()
            zone = _fqdn(entry.get("zone") or dns_zone or "")
            item = {"kind": "dns", "hostname": host, "where": zone, "name": name, "ptr": True,
                    "key": record_key("dns", zone, name)}
            consider(item, host, "DNS name %s marked by hpc.slurm_vm (image %s, host job %s)"
                     % (name, mark.get("image", "?"), mark.get("job", "?")))
        # Reverse: a PTR is ours when it is the pool address of a pool host and names that host, and
        # the forward name is gone (a marked forward name takes its PTR with it).
        if ptrs is not None and dns_zone:
            observed.add(("ptr", None))
            zone = _fqdn(dns_zone)
            for entry in ptrs:
                name = _fqdn(entry["name"])
                for target in (entry.get("records") or {}).get("PTR") or []:
                    target = _fqdn(target).lower()
                    host, _sep, domain = target.partition(".")
                    image = pool.get(host)
                    if image is None or domain != zone:
                        continue
                    pool_ptr = _fqdn(ipaddress.ip_address(image_table.vm_ip(image, host)).reverse_pointer)
                    if pool_ptr != name or target in forward_any:
                        continue
                    where = _fqdn(entry.get("zone") or reverse_zone or "")
                    item = {"kind": "dns", "hostname": host, "where": where, "name": name, "type": "PTR",
                            "ptr": False, "key": record_key("ptr", where, name)}
                    consider(item, host, "PTR %s -> %s, the pool address of %s, without its forward name"
                             % (name, target, host))

    # DHCP reservations the backend reports as ours.
    if dhcp is not None:
        observed.add(("dhcp", None))
        for entry in dhcp:
            if not entry.get("owned"):
                continue
            host = (entry.get("hostname") or "").lower()
            identity = "%s/%s" % (host, (entry.get("mac") or "").lower())
            item = {"kind": "dhcp", "hostname": host, "where": dhcp_where, "mac": entry.get("mac"),
                    "ip": entry.get("ip"), "key": record_key("dhcp", dhcp_where, identity)}
            consider(item, host, "DHCP reservation of %s (%s, %s) marked by hpc.slurm_vm"
                     % (host, entry.get("mac"), entry.get("ip")))

    # Reservations hpcvm-<host> in the VM cluster.
    observed.add(("reservation", None))
    for res_name in sorted(snapshot.get("reservations") or {}):
        host = host_of_reservation(res_name)
        if host is None:
            continue
        item = {"kind": "reservation", "hostname": host, "where": VM_CLUSTER, "name": res_name,
                "key": record_key("reservation", VM_CLUSTER, res_name)}
        consider(item, host, "reservation %s%s" % (res_name, "" if host in pool else ", which names no pool host"))

    # Domains with our metadata, per hypervisor read.
    domain_names = {}
    for hypervisor in sorted(domains or {}):
        observed.add(("domain", hypervisor))
        for guest in domains[hypervisor] or []:
            if not guest.get("ours", True):
                continue
            name = guest["name"]
            domain_names.setdefault(hypervisor, {})[name] = guest
            meta = guest.get("metadata") or {}
            item = {"kind": "domain", "hostname": name, "where": hypervisor, "name": name,
                    "key": record_key("domain", hypervisor, name)}
            consider(item, name, "domain %s (%s, image %s, host job %s) with hpc.slurm_vm metadata"
                     % (name, guest.get("state", "?"), meta.get("image", "?"),
                        meta.get("host_job", meta.get("hostjob", "?"))))

    # Files in the VM folder named after a pool host. A file whose domain still exists there is
    # the domain's: removing the domain removes it.
    for hypervisor in sorted(files or {}):
        observed.add(("file", hypervisor))
        for path in sorted(files[hypervisor] or []):
            base = posixpath.basename(path)
            host, dot, _suffix = base.partition(".")
            if not dot or host not in pool or host in domain_names.get(hypervisor, {}):
                continue
            item = {"kind": "file", "hostname": host, "where": hypervisor, "path": path,
                    "key": record_key("file", hypervisor, path)}
            consider(item, host, "file %s named after pool host %s" % (path, host))

    # Pool nodes.
    observed.add(("node", None))
    resume = []
    busy_hosts = hidden_nodes.hosts_with_jobs(snapshot.get("vm_jobs"))
    for host in sorted(pool):
        node = nodes.get(host)
        if node is None:
            continue
        job = host_jobs.get(host)
        if only_hosts is not None and host not in collector.only_hosts:
            continue
        if node["state"] == "FUTURE":
            if job is not None and job.get("state") == "RUNNING":
                why = _resume_reason(host, node, job, domains, read_as or {}, busy_hosts, registered)
                if why:
                    resume.append({"kind": "node", "hostname": host, "where": VM_CLUSTER, "reason": why,
                                   "host_job_id": job.get("id"), "hypervisor": job.get("hypervisor")})
            continue
        if job is not None or host in live_hosts:
            continue
        if node["state"] in BUSY_STATES or node.get("alloc_cpus", 0) > 0:
            continue  # a job still runs there: leave it to the planner and to Slurm
        if node.get("registered"):
            continue  # a slurmd still answers under this name; its domain is reconciled first
        state = "+".join([node["state"]] + list(node.get("flags") or []))
        reason = node.get("reason") or ""
        why = "pool node %s is %s%s with no host job and no slurmd answering" % (
            host, state, (" (reason: %s)" % reason) if reason else "")
        if reason.startswith(reason_prefix):
            why += "; the collection set that reason"
        item = {"kind": "node", "hostname": host, "where": VM_CLUSTER, "state": state,
                "key": record_key("node", VM_CLUSTER, host)}
        collector.orphan(item, why)

    collector.keep_unobserved(observed)
    order = {kind: index for index, kind in enumerate(KINDS)}

    def sort_key(item):
        return (order[item["kind"]], item["hostname"], item["where"], item["key"])

    removals = sorted(collector.remove, key=sort_key)
    counts = {}
    for item in removals:
        counts[item["kind"]] = counts.get(item["kind"], 0) + 1
    return {
        "remove": removals,
        "resume": resume,
        "waiting": sorted(collector.waiting, key=sort_key),
        "protected": sorted(protected, key=sort_key),
        "first_seen": dict(sorted(collector.memory.items())),
        "counts": counts,
    }


def _resume_reason(host, node, job, domains, read_as, busy_hosts=(), registered=None):
    """Why a FUTURE node of a running host job is resumed, or None."""
    evidence = hidden_nodes.hidden_reason(host, node, job, busy_hosts, registered)
    if evidence is None:
        return None  # still booting (or the slurmd start is from an earlier VM of that name)
    hypervisor = job.get("hypervisor")
    read = read_as.get(hypervisor, hypervisor)
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
    """One line per removal, resume and waiting record, for the play's debug output."""
    lines = []
    for item in result["remove"]:
        lines.append("remove %-11s %-14s %-16s %s" % (item["kind"], item["hostname"], item["where"], item["reason"]))
    for item in result["resume"]:
        lines.append("resume %-11s %-14s %-16s %s" % (item["kind"], item["hostname"], item["where"], item["reason"]))
    for item in result["waiting"]:
        lines.append("wait   %-11s %-14s %-16s %s" % (item["kind"], item["hostname"], item["where"], item["reason"]))
    return lines
