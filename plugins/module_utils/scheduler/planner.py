# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scheduler's planner: snapshot + image table + rules -> plan. Pure.

Deterministic (the same inputs give the same plan: every loop runs over sorted
keys) and explainable (every decision carries a human-readable reason).

The plan has these lists:
  spawn     free hostnames to claim, with MAC, IP and host-job parameters;
  start     VMs of running host jobs not registered yet (spawn is applied to them again);
  resume    VMs hidden by a slurmctld restart (FUTURE again, see hidden_nodes): the
            reconciler resumes their nodes once it has seen their domains running;
  cancel    pending host jobs that demand no longer needs;
  teardown  VMs to take down, each with the next step and why:
              drain         drain the node (the role ends the host job once idle)
              end_host_job  the node is drained and idle, or failed: end the host job
              wait          drained, jobs still running: nothing to do yet
              finish        the host job is gone: remove reservation, DHCP and DNS,
                            then return the node to the pool (down, future)
  gc        things that belong to no VM, for the reconciler (it applies the grace period).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect
import time

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import (
    DEFAULT_REASON_PREFIX,
    host_job_name,
    host_of_reservation,
    reservation_name,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import hidden_nodes
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.demand import (
    demand_by_image,
    demand_summary,
    units_per_node,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.durations import format_duration

TEARDOWN_REASON_PREFIX = DEFAULT_REASON_PREFIX
# Role teardown sets a VM's node DOWN with this reason when its VM did not boot; the node
# stays DOWN (visible in sinfo -R) for the image's failed_hold before it returns to the pool.
FAILED_BOOT_REASON = TEARDOWN_REASON_PREFIX + " boot failed"
DEFAULT_GLOBAL_RULES = {
    "max_total_vms": None,  # None: no global cap
    "max_spawn_per_run": None,
    "grace": 70,  # signal grace + KillWait: a VM's usable life ends this long before its host job
    "drain_margin": 300,  # drain a VM this long before its usable life ends
}
BUSY_STATES = ("ALLOCATED", "MIXED", "COMPLETING")
ALIVE_STATES = ("pending", "booting", "idle", "busy", "draining", "failed", "ending", "hidden")


def normalize_rules(rules):
    rules = dict(rules or {})
    unknown = set(rules) - set(DEFAULT_GLOBAL_RULES)
    if unknown:
        raise InvalidInput("unknown global rules: %s" % ", ".join(sorted(unknown)))
    merged = dict(DEFAULT_GLOBAL_RULES)
    merged.update((k, v) for k, v in rules.items() if v is not None)
    return merged


def classify_vm(host, image, snapshot, claimed, rules, busy_hosts=(), registered=None):
    """The VM state of one pool host, with the times the rules need. busy_hosts and
    registered: the evidence hidden_nodes.hidden_reason weighs for a FUTURE node."""
    now = snapshot["time"]
    node = snapshot["nodes"].get(host)
    host_job = snapshot["host_jobs"].get(host)
    reservation = snapshot["reservations"].get(reservation_name(host))
    vm = {"hostname": host, "image": image["name"], "host_job": host_job, "node": node,
          "reservation": reservation is not None}
    if node is None:
        vm["state"] = "unknown"
        return vm
    drained = "DRAIN" in node["flags"]
    if host_job is None:
        # A node our teardown set DOWN or drained is its tail, even when it looks registered: Slurm keeps
        # the SlurmdStartTime of an earlier life of the name, and NOT_RESPONDING comes a ping later.
        ours = node["state"] != "FUTURE" and (node.get("reason") or "").startswith(TEARDOWN_REASON_PREFIX)
        if node["state"] == "FUTURE" and reservation is None and host not in claimed:
            vm["state"] = "free"
        elif node["registered"] and not ours:
            vm["state"] = "stray"  # a slurmd answers under this name, but no host job holds a VM
        elif node["state"] != "FUTURE" or reservation is not None:
            vm["state"] = "leftover"  # the tail of a teardown: records and node still to clean
        else:
            vm["state"] = "claimed"  # DNS/DHCP records without reservation or host job
        return vm
    if host_job["state"] == "PENDING":
        vm["state"] = "pending"
        limit = host_job["time_limit"] or image["rules"]["lifetime"]
        vm["life_left"] = min(limit, image["rules"]["lifetime"]) - rules["grace"]
        return vm
    if host_job["state"] == "COMPLETING":
        vm["state"] = "ending"
        return vm
    started = host_job["start"] or now
    ends = [started + image["rules"]["lifetime"]]
    if host_job["end"]:
        ends.append(host_job["end"])
    vm["usable_end"] = min(ends) - rules["grace"]
    vm["life_left"] = vm["usable_end"] - now
    vm["started"] = started
    vm["hypervisor"] = host_job.get("hypervisor")
    if node["state"] in ("DOWN", "FAIL") or "FAIL" in node["flags"]:
        vm["state"] = "failed"
    elif drained:
        vm["state"] = "draining"
    elif not node["registered"]:
        vm["hidden"] = hidden_nodes.hidden_reason(host, node, host_job, busy_hosts, registered)
        vm["state"] = "hidden" if vm["hidden"] else "booting"
        vm["busy"] = host in busy_hosts
    elif node["state"] in BUSY_STATES or node["alloc_cpus"] > 0:
        vm["state"] = "busy"
    else:
        vm["state"] = "idle"
        vm["idle_since"] = max(t for t in (node["last_busy"], node["slurmd_start"], started) if t)
    return vm


def _backoff(image, history, now):
    record = (history or {}).get(image["name"]) or {}
    failures = int(record.get("failures", 0))
    last = record.get("last_failure")
    rules = image["rules"]
    if failures >= rules["backoff_failures"] and last is not None and now - int(last) < rules["backoff_seconds"]:
        return {"failures": failures, "until": int(last) + rules["backoff_seconds"]}
    return None


def _match_jobs(jobs, slots, image):
    """Greedy best fit, oldest job first: each node request takes the slot with the
    shortest life that still covers the job's time limit.

    Slots are kept sorted by (life_left, hostname), so each request is a binary
    search, and once every slot is full the rest is summed without searching:
    fast enough for 100,000 pending jobs. Returns (unserved units, unserved job ids).
    """
    order = sorted(slots, key=lambda s: (s["life_left"], s["hostname"]))
    keys = [(s["life_left"], s["hostname"]) for s in order]
    unserved_units = 0
    unserved_jobs = []
    for job in jobs:
        units = units_per_node(job, image)
        if not order:
            unserved_units += units * job["num_nodes"]
            unserved_jobs.append(job["id"])
            continue
        limit = job["time_limit"]
        missed = 0
        for _node_index in range(job["num_nodes"]):
            position = bisect.bisect_left(keys, (limit, ""))
            while position < len(order) and order[position]["free_units"] < units:
                position += 1  # too full for this request, though it may serve a smaller one
            if position == len(order):
                missed += 1
                continue
            slot = order[position]
            slot["free_units"] -= units
            slot["jobs"].append(job["id"])
            if slot["free_units"] == 0:
                del order[position]
                del keys[position]
        if missed:
            unserved_units += units * missed
            unserved_jobs.append(job["id"])
    return unserved_units, unserved_jobs


def plan(snapshot, images, rules=None, history=None, claimed=(), registered=None):
    """The plan for one scheduler run. images: the normalized image table; registered: the
    previous run's `registered` ({host: host job id}, see hidden_nodes)."""
    rules = normalize_rules(rules)
    now = snapshot["time"]
    claimed = set(claimed or ())
    demand = demand_by_image(snapshot["vm_jobs"], images, now)
    busy_hosts = hidden_nodes.hosts_with_jobs(snapshot["vm_jobs"])

    result = {"spawn": [], "start": [], "resume": [], "cancel": [], "teardown": [], "gc": [], "images": {},
              "registered": {}}
    vms_by_image = {}
    total_active = 0
    for name in sorted(images):
        image = images[name]
        vms = [classify_vm(h, image, snapshot, claimed, rules, busy_hosts, registered) for h in image["hosts"]]
        vms_by_image[name] = vms
        result["registered"].update(hidden_nodes.registered_memory(vms))
        total_active += sum(1 for vm in vms if vm["state"] in ALIVE_STATES)
    spawn_budget = rules["max_spawn_per_run"]
    total_room = None if rules["max_total_vms"] is None else rules["max_total_vms"] - total_active

    for name in sorted(images):
        image = images[name]
        irules = image["rules"]
        vms = vms_by_image[name]
        jobs = demand[name]
        # Supply for pending jobs: idle, booting and pending VMs (not draining or busy), and hidden
        # ones running no job (this run's reconciler resumes them).
        slots = []
        for vm in vms:
            if vm["state"] in ("idle", "booting", "pending") or (vm["state"] == "hidden" and not vm["busy"]):
                slots.append({"hostname": vm["hostname"], "state": vm["state"], "life_left": vm["life_left"],
                              "free_units": image["gres_count"], "jobs": []})
        longest = irules["lifetime"] - rules["grace"]
        fitting, unservable = [], []
        for job in jobs:
            (fitting if job["time_limit"] is not None and job["time_limit"] <= longest else unservable).append(job)
        new_units, unserved_jobs = _match_jobs(fitting, slots, image)
        used = {s["hostname"]: s for s in slots if s["jobs"]}
        wanted = -(-new_units // image["gres_count"]) if new_units else 0
        warm = [s for s in slots if not s["jobs"]]
        warm_deficit = max(0, irules["min_idle"] - len(warm))
        wanted += warm_deficit
        active = sum(1 for vm in vms if vm["state"] in ALIVE_STATES)
        backoff = _backoff(image, history, now)
        limits = [("max_vms %d" % irules["max_vms"], irules["max_vms"] - active)]
        if irules["max_spawn_per_run"] is not None:
            limits.append(("max_spawn_per_run %d" % irules["max_spawn_per_run"], irules["max_spawn_per_run"]))
        if spawn_budget is not None:
            limits.append(("global max_spawn_per_run", spawn_budget))
        if total_room is not None:
            limits.append(("max_total_vms %d" % rules["max_total_vms"], total_room))
        free = [vm["hostname"] for vm in vms if vm["state"] == "free"]
        limits.append(("free hostnames in pool %s" % image["pool"], len(free)))
        count = wanted
        limited_by = None
        for label, room in limits:
            if room < count:
                count, limited_by = max(0, room), label
        if backoff and count:
            count, limited_by = 0, "backoff after %d failed boots, until %s" % (
                backoff["failures"], _iso(backoff["until"]))
        why = []
        if new_units:
            why.append("%d unit(s) of %d pending job(s) unserved" % (new_units, len(unserved_jobs)))
        if warm_deficit:
            why.append("min_idle %d, %d warm" % (irules["min_idle"], len(warm)))
        for hostname in free[:count]:
            result["spawn"].append({
                "image": name, "hostname": hostname,
                "mac": image_table.vm_mac(image, hostname), "ip": image_table.vm_ip(image, hostname),
                "host_job": {"name": host_job_name(hostname),
                             "time_limit": format_duration(irules["lifetime"]),
                             "comment": "hpc.slurm_vm image=%s vm=%s" % (name, hostname)},
                "reason": "; ".join(why),
            })
        if spawn_budget is not None:
            spawn_budget -= count
        if total_room is not None:
            total_room -= count

        # Pending host jobs that no job matched and the warm pool does not need.
        spare_pending = sorted((s for s in warm if s["state"] == "pending"),
                               key=lambda s: -int(snapshot["host_jobs"][s["hostname"]]["id"]))
        keep_warm = max(0, irules["min_idle"] - sum(1 for s in warm if s["state"] != "pending"))
        for slot in spare_pending[keep_warm:]:
            job = snapshot["host_jobs"][slot["hostname"]]
            result["cancel"].append({"image": name, "hostname": slot["hostname"], "host_job_id": job["id"],
                                     "reason": "no pending job needs it (demand gone)"})

        idle_kept = 0
        for vm in vms:
            step, why = _teardown_step(vm, image, rules, now, used, idle_kept)
            if vm["state"] == "idle" and step is None:
                idle_kept += 1
            if step:
                result["teardown"].append({"image": name, "hostname": vm["hostname"], "step": step,
                                           "state": vm["state"], "reason": why,
                                           "host_job_id": (vm["host_job"] or {}).get("id"),
                                           "hypervisor": vm.get("hypervisor"), "started": vm.get("started")})
            elif vm["state"] in ("stray", "claimed", "unknown"):
                result["gc"].append({"image": name, "hostname": vm["hostname"], "kind": vm["state"],
                                     "reason": _GC_REASONS[vm["state"]]})
            elif vm["state"] == "hidden":
                result["resume"].append({
                    "image": name, "hostname": vm["hostname"], "host_job_id": vm["host_job"]["id"],
                    "hypervisor": vm.get("hypervisor"),
                    "reason": "FUTURE while its host job runs (a slurmctld restart hides it): %s" % vm["hidden"]})
            elif vm["state"] == "booting" and vm.get("hypervisor"):
                # a host job that started after the run that submitted it stopped waiting: its VM
                # is (re)applied each run until it registers; role spawn is idempotent
                host = vm["hostname"]
                result["start"].append({
                    "image": name, "hostname": host,
                    "mac": image_table.vm_mac(image, host), "ip": image_table.vm_ip(image, host),
                    "host_job_id": vm["host_job"]["id"], "hypervisor": vm["hypervisor"],
                    "host_job_start": vm["started"], "host_job_end": vm["host_job"].get("end"),
                    "reason": "host job runs on %s; VM not registered yet (%ds)" % (vm["hypervisor"],
                                                                                    now - vm["started"])})

        summary = demand_summary(jobs, image, now)
        summary.update({
            "unservable_jobs": [j["id"] for j in unservable],
            "vms": _count_states(vms),
            "spawn": count,
            "wanted": wanted,
            "limited_by": limited_by,
            "backoff": backoff,
            "boot_seconds": _boot_seconds(vms),
        })
        result["images"][name] = summary

    pool_reservations = {reservation_name(h) for i in images.values() for h in i["hosts"]}
    for res_name in sorted(snapshot["reservations"]):
        if host_of_reservation(res_name) and res_name not in pool_reservations:
            result["gc"].append({"image": None, "hostname": host_of_reservation(res_name), "kind": "reservation",
                                 "reason": "reservation %s names no pool host" % res_name})
    result["preview"] = preview_table(result)
    return result


_GC_REASONS = {
    "stray": "slurmd registered but no host job holds a VM for it",
    "claimed": "DNS/DHCP records but no host job or reservation",
    "unknown": "pool host missing from the VM cluster's slurm.conf",
}


def _teardown_step(vm, image, rules, now, used, idle_kept):
    irules = image["rules"]
    state = vm["state"]
    if state == "leftover":
        node = vm["node"]
        if node["state"] == "DOWN" and (node.get("reason") or "").startswith(FAILED_BOOT_REASON):
            since = node.get("reason_time") or now
            if now - since < irules["failed_hold"]:
                return "wait", "held DOWN after a failed boot until %s (failed_hold %ds)" % (
                    _iso(since + irules["failed_hold"]), irules["failed_hold"])
        return "finish", "host job gone; reservation, records and node state to clean"
    if state == "failed":
        reason = vm["node"]["reason"]
        return "end_host_job", "node %s%s" % (vm["node"]["state"], (": " + reason) if reason else "")
    if state == "booting":
        waited = now - vm["started"]
        if waited > irules["boot_timeout"]:
            return "end_host_job", "boot_timeout: not registered %ds after the host job started (limit %ds)" % (
                waited, irules["boot_timeout"])
        return None, None
    if state == "draining":
        reason = vm["node"]["reason"]
        if vm["node"]["state"] in BUSY_STATES or vm["node"]["alloc_cpus"] > 0:
            return "wait", "drained (%s); jobs still running" % (reason or "no reason")
        return "end_host_job", "drained (%s) and idle" % (reason or "no reason")
    if state in ("idle", "busy"):
        if vm["life_left"] < rules["drain_margin"]:
            return "drain", "lifetime: %ds of usable life left (drain margin %ds)" % (
                vm["life_left"], rules["drain_margin"])
        if state == "idle" and vm["hostname"] not in used:
            idle_for = now - vm["idle_since"]
            if idle_for > irules["idle_timeout"] and idle_kept >= irules["min_idle"]:
                return "drain", "idle for %ds (idle_timeout %ds)" % (idle_for, irules["idle_timeout"])
    return None, None


def _boot_seconds(vms):
    """Boot latency (host job start -> slurmd registered) of the live, registered VMs, sorted."""
    seconds = []
    for vm in vms:
        node = vm.get("node") or {}
        if vm["state"] in ("idle", "busy", "draining") and vm.get("started") and node.get("slurmd_start"):
            seconds.append(max(0, node["slurmd_start"] - vm["started"]))
    return sorted(seconds)


def _count_states(vms):
    counts = {}
    for vm in vms:
        counts[vm["state"]] = counts.get(vm["state"], 0) + 1
    return counts


def _iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(epoch))


def preview_table(result):
    """The plan as a fixed-width text table, for check mode and logs."""
    rows = [("ACTION", "IMAGE", "HOST", "STEP", "REASON")]
    for item in result["spawn"]:
        rows.append(("spawn", item["image"], item["hostname"], item["ip"], item["reason"]))
    for item in result["cancel"]:
        rows.append(("cancel", item["image"], item["hostname"], "job " + str(item["host_job_id"]), item["reason"]))
    for item in result["teardown"]:
        rows.append(("teardown", item["image"], item["hostname"], item["step"], item["reason"]))
    for item in result["gc"]:
        rows.append(("gc", item["image"] or "-", item["hostname"], item["kind"], item["reason"]))
    for item in result["resume"]:
        rows.append(("resume", item["image"], item["hostname"], "job " + str(item["host_job_id"]), item["reason"]))
    for name in sorted(result["images"]):
        summary = result["images"][name]
        if summary["limited_by"] or summary["backoff"] or summary["unservable_jobs"]:
            note = []
            if summary["limited_by"]:
                note.append("wanted %d, limited by %s" % (summary["wanted"], summary["limited_by"]))
            if summary["unservable_jobs"]:
                note.append("jobs longer than the image lifetime: %s" % ",".join(summary["unservable_jobs"]))
            rows.append(("hold", name, "-", "-", "; ".join(note)))
    if len(rows) == 1:
        rows.append(("none", "-", "-", "-", "nothing to do"))
    widths = [max(len(str(r[i])) for r in rows) for i in range(4)]
    lines = []
    for row in rows:
        lines.append("  ".join(str(row[i]).ljust(widths[i]) for i in range(4)) + "  " + str(row[4]))
    return "\n".join(line.rstrip() for line in lines)
