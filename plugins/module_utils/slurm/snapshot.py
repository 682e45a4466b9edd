# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One snapshot of both clusters, read with a handful of Slurm calls.

VM cluster:   squeue -r (pending + running jobs, one line per array task), scontrol -F show node (pool nodes,
              FUTURE included), scontrol show res (reservations).
Host cluster: squeue --name=<every hpcvm:<host>> (host jobs).

Host cluster, while host jobs run: scontrol -F show node <their hypervisors> (a hypervisor drained or down
              takes its VMs out of service) and scontrol show res (a MAINT reservation on a
              hypervisor ends its VMs' life at its start).

Four to six calls in all, whatever the number of jobs or nodes. On 22.05,
`squeue --json` ignores filters and `sinfo --json` omits FUTURE nodes, so the
fixed-column text formats are used: the free-text field comes last (the VM
jobs' comment, the host jobs' name) and keeps any separator it holds.

The text is read by slurm/parse.py and slurm/parse_squeue.py. The runner is injected, with the interface of
common/runner.py: run(argv, env=None, changes=False, data=None) -> CommandResult
(SLURM_CONF goes in env).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import state_files
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import host_job_name, host_of_job
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import SlurmVmError
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.parse import (
    parse_reservations as parse_reservation_records,
    reservation_from_record,
    snapshot_nodes as parse_nodes,
    snapshot_reservations as parse_reservations,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.parse_squeue import (
    SNAPSHOT_HOST_JOB_FIELDS,
    VM_JOB_FIELDS,
    parse_squeue,
    squeue_format,
)

VM_SQUEUE_FORMAT = squeue_format(VM_JOB_FIELDS)
HOST_SQUEUE_FORMAT = squeue_format(SNAPSHOT_HOST_JOB_FIELDS)
_JOB_STATES = "PENDING,RUNNING,CONFIGURING,COMPLETING"


class SnapshotError(SlurmVmError):
    """A Slurm command of the snapshot failed (a line it cannot read raises parse.UnexpectedOutput)."""


def compact_jobs(jobs):
    """Jobs as groups that share every field but the id: the snapshot file stays small and
    fast to write when 10,000 array tasks are pending. expand_jobs() reverses it."""
    groups = {}
    order = []
    for job in jobs:
        # a tuple of the fields in a fixed order hashes fast; jobs with other keys get their own group
        key = (job["comment"], job["user"], job["partition"], job["state"], job["reason"],
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


# What every snapshot holds, and the type of each part. A part that is missing is unknown, never "none":
# without host_jobs, every live VM would look like an orphan to the reconciler.
SNAPSHOT_PARTS = (("time", (int, float)), ("vm_jobs", list), ("nodes", dict), ("reservations", dict),
                  ("host_jobs", dict))


def require_complete(snapshot, source="the snapshot"):
    """snapshot, checked: a dict with every part of SNAPSHOT_PARTS; raises SnapshotError naming what lacks."""
    if not isinstance(snapshot, dict):
        raise SnapshotError("%s is not a snapshot (a mapping): %s" % (source, type(snapshot).__name__))
    missing = [part for part, kind in SNAPSHOT_PARTS if not isinstance(snapshot.get(part), kind)]
    if missing:
        raise SnapshotError("%s is incomplete: %s missing or malformed; pass the slurm_demand inventory's "
                            "slurm_vm_snapshot (or slurm_vm_snapshot_file)" % (source, ", ".join(missing)))
    return snapshot


def task_snapshot(params):
    """The snapshot a planner task was given: params' snapshot, or the one in params' snapshot_file; checked
    complete (SnapshotError names the source)."""
    snapshot = params.get("snapshot")
    source = "the snapshot given"
    if snapshot is None:
        source = "snapshot file %s" % params["snapshot_file"]
        snapshot = snapshot_from_file(state_files.read_json(params["snapshot_file"], "snapshot"))
    return require_complete(snapshot, source)


def snapshot_from_file(data):
    """Inverse of snapshot_for_file; a snapshot with plain vm_jobs passes unchanged."""
    if "vm_job_groups" in data:
        data = dict(data)
        data["vm_jobs"] = expand_jobs(data.pop("vm_job_groups"))
    return data


def maintenance_windows(records, hypervisors):
    """{node: {start, reservation}}: the earliest MAINT reservation (scontrol show res records) on each of
    the hypervisors."""
    windows = {}
    wanted = set(hypervisors)
    for record in records:
        res = reservation_from_record(record)
        if "MAINT" not in res["flags"] or res["start"] is None:
            continue
        for node in wanted.intersection(res["nodes"]):
            if node not in windows or res["start"] < windows[node]["start"]:
                windows[node] = {"start": res["start"], "reservation": res["name"]}
    return windows


class SlurmSnapshotReader(object):
    """Reads the snapshot through `runner` (common/runner.py's interface)."""

    def __init__(self, runner, vm_slurm_conf, host_slurm_conf):
        self.runner = runner
        self.vm_conf = vm_slurm_conf
        self.host_conf = host_slurm_conf
        self.calls = []

    def _call(self, argv, conf, ok_texts=()):
        started = time.time()
        result = self.runner.run(argv, env={"SLURM_CONF": conf})
        self.calls.append({"argv": argv, "seconds": round(time.time() - started, 4)})
        if result.rc != 0 and not any(t in result.output for t in ok_texts):
            raise SnapshotError("%s failed (rc %s): %s" % (" ".join(argv), result.rc,
                                                           (result.stderr or result.stdout).strip()),
                                cmd=argv, rc=result.rc, stdout=result.stdout, stderr=result.stderr)
        return result.stdout

    def read(self, pool_hosts, now=None):
        """The snapshot dict. pool_hosts: every pool hostname (for the host-job names)."""
        now = int(time.time()) if now is None else int(now)
        vm_jobs = parse_squeue(self._call(
            ["squeue", "-h", "-a", "-r", "-t", _JOB_STATES, "-o", VM_SQUEUE_FORMAT],
            self.vm_conf), VM_JOB_FIELDS)
        nodes = parse_nodes(self._call(["scontrol", "-F", "-o", "show", "node"], self.vm_conf))
        reservations = parse_reservations(self._call(
            ["scontrol", "-o", "show", "reservation"], self.vm_conf, ok_texts=("No reservations",)))
        host_jobs = {}
        if pool_hosts:
            names = ",".join(host_job_name(h) for h in sorted(pool_hosts))
            for job in parse_squeue(self._call(
                    ["squeue", "-h", "-a", "-t", _JOB_STATES, "--name", names,
                     "-o", HOST_SQUEUE_FORMAT], self.host_conf), SNAPSHOT_HOST_JOB_FIELDS):
                vm = host_of_job(job["name"])
                job["hypervisor"] = job["nodelist"] or None
                # Two host jobs for one VM is a fault the reconciler reports; keep the oldest.
                if vm not in host_jobs or int(job["id"]) < int(host_jobs[vm]["id"]):
                    host_jobs[vm] = job
        hypervisors, maintenance = self._hypervisors(host_jobs)
        return {
            "time": now,
            "vm_jobs": vm_jobs,
            "nodes": nodes,
            "reservations": reservations,
            "host_jobs": host_jobs,
            "hypervisors": hypervisors,
            "maintenance": maintenance,
        }

    def _hypervisors(self, host_jobs):
        """({node: {state, flags, reason}}, {node: {start, reservation}}) of the host-cluster nodes that
        run host jobs: their state, and the earliest MAINT reservation on each."""
        names = sorted({job["hypervisor"] for job in host_jobs.values() if job.get("hypervisor")})
        if not names:
            return {}, {}
        states = parse_nodes(self._call(["scontrol", "-F", "-o", "show", "node", ",".join(names)], self.host_conf))
        hypervisors = {name: {"state": node["state"], "flags": node["flags"], "reason": node.get("reason")}
                       for name, node in states.items() if name in names}
        text = self._call(["scontrol", "-o", "show", "reservation"], self.host_conf, ok_texts=("No reservations",))
        return hypervisors, maintenance_windows(parse_reservation_records(text), names)
