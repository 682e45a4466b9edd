# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Demand: which pending VM-cluster jobs a new VM could serve, by image. Pure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Pending reasons that are not demand: the job could not start on a new VM either.
NOT_DEMAND_REASON_RE = re.compile(
    r"^(JobHeld\w*|Dependency\w*|BeginTime|\w*Limit\w*|PartitionDown|PartitionInactive|"
    r"InvalidAccount|InvalidQOS|FedJobLock|JobArrayTaskLimit)$")


_NOT_DEMAND_CACHE = {}


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


def demand_by_image(jobs, images, now=None):
    """{image: [pending jobs that are demand]}, oldest first (now: see is_demand)."""
    gres_index = {i["gres"]: name for name, i in images.items() if i["gres"]}
    feature_index = {i["feature"]: name for name, i in images.items() if i["feature"]}
    demand = {name: [] for name in images}
    for job in jobs:
        name = job_image(job, images, gres_index, feature_index)
        if name is not None and is_demand(job, now):
            demand[name].append(job)
    for name in demand:
        # Oldest first; the sort is stable, so equal submit times keep squeue's (priority) order.
        demand[name].sort(key=_submit_time)
    return demand


def _submit_time(job):
    return job["submit"] or 0


def demand_summary(jobs, image, now, max_ids=None):
    """What an image's pending jobs ask for (one pass over the jobs)."""
    units = 0
    oldest = 0
    longest = 0
    gres = image["gres"]
    for job in jobs:
        units += (job["gres"].get(gres, 1) if gres else image["gres_count"]) * job["num_nodes"]
        if job["submit"] and now - job["submit"] > oldest:
            oldest = now - job["submit"]
        if job["time_limit"] and job["time_limit"] > longest:
            longest = job["time_limit"]
    return {
        "pending_jobs": len(jobs),
        "requested_units": units,
        "oldest_wait": oldest,
        "job_ids": [j["id"] for j in (jobs if max_ids is None else jobs[:max_ids])],
        "job_ids_truncated": max_ids is not None and len(jobs) > max_ids,
        "longest_time_limit": longest,
    }


def units_per_node(job, image):
    if image["gres"]:
        return job["gres"].get(image["gres"], 1)
    return image["gres_count"]
