# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why a VM job waits, written into the job's Comment so that `squeue -O comment` shows it. Pure.

Slurm alone shows a generic reason ("Nodes required for job are DOWN, DRAINED or reserved")
for a job that no VM will serve. The scheduler knows better; the cases it says:
  - the job's time limit is over what a VM of its image can give (or it has none);
  - the job asks for a gres that no image of the table provides;
  - the image is paused by an admin (hpc.slurm_vm.pause), with the admin's reason;
  - the image is in backoff after failed boots;
  - a limit (max_vms, max_total_vms, max_spawn_per_run, free hostnames, slurm.conf drifted from the
    table) keeps its VM from starting.
A comment is ours when it starts with the reason prefix. The scheduler writes only empty
comments or its own, and clears its own once the reason no longer applies (the job runs,
or a VM comes for it); a comment the user set is never touched.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from itertools import repeat
from operator import itemgetter

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.demand import (
    JOB_ID,
    NUM_NODES,
    POSITION,
    TIME_LIMIT,
    UNITS,
    is_demand,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.pause import paused_reason
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.preview import iso_time
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.durations import format_duration

_ID = itemgetter(JOB_ID)


def image_reasons(image, supply, rules, reasons=None, reason_at=None):
    """{job id: reason} for the image's pending demand jobs (demand records, spawn.ImageSupply)
    that this plan leaves waiting. reasons: a dict to add them to (and return), replacing what it
    said for those jobs. reason_at: the planner's list of reasons by the jobs' positions in vm_jobs
    (see comment_changes); when given, the reason shared by the jobs no VM takes, which may be
    100,000 jobs, goes there (by their records' position) instead of into the dict."""
    reasons = {} if reasons is None else reasons
    usable = image["rules"]["lifetime"] - rules["grace"]
    for job in supply.unservable:
        if job[TIME_LIMIT] is None:
            reasons[job[JOB_ID]] = "no time limit, and a %s VM lives %s: set --time to %s or less" % (
                image["name"], format_duration(image["rules"]["lifetime"]), format_duration(usable))
        else:
            reasons[job[JOB_ID]] = "time limit %s is over what a %s VM can give (%s): this job cannot start" % (
                format_duration(job[TIME_LIMIT]), image["name"], format_duration(usable))
    if supply.paused:
        _say(supply.unserved, paused_reason(image["name"], supply.paused), reasons, reason_at)
    elif supply.backoff:
        why = "image %s paused after %d failed VM boots, until %s" % (
            image["name"], supply.backoff["failures"], iso_time(supply.backoff["until"]))
        _say(supply.unserved, why, reasons, reason_at)
    elif supply.count < supply.wanted:
        why = "waiting for a %s VM: limited by %s" % (image["name"], supply.limited_by)
        _say(_beyond_capacity(supply, image), why, reasons, reason_at)
    return reasons


def _say(jobs, why, reasons, reason_at):
    """The one reason `why` for many demand records: by position into reason_at when given (a list
    index, no hashing), else by id into reasons."""
    if reason_at is None:
        reasons.update(zip(map(_ID, jobs), repeat(why)))
    else:
        for job in jobs:
            reason_at[job[POSITION]] = why


def _beyond_capacity(supply, image):
    """The unserved jobs, oldest first, that the VMs spawned in this run cannot hold."""
    room = supply.count * image["gres_count"]
    for index, job in enumerate(supply.unserved):
        units = job[UNITS] * job[NUM_NODES]
        if units > room:
            return supply.unserved[index:]  # later, smaller jobs do not jump the queue in this count
        room -= units
    return []


def unknown_image_reasons(vm_jobs, images, now):
    """{job id: reason} for pending jobs that ask for a gres no image of the table provides."""
    known = {i["gres"] for i in images.values() if i["gres"]}
    reasons = {}
    for job in vm_jobs:
        gres = job["gres"]
        if not gres or not known.isdisjoint(gres) or job["state"] != "PENDING":
            continue  # most jobs: a gres some image provides (isdisjoint builds no set)
        if is_demand(job, now):
            reasons[job["id"]] = "no VM image provides gres %s (known: %s)" % (
                ",".join(sorted(job["gres"])), ",".join(sorted(known)) or "none")
    return reasons


def comment_changes(vm_jobs, reasons, prefix, reason_at=None):
    """[{comment, jobs}]: the comment updates that make the jobs' comments say `reasons`
    ({job id: reason}); reason_at, when given: a list as long as vm_jobs of the jobs' reasons by
    position (None: see `reasons`), ahead of `reasons` (the planner's, for the bulk of a backlog).

    A job with a reason gets "<prefix> <reason>" unless it already has it or holds a comment
    that is not ours; a job whose comment is ours and that has no reason any more gets "".
    The pending tasks of a job array share one record: they are updated through the array's
    id (updating one task would split it off). One item per distinct comment (Slurm updates
    a list of jobs in one call), sorted by comment; the jobs in the snapshot's (squeue's) order."""
    texts = {}  # reason -> comment: a few distinct reasons for many jobs
    targets = {}  # update target -> comment
    by_comment = {"": []}  # comment -> targets in first-seen order, while no target changed its comment
    moved = False
    reason_of = reasons.get
    for job, reason in zip(vm_jobs, repeat(None) if reason_at is None else reason_at):
        job_id = job["id"]
        if reason is None:
            reason = reason_of(job_id)
        current = job.get("comment", "")
        if reason:
            wanted = texts.get(reason)
            if wanted is None:
                wanted = texts[reason] = "%s %s" % (prefix, reason)
                by_comment[wanted] = []
        elif not current:
            continue  # the common case: nothing said, nothing to say
        else:
            wanted = ""
        if current and (wanted == current or not current.startswith(prefix)):
            continue  # already said, or the user's own comment
        target = update_target(job) if "_" in job_id else job_id  # no "_": the job itself (update_target)
        said = targets.get(target)
        if said is None:  # a record's first word
            targets[target] = wanted
            by_comment[wanted].append(target)
        elif wanted and not said:  # a reason over a clear: the target moves to the reason's group
            targets[target] = wanted
            moved = True
    if moved:
        return group_by_comment(targets)
    return [{"comment": comment, "jobs": by_comment[comment]} for comment in sorted(by_comment) if by_comment[comment]]


def group_by_comment(targets):
    """[{comment, jobs}] sorted by comment, from {job id: comment}; the ids keep their order."""
    by_comment = {}
    for target, wanted in targets.items():
        group = by_comment.get(wanted)
        if group is None:
            group = by_comment[wanted] = []
        group.append(target)
    return [{"comment": comment, "jobs": by_comment[comment]} for comment in sorted(by_comment)]


def update_target(job):
    """The job id an update goes to: a pending array task's array, any other job itself."""
    array_id, sep, _task = job["id"].partition("_")
    return array_id if sep and job["state"] == "PENDING" else job["id"]
