# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One snapshot of both clusters, read with a handful of Slurm calls.

VM cluster:   squeue -r (pending + running jobs, one line per array task), scontrol -F show node (pool nodes,
              FUTURE included), scontrol show res (reservations).
Host cluster: squeue --name=<every hpcvm:<host>> (host jobs).

Four calls in all, whatever the number of jobs or nodes. On 22.05,
`squeue --json` ignores filters and `sinfo --json` omits FUTURE nodes, so the
fixed-column text formats are used: the free-text field (job name) comes last
and keeps any separator it holds.

The runner is injected: run(argv, slurm_conf) -> (rc, stdout, stderr).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import host_job_name, host_of_job
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import SlurmVmError
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.client import parse_record, split_reason, split_state
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.durations import parse_duration

SQUEUE_FIELDS = ("id", "state", "reason", "tres_per_node", "num_nodes", "nodelist", "time_limit",
                 "submit", "start", "end", "user", "partition", "features", "name")
SQUEUE_FORMAT = "|".join(("%i", "%T", "%r", "%b", "%D", "%N", "%l", "%V", "%S", "%e", "%u", "%P", "%f", "%j"))
_GRES_RE = re.compile(r"gres:([A-Za-z0-9_]+)(?::[A-Za-z0-9_.-]+)?:(\d+)")


class SnapshotError(SlurmVmError):
    """A Slurm command of the snapshot failed or printed something unexpected."""


_TIME_CACHE = {}


