# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why a VM job waits, written into the job's Comment so that `squeue -O comment` shows it. Pure.

Slurm alone shows a generic reason ("Nodes required for job are DOWN, DRAINED or reserved")
for a job that no VM will serve. The scheduler knows better; the cases it says:
  - the job's time limit is over what a VM of its image can give (or it has none);
  - the job asks for a gres that no image of the table provides;
  - the image is in backoff after failed boots;
  - a limit (max_vms, max_total_vms, max_spawn_per_run, free hostnames, slurm.conf drifted from the
    table) keeps its VM from starting.
A comment is ours when it starts with the reason prefix. The scheduler writes only empty
comments or its own, and clears its own once the reason no longer applies (the job runs,
or a VM comes for it); a comment the user set is never touched.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.demand import is_demand, units_per_node
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.preview import iso_time
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.durations import format_duration


def image_reasons(image, supply, rules):
    """{job id: reason} for the image's pending demand jobs that this plan leaves waiting."""
    reasons = {}
    usable = image["rules"]["lifetime"] - rules["grace"]
    for job in supply.unservable:
        if job["time_limit"] is None:
            reasons[job["id"]] = "no time limit, and a %s VM lives %s: set --time to %s or less" % (
                image["name"], format_duration(image["rules"]["lifetime"]), format_duration(usable))
        else:
            reasons[job["id"]] = "time limit %s is over what a %s VM can give (%s): this job cannot start" % (
                format_duration(job["time_limit"]), image["name"], format_duration(usable))
    if supply.backoff:
        why = "image %s paused after %d failed VM boots, until %s" % (
            image["name"], supply.backoff["failures"], iso_time(supply.backoff["until"]))
        reasons.update((job["id"], why) for job in supply.unserved)
    elif supply.count < supply.wanted:
        why = "waiting for a %s VM: limited by %s" % (image["name"], supply.limited_by)
        reasons.update((job["id"], why) for job in _beyond_capacity(supply, image))
    return reasons


def _beyond_capacity(supply, image):
    """The unserved jobs, oldest first, that the VMs spawned in this run cannot hold."""
    room = supply.count * image["gres_count"]
    for index, job in enumerate(supply.unserved):
        units = units_per_node(job, image) * job["num_nodes"]
        if units > room:
            return supply.unserved[index:]  # later, smaller jobs do not jump the queue in this count
        room -= units
    return []


def unknown_image_reasons(vm_jobs, images, now):
    """{job id: reason} for pending jobs that ask for a gres no image of the table provides."""
    known = {i["gres"] for i in images.values() if i["gres"]}
    reasons = {}
    for job in vm_jobs:
        if job["state"] != "PENDING" or not job["gres"] or known.intersection(job["gres"]):
            continue
        if is_demand(job, now):
            reasons[job["id"]] = "no VM image provides gres %s (known: %s)" % (
                ",".join(sorted(job["gres"])), ",".join(sorted(known)) or "none")
    return reasons


def comment_changes(vm_jobs, reasons, prefix):
    """[{comment, jobs}]: the comment updates that make the jobs' comments say `reasons`.

    A job with a reason gets "<prefix> <reason>" unless it already has it or holds a comment
    that is not ours; a job whose comment is ours and that has no reason any more gets "".
    The pending tasks of a job array share one record: they are updated through the array's
    id (updating one task would split it off). One item per distinct comment (Slurm updates
    a list of jobs in one call), sorted by comment; the jobs in the snapshot's (squeue's) order."""
    texts = {}  # reason -> comment: a few distinct reasons for many jobs
    targets = {}
    for job in vm_jobs:
        reason = reasons.get(job["id"])
        current = job.get("comment", "")
        if reason:
            wanted = texts.get(reason)
            if wanted is None:
                wanted = texts[reason] = "%s %s" % (prefix, reason)
        elif not current:
            continue  # the common case: nothing said, nothing to say
        else:
            wanted = ""
        if wanted == current or (current and not current.startswith(prefix)):
            continue  # already said, or the user's own comment
        target = update_target(job)
        if not targets.get(target):  # a record's first word, or a reason over a clear
            targets[target] = wanted
    by_comment = {}
    for target, wanted in targets.items():
        by_comment.setdefault(wanted, []).append(target)
    return [{"comment": comment, "jobs": by_comment[comment]} for comment in sorted(by_comment)]


def update_target(job):
    """The job id an update goes to: a pending array task's array, any other job itself."""
    array_id, sep, _task = job["id"].partition("_")
    return array_id if sep and job["state"] == "PENDING" else job["id"]
