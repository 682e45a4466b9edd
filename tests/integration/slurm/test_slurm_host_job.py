# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""slurm_host_job against the lab's host cluster: submit, keep (never doubled), cancel, bad input."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import uuid

from ..conftest import wait_until
from .ansible_runner import run_module

SCRIPT = "#!/bin/sh\ntrap 'exit 0' TERM\nsleep 300 &\nwait\n"


def squeue(lab, name):
    out = lab.run(["squeue", "-h", "--name=" + name, "-o", "%i|%T"], cluster="host").stdout.split()
    return [line.split("|") for line in out]


def test_submit_keep_cancel(lab):
    host = "hjtest-%s" % uuid.uuid4().hex[:6]
    conf = lab.conf["host"]
    args = dict(slurm_conf=conf, partition="hosts", jobs=[{"hostname": host, "script": SCRIPT, "time_limit": "5:00",
                                                          "comment": "hpc.slurm_vm test"}])
    try:
        check = run_module("slurm_host_job", args, check=True)
        assert not check.failed and check.changed and check["jobs"][0]["action"] == "submitted", check
        assert squeue(lab, "hpcvm:" + host) == []
        first = run_module("slurm_host_job", dict(args, wait=20))
        assert not first.failed and first.changed, first
        # with wait, the job's state comes back, and once it runs its hypervisor and times (5:00 limit)
        started = first["jobs"][0]
        assert started["state"] in ("RUNNING", "PENDING"), first
        if started["state"] == "RUNNING":
            assert started["node"].startswith("hv") and started["end"] - started["start"] == 300, first
        job_id = first["jobs"][0]["job_id"]
        assert [j[0] for j in squeue(lab, "hpcvm:" + host)] == [job_id]
        again = run_module("slurm_host_job", args)
        kept = again["jobs"][0]
        assert not again.changed and (kept["hostname"], kept["job_id"], kept["action"]) == (host, job_id, "kept"), again
        assert kept["state"] in ("PENDING", "RUNNING"), again
        assert len(squeue(lab, "hpcvm:" + host)) == 1
        gone = run_module("slurm_host_job", dict(slurm_conf=conf, jobs=[{"hostname": host}], state="absent"))
        assert gone.changed and gone["jobs"][0] == {"hostname": host, "job_id": job_id, "action": "cancelled"}, gone
        wait_until(lambda: not [j for j in squeue(lab, "hpcvm:" + host) if j[1] != "COMPLETING"], 30,
                   what="the host job to end")
    finally:
        lab.run(["scancel", "--name=hpcvm:" + host], cluster="host", check=False)


def test_a_refused_job_is_reported_not_fatal_and_others_go_on(lab):
    hosts = ["hjtest-%s-%d" % (uuid.uuid4().hex[:6], index) for index in range(2)]
    conf = lab.conf["host"]
    jobs = [{"hostname": hosts[0], "script": SCRIPT, "time_limit": "5:00"},
            {"hostname": hosts[1], "script": "not a batch script: no shebang", "time_limit": "5:00"}]
    try:
        result = run_module("slurm_host_job", dict(slurm_conf=conf, partition="hosts", jobs=jobs))
        assert not result.failed, result
        assert [j["action"] for j in result["jobs"]] == ["submitted", "failed"]
        assert result["failed_jobs"][0]["hostname"] == hosts[1] and "sbatch failed" in result["failed_jobs"][0]["msg"]
        strict = run_module("slurm_host_job", dict(slurm_conf=conf, partition="hosts", jobs=jobs[1:],
                                                   fail_on_error=True))
        assert strict.failed and "refused 1 host job" in strict["msg"]
    finally:
        for host in hosts:
            lab.run(["scancel", "--name=hpcvm:" + host], cluster="host", check=False)


def test_bad_input_changes_nothing(lab):
    result = run_module("slurm_host_job", dict(slurm_conf=lab.conf["host"], jobs=[{"hostname": "Bad_Name",
                                                                                   "script": SCRIPT}]))
    assert result.failed and "invalid hostname" in result["msg"]
    missing = run_module("slurm_host_job", dict(slurm_conf="/nonexistent/slurm.conf", jobs=[{"hostname": "x"}],
                                                state="absent"))
    assert missing.failed and "does not exist" in missing["msg"]