def parse_time(value):
    """Slurm's ISO local time ('2026-11-25T22:17:26') as epoch seconds; None for N/A, None, Unknown.
    Cached: the 10,000 tasks of one job array share their times."""
    if not value or value in ("N/A", "None", "Unknown", "(null)"):
        return None
    if value in _TIME_CACHE:
        return _TIME_CACHE[value]
    try:
        parsed = int(time.mktime(time.strptime(value, "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        parsed = None
    if len(_TIME_CACHE) > 100000:
        _TIME_CACHE.clear()
    _TIME_CACHE[value] = parsed
    return parsed


def parse_gres(tres_per_node):
    """'gres:vm_deb12:1' / 'gres:vm_x:tesla:2,gres:y:1' -> {'vm_deb12': 1}."""
    found = {}
    for name, count in _GRES_RE.findall(tres_per_node or ""):
        found[name] = found.get(name, 0) + int(count)
    return found


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


def _parse_job_fields(rest):
    """Every squeue field but the job id (the first): parsed once per distinct line, since the
    tasks of a job array, or many jobs of one user, print the same rest of the line."""
    parts = rest.split("|", len(SQUEUE_FIELDS) - 2)
    if len(parts) != len(SQUEUE_FIELDS) - 1:
        return None
    raw = dict(zip(SQUEUE_FIELDS[1:], parts))
    return {
        "name": raw["name"],
        "user": raw["user"],
        "partition": raw["partition"],
        "state": raw["state"],
        "reason": raw["reason"],
        "gres": dict(_gres(raw["tres_per_node"])),
        "features": "" if raw["features"] in ("(null)", "") else raw["features"],
        "num_nodes": int(raw["num_nodes"]) if raw["num_nodes"].isdigit() else 1,
        "nodelist": raw["nodelist"],
        "time_limit": _limit(raw["time_limit"]),
        "submit": parse_time(raw["submit"]),
        "start": parse_time(raw["start"]),
        "end": parse_time(raw["end"]),
    }


def parse_squeue(text):
    jobs = []
    templates = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        job_id, _sep, rest = line.partition("|")
        template = templates.get(rest)
        if template is None:
            template = templates[rest] = _parse_job_fields(rest)
        if template is None:
            raise SnapshotError("unexpected squeue line: %r" % line)
        job = dict(template)
        job["id"] = job_id
        jobs.append(job)
    return jobs


def compact_jobs(jobs):
    """Jobs as groups that share every field but the id: the snapshot file stays small and
    fast to write when 10,000 array tasks are pending. expand_jobs() reverses it."""
    groups = {}
    order = []
    for job in jobs:
        # a tuple of the fields in a fixed order hashes fast; jobs with other keys get their own group
        key = (job["name"], job["user"], job["partition"], job["state"], job["reason"],
               tuple(sorted(job["gres"].items())), job["features"], job["num_nodes"], job["nodelist"],
               job["time_limit"], job["submit"], job["start"], job["end"], len(job))
        group = groups.get(key)
        if group is None:
            fields = dict(job)
            del fields["id"]
            group = groups[key] = {"job": fields, "ids": []}
            order.append(group)
        group["ids"].append(job["id"])
    return order


def expand_jobs(groups):
    jobs = []
    for group in groups:
        for job_id in group["ids"]:
            job = dict(group["job"])
            job["id"] = job_id
            jobs.append(job)
    return jobs


def snapshot_for_file(snapshot):
    """The snapshot with its VM-cluster jobs compacted (see compact_jobs)."""
    data = dict(snapshot)
    data["vm_job_groups"] = compact_jobs(data.pop("vm_jobs"))
    return data


def snapshot_from_file(data):
    """Inverse of snapshot_for_file; a snapshot with plain vm_jobs passes unchanged."""
    if "vm_job_groups" in data:
        data = dict(data)
        data["vm_jobs"] = expand_jobs(data.pop("vm_job_groups"))
    return data


def parse_nodes(text):
    nodes = {}
    for line in text.splitlines():
        if not line.startswith("NodeName="):
            continue
        rec = parse_record(line)
        base, flags = split_state(rec.get("State"))
        slurmd_start = parse_time(rec.get("SlurmdStartTime"))
        nodes[rec["NodeName"]] = {
            "state": base,
            "flags": flags,
            "reason": split_reason(rec.get("Reason"))[0] or "",
            "reason_time": parse_time(split_reason(rec.get("Reason"))[2]),
            # Registered: a slurmd has spoken to slurmctld and still answers.
            "registered": base != "FUTURE" and slurmd_start is not None and "NOT_RESPONDING" not in flags,
            "boot_time": parse_time(rec.get("BootTime")),
            "slurmd_start": slurmd_start,
            "last_busy": parse_time(rec.get("LastBusyTime")),
            "gres": rec.get("Gres", ""),
            "features": "" if rec.get("AvailableFeatures") in (None, "(null)") else rec["AvailableFeatures"],
            "alloc_cpus": int(rec.get("CPUAlloc", "0") or 0),
        }
    return nodes


def parse_reservations(text):
    reservations = {}
    for line in text.splitlines():
        if not line.startswith("ReservationName="):
            continue
        rec = parse_record(line)
        reservations[rec["ReservationName"]] = {
            "nodes": rec.get("Nodes", ""),
            "start": parse_time(rec.get("StartTime")),
            "end": parse_time(rec.get("EndTime")),
            "users": rec.get("Users", ""),
            "state": rec.get("State", ""),
        }
    return reservations


class SlurmSnapshotReader(object):
    """Reads the snapshot; `run` is the injected command runner."""

    def __init__(self, run, vm_slurm_conf, host_slurm_conf):
        self.run = run
        self.vm_conf = vm_slurm_conf
        self.host_conf = host_slurm_conf
        self.calls = []

    def _call(self, argv, conf, ok_texts=()):
        started = time.time()
        rc, out, err = self.run(argv, conf)
        self.calls.append({"argv": argv, "seconds": round(time.time() - started, 4)})
        if rc != 0 and not any(t in (out + err) for t in ok_texts):
            raise SnapshotError("%s failed (rc %s): %s" % (" ".join(argv), rc, (err or out).strip()),
                                cmd=argv, rc=rc, stdout=out, stderr=err)
        return out

    def read(self, pool_hosts, now=None):
        """The snapshot dict. pool_hosts: every pool hostname (for the host-job names)."""
        now = int(time.time()) if now is None else int(now)
        vm_jobs = parse_squeue(self._call(
            ["squeue", "-h", "-a", "-r", "-t", "PENDING,RUNNING,CONFIGURING,COMPLETING", "-o", SQUEUE_FORMAT],
            self.vm_conf))
        nodes = parse_nodes(self._call(["scontrol", "-F", "-o", "show", "node"], self.vm_conf))
        reservations = parse_reservations(self._call(
            ["scontrol", "-o", "show", "reservation"], self.vm_conf, ok_texts=("No reservations",)))
        host_jobs = {}
        if pool_hosts:
            names = ",".join(host_job_name(h) for h in sorted(pool_hosts))
            for job in parse_squeue(self._call(
                    ["squeue", "-h", "-a", "-t", "PENDING,RUNNING,CONFIGURING,COMPLETING", "--name", names,
                     "-o", SQUEUE_FORMAT], self.host_conf)):
                vm = host_of_job(job["name"])
                job["hypervisor"] = job["nodelist"] or None
                # Two host jobs for one VM is a fault the reconciler reports; keep the oldest.
                if vm not in host_jobs or int(job["id"]) < int(host_jobs[vm]["id"]):
                    host_jobs[vm] = job
        return {
            "time": now,
            "vm_jobs": vm_jobs,
            "nodes": nodes,
            "reservations": reservations,
            "host_jobs": host_jobs,
        }
