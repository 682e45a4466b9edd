# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One row per VM of a plan, for hpc.slurm_vm.status and the run summary, and when the next
time-based rule fires (for a trigger that starts a run then). Pure.

A row: hostname, image, state, version (the VM's image version, None when unknown),
current_version (the image's), hypervisor, host_job_id, host_job_state, started, age, jobs (the
VM-cluster jobs running on it), node_state, node_reason, the step the plan takes now with its
reason (action, action_reason: drain, end_host_job, wait, finish, start, resume, gc, cancel, or None),
and, when it takes none, the next time rule due for the VM (next_at: epoch second, next_in: seconds
after the snapshot, next_rule: idle_timeout, lifetime, boot_timeout or failed_hold, next_step: the step
it brings; all None when no rule is ahead, e.g. a busy VM without a lifetime end).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from operator import itemgetter

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import nodeset
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.vm_state import VmState
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.parse import JOB_STATES_ON_NODE

_ON_NODE = frozenset(JOB_STATES_ON_NODE)
_IMAGE_HOST = itemgetter("image", "hostname")
# The plan lists whose items name a VM's next step, and the step each gives.
_ACTION_LISTS = (("teardown", None), ("start", "start"), ("resume", "resume"), ("gc", "gc"), ("cancel", "cancel"))


def jobs_by_host(vm_jobs, hosts):
    """{host: [job id]} of the jobs that run (or finish) on the given VM-cluster nodes."""
    wanted = set(hosts)
    found = {}
    for job in vm_jobs or ():
        if job.get("state") not in _ON_NODE or job.get("nodelist") in (None, "", "(null)"):
            continue
        for host in wanted.intersection(nodeset.expand(job["nodelist"])):
            found.setdefault(host, []).append(job["id"])
    return found


def planned_actions(plan):
    """{hostname: (action, reason)}: the first step the plan has for each host."""
    actions = {}
    for key, action in _ACTION_LISTS:
        for item in plan.get(key) or ():
            if item.get("hostname") and item["hostname"] not in actions:
                actions[item["hostname"]] = (action or item.get("step"), item.get("reason"))
    return actions


def vm_rows(vms_by_image, images, plan, now, vm_jobs, ahead=None):
    """The rows of every pool host that is not free, by image then hostname. vm_jobs: the snapshot's VM-cluster
    jobs (the planner passes those that are not pending demand: the running ones are among them);
    ahead: rules_ahead()."""
    listed = [vm for name in sorted(vms_by_image) for vm in vms_by_image[name] if vm["state"] != VmState.FREE]
    jobs = jobs_by_host(vm_jobs, [vm["hostname"] for vm in listed])
    actions = planned_actions(plan)
    rows = []
    for vm in sorted(listed, key=_IMAGE_HOST):
        host_job = vm.get("host_job") or {}
        node = vm.get("node") or {}
        started = vm.get("started") or host_job.get("start")
        action, why = actions.get(vm["hostname"], (None, None))
        due = None if action else (ahead or {}).get(vm["hostname"], (None,))[0]
        rows.append({
            "hostname": vm["hostname"], "image": vm["image"], "state": vm["state"],
            "version": vm.get("version"), "current_version": images[vm["image"]]["version"],
            "hypervisor": vm.get("hypervisor") or host_job.get("hypervisor"),
            "host_job_id": host_job.get("id"), "host_job_state": host_job.get("state"),
            "started": started, "age": (now - started) if started else None,
            "jobs": jobs.get(vm["hostname"], []),
            "node_state": node.get("state"), "node_reason": node.get("reason") or None,
            "action": action, "action_reason": why,
            "next_at": due and due[0], "next_in": due and due[0] - now, "next_rule": due and due[1],
            "next_step": due and due[2],
        })
    return rows


def rules_ahead(vms_by_image, images, drain_margin, now):
    """{hostname: [(epoch second, rule, step), ...] earliest first}: the time rules still ahead for each VM
    (the rows' next rule and the plan's next_due both read it)."""
    ahead = {}
    for name, vms in vms_by_image.items():
        rules = images[name]["rules"]
        for vm in vms:
            dues = sorted(due for due in _due_times(vm, rules, drain_margin) if due[0] > now)
            if dues:
                ahead[vm["hostname"]] = dues
    return ahead


def next_due(ahead, images, context):
    """The epoch second the next time-based rule fires (idle_timeout, the lifetime's drain margin,
    boot_timeout, a failed boot's hold, the end of a backoff), or None. ahead: rules_ahead(). A hint for
    a trigger: the run it starts plans anew."""
    times = [dues[0][0] for dues in ahead.values()]
    backoffs = [int(record["last_failure"]) + images[name]["rules"]["backoff_seconds"]
                for name, record in (context.history or {}).items()
                if name in images and isinstance(record, dict) and record.get("last_failure") is not None]
    future = [t for t in times + backoffs if t > context.now]
    return min(future) if future else None


def _due_times(vm, rules, drain_margin):
    """(epoch second, rule, step) of each time rule that will act on vm (lifecycle.py's rules)."""
    state = vm["state"]
    if state in (VmState.IDLE, VmState.BUSY) and vm.get("usable_end") is not None:
        yield vm["usable_end"] - drain_margin, "lifetime", "drain"
    if state == VmState.IDLE and vm.get("idle_since") is not None:
        yield vm["idle_since"] + rules["idle_timeout"] + 1, "idle_timeout", "drain"
    if state == VmState.BOOTING and vm.get("started") is not None:
        yield vm["started"] + rules["boot_timeout"] + 1, "boot_timeout", "end_host_job"
    node = vm.get("node") or {}
    if state == VmState.LEFTOVER and node.get("state") == "DOWN" and node.get("reason_time"):
        yield node["reason_time"] + rules["failed_hold"], "failed_hold", "finish"
