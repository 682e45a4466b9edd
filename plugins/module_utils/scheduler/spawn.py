# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner's supply side, per image: match pending jobs to the VMs that can take them,
count the VMs still wanted, cap that count by the limits, name the hosts to spawn and the
pending host jobs to cancel. Pure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect
from operator import itemgetter

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import host_job_comment, host_job_name
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import config_drift
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.demand import (
    JOB_ID,
    NUM_NODES,
    TIME_LIMIT,
    UNITS,
    requested_units,
    units_per_node,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.preview import iso_time
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.pause import paused_reason
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.vm_state import (
    ALIVE,
    VmState,
    is_supply,
    rollout_reason,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.durations import format_duration

_TIME_LIMIT = itemgetter(TIME_LIMIT)


class ImageSupply(object):
    """What one image's VMs can serve, and how many VMs it still wants. jobs: the image's
    demand as demand records, oldest first (demand.demand_records). The fields the
    rest of the plan reads: used ({hostname: slot} of VMs that got a job), warm (slots no
    job took), unservable (jobs longer than a VM's usable life), unserved (the jobs no VM took,
    oldest first), count, wanted, limited_by, backoff, free (free hostnames), why (the spawn reason)."""

    def __init__(self, context, image, vms, jobs):
        self.image = image
        self.paused = context.paused.get(image["name"])
        self.base_record = context.base_record(image)
        slots = supply_slots(image, vms, paused=self.paused is not None)
        fitting, self.unservable = split_by_lifetime(jobs, image, context.rules)
        self.new_units, self.unserved = match_records(fitting, slots, image)
        self.used = {s["hostname"]: s for s in slots if s["jobs"]}
        self.warm = [s for s in slots if not s["jobs"]]
        self.warm_deficit = max(0, image["rules"]["min_idle"] - len(self.warm))
        self.wanted = (-(-self.new_units // image["gres_count"]) if self.new_units else 0) + self.warm_deficit
        self.free = [vm["hostname"] for vm in vms if vm["state"] == VmState.FREE]
        self.backoff = backoff(image, context.history, context.now)
        limits = spawn_limits(context, image, vms, len(self.free))
        self.count, self.limited_by = capped_count(self.wanted, limits, self.backoff)
        if self.paused and self.count:
            self.count, self.limited_by = 0, "image paused: %s" % self.paused["reason"]
        self.why = self._why()

    def _why(self):
        why = []
        if self.new_units:
            why.append("%d unit(s) of %d pending job(s) unserved" % (self.new_units, len(self.unserved)))
        if self.warm_deficit:
            why.append("min_idle %d, %d warm" % (self.image["rules"]["min_idle"], len(self.warm)))
        return "; ".join(why)


def supply_slots(image, vms, paused=False):
    """One slot per VM that can take a pending job (vm_state.is_supply), with room for gres_count units;
    while the image is paused, not its pending host jobs (they are cancelled: cancel_items)."""
    return [{"hostname": vm["hostname"], "state": vm["state"], "life_left": vm["life_left"],
             "free_units": image["gres_count"], "jobs": []} for vm in vms
            if is_supply(vm) and not (paused and vm["state"] == VmState.PENDING)]


def split_by_lifetime(jobs, image, rules):
    """(demand records a VM of the image can run, those longer than a VM's usable life or without
    a time limit)."""
    longest = image["rules"]["lifetime"] - rules["grace"]
    limits = list(map(_TIME_LIMIT, jobs))
    if None not in limits and max(limits, default=0) <= longest:
        return list(jobs), []  # the common case, found by builtins alone
    fitting = [job for job in jobs if job[TIME_LIMIT] is not None and job[TIME_LIMIT] <= longest]
    unservable = [job for job in jobs if job[TIME_LIMIT] is None or job[TIME_LIMIT] > longest]
    return fitting, unservable


def match_jobs(jobs, slots, image):
    """Greedy best fit, oldest job first: each node request takes the slot with the
    shortest life that still covers the job's time limit. jobs: job dicts, oldest first.
    Returns (unserved units, unserved job ids); see match_records."""
    records = [(job["id"], 0, job["time_limit"], units_per_node(job, image), job["num_nodes"], None)
               for job in jobs]  # demand records; the order is given, the submit time is not read
    unserved_units, unserved = match_records(records, slots, image)
    return unserved_units, [job[JOB_ID] for job in unserved]


def match_records(jobs, slots, image):
    """match_jobs of demand records: (unserved units, the unserved records, oldest first).

    Slots are kept sorted by (life_left, hostname), so each request is a binary
    search, and once every slot is full the rest is summed without searching:
    fast enough for 100,000 pending jobs.
    """
    order = sorted(slots, key=lambda s: (s["life_left"], s["hostname"]))
    keys = [(s["life_left"], s["hostname"]) for s in order]
    unserved_units = 0
    unserved_jobs = []
    matched = 0
    for job in jobs:
        if not order:
            break  # every slot is full: the rest is unserved, summed below
        matched += 1
        missed = sum(1 for _node_index in range(job[NUM_NODES]) if not _take_slot(order, keys, job))
        if missed:
            unserved_units += job[UNITS] * missed
            unserved_jobs.append(job)
    rest = jobs[matched:] if matched else jobs
    unserved_units += requested_units(rest)
    unserved_jobs.extend(rest)
    return unserved_units, unserved_jobs


def _take_slot(order, keys, job):
    """Give one node request of the job (a demand record) the shortest-lived slot that covers its time
    limit and has room for its units; False if none has. A full slot leaves order and keys."""
    position = bisect.bisect_left(keys, (job[TIME_LIMIT], ""))
    while position < len(order) and order[position]["free_units"] < job[UNITS]:
        position += 1  # too full for this request, though it may serve a smaller one
    if position == len(order):
        return False
    slot = order[position]
    slot["free_units"] -= job[UNITS]
    slot["jobs"].append(job[JOB_ID])
    if slot["free_units"] == 0:
        del order[position]
        del keys[position]
    return True


def backoff(image, history, now):
    """{failures, until} while the image is in backoff after repeated failed boots, else None."""
    record = (history or {}).get(image["name"]) or {}
    failures = int(record.get("failures", 0))
    last = record.get("last_failure")
    rules = image["rules"]
    if failures >= rules["backoff_failures"] and last is not None and now - int(last) < rules["backoff_seconds"]:
        return {"failures": failures, "until": int(last) + rules["backoff_seconds"]}
    return None


def spawn_limits(context, image, vms, free_count):
    """[(label, room)]: every cap on the number of VMs the image may spawn in this run."""
    irules = image["rules"]
    active = sum(1 for vm in vms if vm["state"] in ALIVE)
    limits = [("max_vms %d" % irules["max_vms"], irules["max_vms"] - active)]
    if irules["max_spawn_per_run"] is not None:
        limits.append(("max_spawn_per_run %d" % irules["max_spawn_per_run"], irules["max_spawn_per_run"]))
    if context.spawn_budget is not None:
        limits.append(("global max_spawn_per_run", context.spawn_budget))
    if context.total_room is not None:
        limits.append(("max_total_vms %d" % context.rules["max_total_vms"], context.total_room))
    limits.append(("free hostnames in pool %s" % image["pool"], free_count))
    drift = context.drift.get(image["name"])
    if drift:  # never plan with numbers Slurm does not have
        limits.append(("drift between slurm.conf and the image table (%s)" % config_drift.describe(drift), 0))
    return limits


def capped_count(wanted, limits, backoff_record):
    """(how many VMs to spawn, the label of the limit that capped it or None)."""
    count = wanted
    limited_by = None
    for label, room in limits:
        if room < count:
            count, limited_by = max(0, room), label
    if backoff_record and count:
        count, limited_by = 0, "backoff after %d failed boots, until %s" % (
            backoff_record["failures"], iso_time(backoff_record["until"]))
    return count, limited_by


def spawn_items(supply):
    """The spawn items of the first `count` free hostnames."""
    image = supply.image
    name = image["name"]
    return [{
        "image": name, "hostname": hostname,
        "mac": image_table.vm_mac(image, hostname), "ip": image_table.vm_ip(image, hostname),
        "host_job": {"name": host_job_name(hostname),
                     "time_limit": format_duration(image["rules"]["lifetime"]),
                     "comment": host_job_comment(name, hostname, image["version"])},
        "image_version": image["version"], "base_record": supply.base_record,
        "reason": supply.why,
    } for hostname in supply.free[:supply.count]]


def cancel_items(supply, host_jobs, vms=()):
    """Pending host jobs that no job matched and the warm pool does not need, newest first; then every
    pending host job of a paused image, and those of an image version the table no longer has."""
    return _spare_pending(supply, host_jobs) + _stopped_pending(supply, vms)


def _stopped_pending(supply, vms):
    image = supply.image
    items = []
    for vm in vms:
        if vm["state"] != VmState.PENDING:
            continue
        if supply.paused:
            why = paused_reason(image["name"], supply.paused)
        elif vm.get("outdated"):
            why = rollout_reason(vm, image)
        else:
            continue
        items.append({"image": image["name"], "hostname": vm["hostname"], "host_job_id": vm["host_job"]["id"],
                      "reason": why})
    return items


def _spare_pending(supply, host_jobs):
    warm = supply.warm
    spare_pending = sorted((s for s in warm if s["state"] == VmState.PENDING),
                           key=lambda s: -int(host_jobs[s["hostname"]]["id"]))
    keep_warm = max(0, supply.image["rules"]["min_idle"] - sum(1 for s in warm if s["state"] != VmState.PENDING))
    return [{"image": supply.image["name"], "hostname": slot["hostname"],
             "host_job_id": host_jobs[slot["hostname"]]["id"], "reason": "no pending job needs it (demand gone)"}
            for slot in spare_pending[keep_warm:]]
