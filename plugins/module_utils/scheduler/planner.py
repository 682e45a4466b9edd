# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scheduler's planner: snapshot + image table + rules -> plan. Pure.

Deterministic (the same inputs give the same plan: every loop runs over sorted
keys) and explainable (every decision carries a human-readable reason).

The plan has these lists:
  spawn     free hostnames to claim, with MAC, IP and host-job parameters (spawn.py);
  start     VMs of running host jobs not registered yet (spawn is applied to them again);
  resume    VMs hidden by a slurmctld restart (FUTURE again, see vm_state): the
            reconciler resumes their nodes once it has seen their domains running;
  cancel    pending host jobs that demand no longer needs (spawn.py);
  teardown  VMs to take down, each with the next step and why (lifecycle.py): the life rules, and
            a hypervisor out of service or an image version rolled over (drain);
  reserve   VMs whose reservation must start earlier: their host job ends earlier now (lifecycle.py);
  gc        things that belong to no VM, for the reconciler (it applies the grace period);
  job_comments  the VM jobs' comments that say why they wait, or no longer do (job_reasons.py).
and per image a summary (`images`), the VMs registered now (`registered`, for the next
run) and the plan as a table (`preview`).

The steps of one plan: classify every pool host (vm_state.classify_vm), then per image
in name order the supply (match jobs, count, cap, spawn, cancel) and the lifecycle steps,
then the reservations that name no pool host, then the jobs' wait reasons.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import (
    DEFAULT_REASON_PREFIX,
    host_of_reservation,
    reservation_name,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import config_drift
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import job_reasons
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import lifecycle
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import spawn
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import vm_rows
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.demand import (
    JOB_ID,
    demand_records,
    records_summary,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.preview import preview_table
# classify_vm and DEFAULT_GLOBAL_RULES are imported from here by plugins/inventory/slurm_demand.py.
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.vm_state import (
    ALIVE,
    SERVING,
    classify_vm,
    count_states,
    hosts_with_jobs,
    registered_memory,
)

DEFAULT_GLOBAL_RULES = {
    "max_total_vms": None,  # None: no global cap
    "max_spawn_per_run": None,
    "grace": 70,  # signal grace + KillWait: a VM's usable life ends this long before its host job
    "drain_margin": 300,  # drain a VM this long before its usable life ends
}


def normalize_rules(rules):
    rules = dict(rules or {})
    unknown = set(rules) - set(DEFAULT_GLOBAL_RULES)
    if unknown:
        raise InvalidInput("unknown global rules: %s" % ", ".join(sorted(unknown)))
    merged = dict(DEFAULT_GLOBAL_RULES)
    merged.update((k, v) for k, v in rules.items() if v is not None)
    return merged


class PlanContext(object):
    """The inputs of one plan, read once, and the global spawn budget the images share in
    name order (spawn_budget: max_spawn_per_run left; total_room: max_total_vms left).

    snapshot       the slurm_demand inventory's snapshot (time, nodes, host_jobs, reservations, vm_jobs)
    images         the normalized image table
    rules          the global rules (DEFAULT_GLOBAL_RULES)
    history        the failure history run_report wrote ({image: {failures, last_failure}})
    claimed        hostnames claimed in this run
    registered     the previous run's `registered` ({host: host job id}, see vm_state)
    reason_prefix  the prefix of the node reasons our teardown sets (slurm_vm_teardown_reason_prefix)
    paused         the paused images ({image: {reason, since, by}}, scheduler/pause.py)
    base_records   the base images recorded per image version ({image: {version: {path, size, mtime,
                   sha256}}}, what libvirt_guest measured when it first started a VM of the version)
    """

    def __init__(self, snapshot, images, rules=None, history=None, claimed=(), registered=None,
                 reason_prefix=DEFAULT_REASON_PREFIX, paused=None, base_records=None):
        self.snapshot = snapshot
        self.images = images
        self.rules = normalize_rules(rules)
        self.now = snapshot["time"]
        self.history = history
        self.claimed = set(claimed or ())
        self.registered = registered
        self.reason_prefix = reason_prefix
        self.paused = paused or {}
        self.base_records = base_records or {}
        self.failed_boot_reason = lifecycle.failed_boot_reason(reason_prefix)
        other_jobs = []  # not pending with one known gres: the jobs the next two read (demand_records)
        self.demand = demand_records(snapshot["vm_jobs"], images, self.now, other_jobs)  # {image: [record]}
        self.busy_hosts = hosts_with_jobs(other_jobs)
        self.other_jobs = other_jobs
        self.spawn_budget = self.rules["max_spawn_per_run"]
        self.total_room = None
        self.wait_reasons = job_reasons.unknown_image_reasons(other_jobs, images, self.now)
        self.reason_at = [None] * len(snapshot["vm_jobs"])  # the wait reasons by position (image_reasons)
        self.drift = {name: config_drift.image_drift(image, snapshot["nodes"]) for name, image in images.items()}

    def classify(self, image):
        """The VMs of every pool host of the image (vm_state.classify_vm)."""
        return [classify_vm(host, image, self.snapshot, self.claimed, self.rules, self.busy_hosts,
                            self.registered, self.reason_prefix) for host in image["hosts"]]

    def base_record(self, image, version=None):
        """The base image recorded for the image's version (the current one by default), or None."""
        record = (self.base_records.get(image["name"]) or {}).get(version or image["version"])
        if not record:
            return None
        return {key: record.get(key) for key in ("path", "size", "mtime", "sha256")}

    def spend(self, count):
        """count VMs were planned: the global budgets shrink for the images after this one."""
        if self.spawn_budget is not None:
            self.spawn_budget -= count
        if self.total_room is not None:
            self.total_room -= count


def plan(snapshot, images, rules=None, history=None, claimed=(), registered=None,
         reason_prefix=DEFAULT_REASON_PREFIX, paused=None, base_records=None):
    """The plan for one scheduler run (see PlanContext for the arguments)."""
    context = PlanContext(snapshot, images, rules, history, claimed, registered, reason_prefix, paused,
                          base_records)
    result = {"spawn": [], "start": [], "resume": [], "cancel": [], "teardown": [], "gc": [], "reserve": [],
              "images": {}, "registered": {}}
    vms_by_image = _classify_pool(context, result)
    for name in sorted(images):
        _plan_image(context, images[name], vms_by_image[name], result)
    result["gc"].extend(_foreign_reservations(snapshot, images))
    result["job_comments"] = job_reasons.comment_changes(snapshot["vm_jobs"], context.wait_reasons, reason_prefix,
                                                         context.reason_at)
    ahead = vm_rows.rules_ahead(vms_by_image, images, context.rules["drain_margin"], context.now)
    result["vms"] = vm_rows.vm_rows(vms_by_image, images, result, snapshot["time"], context.other_jobs, ahead)
    result["next_due"] = vm_rows.next_due(ahead, images, context)
    result["preview"] = preview_table(result)
    return result


def _classify_pool(context, result):
    """{image: [vm]}; records the registered VMs in result and sets the room max_total_vms leaves."""
    vms_by_image = {}
    total_active = 0
    for name in sorted(context.images):
        vms = context.classify(context.images[name])
        vms_by_image[name] = vms
        result["registered"].update(registered_memory(vms))
        total_active += sum(1 for vm in vms if vm["state"] in ALIVE)
    if context.rules["max_total_vms"] is not None:
        context.total_room = context.rules["max_total_vms"] - total_active
    return vms_by_image


def _plan_image(context, image, vms, result):
    """The image's spawn, cancel, teardown, gc, resume and start items, and its summary."""
    jobs = context.demand[image["name"]]
    supply = spawn.ImageSupply(context, image, vms, jobs)
    result["spawn"].extend(spawn.spawn_items(supply))
    context.spend(supply.count)
    result["cancel"].extend(spawn.cancel_items(supply, context.snapshot["host_jobs"], vms))
    for key, items in lifecycle.vm_steps(context, image, vms, supply.used).items():
        result[key].extend(items)
    job_reasons.image_reasons(image, supply, context.rules, context.wait_reasons, context.reason_at)
    result["images"][image["name"]] = _image_summary(context, image, vms, jobs, supply)


def _image_summary(context, image, vms, jobs, supply):
    summary = records_summary(jobs, context.now)
    summary.update({
        "unservable_jobs": [j[JOB_ID] for j in supply.unservable],
        "vms": count_states(vms),
        "spawn": supply.count,
        "wanted": supply.wanted,
        "limited_by": supply.limited_by,
        "backoff": supply.backoff,
        "drift": context.drift[image["name"]],
        "boot_seconds": _boot_seconds(vms),
        "version": image["version"],
        "paused": context.paused.get(image["name"]),
        "rollout": _rollout(vms),
    })
    return summary


def _rollout(vms):
    """{old, new}: the image's VMs (with a host job) of an older version, still to go, and of its version."""
    alive = [vm for vm in vms if vm["state"] in ALIVE]
    old = sum(1 for vm in alive if vm.get("outdated"))
    return {"old": old, "new": len(alive) - old}


def _boot_seconds(vms):
    """Boot latency (host job start -> slurmd registered) of the live, registered VMs, sorted."""
    seconds = []
    for vm in vms:
        node = vm.get("node") or {}
        if vm["state"] in SERVING and vm.get("started") and node.get("slurmd_start"):
            seconds.append(max(0, node["slurmd_start"] - vm["started"]))
    return sorted(seconds)


def _foreign_reservations(snapshot, images):
    """gc items of our reservations hpcvm-<host> (with the mark) whose host is in no image's pool."""
    pool_reservations = {reservation_name(h) for i in images.values() for h in i["hosts"]}
    return [{"image": None, "hostname": host_of_reservation(res_name), "kind": "reservation",
             "reason": "reservation %s names no pool host" % res_name}
            for res_name, res in sorted(snapshot["reservations"].items())
            if host_of_reservation(res_name) and res.get("ours") and res_name not in pool_reservations]
