# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Demand: which pending VM-cluster jobs a new VM could serve, by image. Pure.

The planner reads each demand job once, in the snapshot's (squeue's) order, into a demand
record (demand_records): sorted oldest first, the job dicts lie scattered over memory, and
with 100,000 pending jobs every further pass over them costs more than the work it does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from operator import itemgetter

# Pending reasons that are not demand: the job could not start on a new VM either.
NOT_DEMAND_REASON_RE = re.compile(
    r"^(JobHeld\w*|Dependency\w*|BeginTime|\w*Limit\w*|PartitionDown|PartitionInactive|"
    r"InvalidAccount|InvalidQOS|FedJobLock|JobArrayTaskLimit)$")


_NOT_DEMAND_CACHE = {}
# Reasons that make a pending job demand without a look at its start time (not "" or "None"):
# the fast path of demand_by_image, filled by is_demand.
_PLAIN_DEMAND_REASONS = set()
_SUBMIT = itemgetter("submit")

# A demand record: a demand job as the planner reads it, the plain tuple
# (id, submit, time_limit, units, num_nodes, position), read with these indices. submit: the submit
# time, 0 when Slurm gave none; units: the gres units it asks for on each node (units_per_node);
# position: its index in the snapshot's vm_jobs (None when not read from them), where the planner
# writes its wait reason (job_reasons.image_reasons). Not a namedtuple: the garbage collector stops
# tracking a plain tuple of strings and numbers, but would walk 100,000 namedtuples in each full collection.
JOB_ID, SUBMIT, TIME_LIMIT, UNITS, NUM_NODES, POSITION = range(6)
_RECORD_ID = itemgetter(JOB_ID)
_RECORD_SUBMIT = itemgetter(SUBMIT)
_RECORD_TIME_LIMIT = itemgetter(TIME_LIMIT)


def is_demand(job, now=None):
    """A pending job that a new VM could start: not held, not waiting on a dependency or a limit.
    With `now`: not deferred either. A job requeued after a node failure pends with Reason=None
    and its start (squeue %S) at its begin time, about 120 s later, until the next scheduling
    pass says BeginTime (seen on the lab's Slurm 22.05); a VM spawned for it would idle."""
    if job["state"] != "PENDING":
        return False
    reason = job["reason"] or ""
    if now is not None and reason in ("", "None") and job.get("start") and job["start"] > now:
        return False
    blocked = _NOT_DEMAND_CACHE.get(reason)
    if blocked is None:
        blocked = _NOT_DEMAND_CACHE.setdefault(reason, bool(NOT_DEMAND_REASON_RE.match(reason)))
        if not blocked and reason not in ("", "None"):
            _PLAIN_DEMAND_REASONS.add(reason)
    return not blocked


def job_image(job, images, gres_index, feature_index):
    """The image a VM-cluster job asks for, by gres or by feature; None if none."""
    gres_names = job["gres"]
    for gres in (gres_names if len(gres_names) < 2 else sorted(gres_names)):
        if gres in gres_index:
            return gres_index[gres]
    for feature in sorted(feature_index):
        if feature and feature in _feature_words(job.get("features", "")):
            return feature_index[feature]
    return None


def _feature_words(expression):
    words = set()
    token = ""
    for char in expression or "":
        if char.isalnum() or char in "_.":
            token += char
        else:
            if token:
                words.add(token)
            token = ""
    if token:
        words.add(token)
    return words


def _demand_in_order(jobs, images, now, records=False, rest=None):
    """{image: [jobs that are demand (is_demand)]}, in the jobs' order; with records, each
    job as its demand record, read here: the jobs lie in memory in squeue's order.
    rest: a list to append the jobs to that are not pending with one gres an image provides."""
    gres_index = {i["gres"]: name for name, i in images.items() if i["gres"]}
    feature_index = {i["feature"]: name for name, i in images.items() if i["feature"]}
    units = {name: (i["gres"], i["gres_count"]) for name, i in images.items()}
    demand = {name: [] for name in images}
    plain = _PLAIN_DEMAND_REASONS
    for position, job in enumerate(jobs):
        if job["state"] != "PENDING":
            if rest is not None:
                rest.append(job)
            continue  # never demand (is_demand); its image does not matter
        gres = job["gres"]
        name = None
        if len(gres) == 1:  # one gres: no sort needed (job_image)
            for only in gres:
                name = gres_index.get(only)
        if name is None:
            if rest is not None:
                rest.append(job)
            name = job_image(job, images, gres_index, feature_index)
        if name is None or not (job["reason"] in plain or is_demand(job, now)):
            continue
        if records:  # demand_record, inline
            image_gres, gres_count = units[name]
            demand[name].append((job["id"], job["submit"] or 0, job["time_limit"],
                                 gres.get(image_gres, 1) if image_gres else gres_count, job["num_nodes"], position))
        else:
            demand[name].append(job)
    return demand


def demand_by_image(jobs, images, now=None):
    """{image: [pending jobs that are demand]}, oldest first (now: see is_demand)."""
    demand = _demand_in_order(jobs, images, now)
    for queue in demand.values():
        # Oldest first; the sort is stable, so equal submit times keep squeue's (priority) order.
        # Every submit time set: the same keys as _submit_time, read without a Python call per job.
        queue.sort(key=_SUBMIT if all(map(_SUBMIT, queue)) else _submit_time)
    return demand


def _submit_time(job):
    return job["submit"] or 0


def demand_records(jobs, images, now=None, rest=None):
    """demand_by_image, each job as its demand record: {image: [record]}, oldest first.

    rest: a list that gets, in the jobs' order, every job that is not pending with exactly one gres,
    one that an image provides: the only jobs that run on a node (vm_state.hosts_with_jobs) or ask
    for a gres no image provides (job_reasons.unknown_image_reasons), so the planner reads those
    facts from a few jobs, not from 100,000 again."""
    records = _demand_in_order(jobs, images, now, records=True, rest=rest)
    for queue in records.values():
        queue.sort(key=_RECORD_SUBMIT)  # stable: equal submit times keep squeue's (priority) order
    return records


def demand_record(job, image, position=None):
    """The demand record of a job that asks for the image (position: its index in vm_jobs)."""
    return job["id"], job["submit"] or 0, job["time_limit"], units_per_node(job, image), job["num_nodes"], position


def demand_summary(jobs, image, now, max_ids=None):
    """What an image's pending jobs ask for."""
    return records_summary([demand_record(job, image) for job in jobs], now, max_ids)


def records_summary(records, now, max_ids=None):
    """demand_summary of demand records (builtins over the records: a backlog has 100,000)."""
    oldest_submit = min(filter(None, map(_RECORD_SUBMIT, records)), default=None)
    return {
        "pending_jobs": len(records),
        "requested_units": requested_units(records),
        "oldest_wait": 0 if oldest_submit is None else max(0, now - oldest_submit),
        "job_ids": list(map(_RECORD_ID, records if max_ids is None else records[:max_ids])),
        "job_ids_truncated": max_ids is not None and len(records) > max_ids,
        "longest_time_limit": max(filter(None, map(_RECORD_TIME_LIMIT, records)), default=0),
    }


def requested_units(records):
    """The gres units demand records ask for, over all their nodes."""
    return sum(record[UNITS] * record[NUM_NODES] for record in records)


def units_per_node(job, image):
    if image["gres"]:
        return job["gres"].get(image["gres"], 1)
    return image["gres_count"]
