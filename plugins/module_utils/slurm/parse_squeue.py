# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""squeue's job lines, the job half of the Slurm parse layer (parse.py holds the values, times, nodes and
reservations).

squeue prints the fields a caller declares (VM_JOB_FIELDS, JOB_FIELDS, HOST_JOB_FIELDS) separated by '|';
the one free-text field of a format (the job name or the comment) keeps any '|' it holds.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import host_of_job
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.durations import parse_duration
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.parse import (
    UnexpectedOutput,
    parse_gres,
    parse_time,
)


def _memo(function):
    """Cache a parser of short strings: the tasks of one job array repeat them."""
    cache = {}

    def cached(value):
        try:
            return cache[value]
        except KeyError:
            if len(cache) > 10000:
                cache.clear()
            result = cache[value] = function(value)
            return result
    return cached


def _parse_limit(value):
    return parse_duration(value) if value not in ("", "N/A") else None


_limit = _memo(_parse_limit)
_gres = _memo(parse_gres)


# Every field a caller may declare: its squeue -o code, the job key it fills and how its text converts.
_SQUEUE_FIELDS = {
    "id": ("%i", "id", str),
    "state": ("%T", "state", str),
    "reason": ("%r", "reason", str),
    "tres_per_node": ("%b", "gres", lambda v: dict(_gres(v))),
    "num_nodes": ("%D", "num_nodes", lambda v: int(v) if v.isdigit() else 1),
    "nodelist": ("%N", "nodelist", str),
    "time_limit": ("%l", "time_limit", _limit),
    "submit": ("%V", "submit", parse_time),
    "start": ("%S", "start", parse_time),
    "end": ("%e", "end", parse_time),
    "user": ("%u", "user", str),
    "partition": ("%P", "partition", str),
    "features": ("%f", "features", lambda v: "" if v in ("(null)", "") else v),
    "name": ("%j", "name", str),
    # The job name as a plain field, for formats whose free text is the comment: only where every name is
    # known to hold no '|' (the snapshot's host jobs, listed by our names with --name).
    "our_name": ("%j", "name", str),
    "comment": ("%k", "comment", lambda v: "" if v == "(null)" else v),
}
# Free-text fields: the one a format holds gets every '|' left over once the other fields are split off.
FREE_TEXT_FIELDS = ("name", "comment")
# The snapshot's host-cluster jobs; the job name (hpcvm:<host>) comes last.
JOB_FIELDS = ("id", "state", "reason", "tres_per_node", "num_nodes", "nodelist", "time_limit",
              "submit", "start", "end", "user", "partition", "features", "name")
# The snapshot's VM-cluster jobs: the comment (where the scheduler says why a job waits) instead of the name.
VM_JOB_FIELDS = JOB_FIELDS[:-1] + ("comment",)
# The snapshot's host jobs (listed with --name <our names>): the comment last (image, VM, image version).
SNAPSHOT_HOST_JOB_FIELDS = JOB_FIELDS[:-1] + ("our_name", "comment")
# slurm_host_job's listing of its own jobs.
HOST_JOB_FIELDS = ("id", "name", "state", "nodelist", "start", "end")


def squeue_format(fields):
    """The `squeue -o` argument that prints `fields` (the job id first)."""
    return "|".join(_SQUEUE_FIELDS[f][0] for f in fields)


def _split_fields(text, count, free):
    """text split into `count` parts at '|'; part `free` (or None) keeps any '|' left over."""
    if free is None:
        parts = text.split("|")
        return parts if len(parts) == count else None
    head = text.split("|", free)
    if len(head) != free + 1:
        return None
    tail = head.pop().rsplit("|", count - free - 1)
    return head + tail if len(tail) == count - free else None


def _job_template(rest, fields, free):
    """Every declared field but the job id, parsed once per distinct rest of line: the tasks of a
    job array, or many jobs of one user, print the same."""
    parts = _split_fields(rest, len(fields), free)
    if parts is None:
        return None
    job = {}
    for field, value in zip(fields, parts):
        _code, key, convert = _SQUEUE_FIELDS[field]
        job[key] = convert(value)
    return job


def parse_squeue(text, fields=JOB_FIELDS):
    """`squeue -h -o squeue_format(fields)` output -> [job dict], in squeue's order.

    Times are epoch seconds (None when Slurm shows N/A), time_limit seconds (None for
    UNLIMITED), gres {name: count}. Raises UnexpectedOutput on a line that does not fit."""
    if fields[0] != "id":
        raise ValueError("squeue fields must start with the job id")
    rest_fields = fields[1:]
    free_fields = [f for f in rest_fields if f in FREE_TEXT_FIELDS]
    if len(free_fields) > 1:
        raise ValueError("a squeue format holds one free-text field, not %s" % ", ".join(free_fields))
    free = rest_fields.index(free_fields[0]) if free_fields else None
    jobs = []
    templates = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        job_id, _sep, rest = line.partition("|")
        template = templates.get(rest)
        if template is None:
            template = templates[rest] = _job_template(rest, rest_fields, free)
        if template is None:
            raise UnexpectedOutput("unexpected squeue line: %r" % line)
        job = dict(template)
        job["id"] = job_id
        jobs.append(job)
    return jobs


def parse_host_jobs(text):
    """`squeue -h -o squeue_format(HOST_JOB_FIELDS)` output -> {hostname: [host job, ...]}, our job
    names only. start and end are None while a job is PENDING (Slurm shows an estimate then)."""
    found = {}
    for job in parse_squeue(text, HOST_JOB_FIELDS):
        host = host_of_job(job["name"])
        if host is None:
            continue
        pending = job["state"] == "PENDING"
        found.setdefault(host, []).append({"job_id": job["id"], "state": job["state"], "node": job["nodelist"] or None,
                                           "start": None if pending else job["start"],
                                           "end": None if pending else job["end"]})
    return found
