# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils import host_job
from ansible_collections.hpc.slurm_vm.plugins.module_utils.errors import InvalidInput

# squeue -h -o %i|%j|%T|%N as Slurm 22.05 prints it (captured in the lab)
SQUEUE = """100081|hpcvm:vm-deb12-001|RUNNING|hv01
100083|hpcvm:vm-deb12-002|PENDING|
100084|someone-else|PENDING|
100090|hpcvm:vm-deb12-003|COMPLETING|hv03
"""
OPTIONS = {"chdir": "/", "exclusive": True, "partition": "hosts", "signal_grace": 60, "output_dir": "/var/log/x/"}


def test_parse_squeue_keeps_our_jobs_by_host():
    found = host_job.parse_squeue(SQUEUE)
    assert sorted(found) == ["vm-deb12-001", "vm-deb12-002", "vm-deb12-003"]
    assert found["vm-deb12-001"] == [{"job_id": "100081", "state": "RUNNING", "node": "hv01"}]
    assert found["vm-deb12-002"][0]["node"] is None


def test_present_submits_only_hosts_without_a_live_job():
    wanted = host_job.validate([{"hostname": h, "script": "#!/bin/sh\n"} for h in
                                ("vm-deb12-001", "vm-deb12-002", "vm-deb12-004")], "present")
    planned = host_job.plan(host_job.parse_squeue(SQUEUE), wanted, "present")
    assert planned["submit"] == ["vm-deb12-004"]
    assert sorted(planned["keep"]) == ["vm-deb12-001", "vm-deb12-002"]


def test_absent_cancels_every_live_job_of_the_hosts():
    wanted = host_job.validate([{"hostname": "vm-deb12-003"}, {"hostname": "vm-deb12-009"}], "absent")
    assert host_job.plan(host_job.parse_squeue(SQUEUE), wanted, "absent")["cancel"] == [("vm-deb12-003", "100090")]


def test_sbatch_argv_is_an_argv_with_the_ownership_name():
    argv = host_job.sbatch_argv({"hostname": "vm-a-001", "time_limit": "4:00:00", "comment": "image=a vm=vm-a-001"},
                                OPTIONS)
    assert argv == ["sbatch", "--parsable", "--job-name=hpcvm:vm-a-001", "--chdir=/", "--exclusive",
                    "--partition=hosts", "--time=4:00:00", "--signal=B:TERM@60", "--comment=image=a vm=vm-a-001",
                    "--output=/var/log/x/vm-a-001-%j.out"]


@pytest.mark.parametrize("jobs, message", [
    ([{"hostname": "VM-A-001", "script": "x"}], "invalid hostname"),
    ([{"hostname": "vm-a-001;rm", "script": "x"}], "invalid hostname"),
    ([{"hostname": "vm-a-001", "script": "x"}, {"hostname": "vm-a-001", "script": "x"}], "listed twice"),
    ([{"hostname": "vm-a-001"}], "has no script"),
    ([{"hostname": "vm-a-001", "script": "x", "time_limit": "4h"}], "invalid time_limit"),
    ([{"hostname": "vm-a-001", "script": "x", "comment": "a\nb"}], "spans lines"),
])
def test_bad_input_is_refused(jobs, message):
    with pytest.raises(InvalidInput, match=message):
        host_job.validate(jobs, "present")
