# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import host_job
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.parse import parse_time
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.parse_squeue import parse_host_jobs

# squeue -h -o %i|%j|%T|%N|%S|%e as Slurm 22.05 prints it (a pending job shows its expected start or N/A)
SQUEUE = """100081|hpcvm:vm-deb12-001|RUNNING|hv01|2026-11-26T01:43:35|2026-11-26T05:43:35
100083|hpcvm:vm-deb12-002|PENDING||N/A|N/A
100084|someone-else|PENDING||2026-11-26T02:00:00|2026-11-26T03:00:00
100090|hpcvm:vm-deb12-003|COMPLETING|hv03|2026-11-26T01:00:00|2026-11-26T01:44:00
"""
OPTIONS = {"chdir": "/", "exclusive": True, "partition": "hosts", "signal_grace": 60, "output_dir": "/var/log/x/"}


def test_parse_squeue_keeps_our_jobs_by_host():
    found = parse_host_jobs(SQUEUE)
    assert sorted(found) == ["vm-deb12-001", "vm-deb12-002", "vm-deb12-003"]
    assert found["vm-deb12-001"] == [{"job_id": "100081", "state": "RUNNING", "node": "hv01",
                                      "start": parse_time("2026-11-26T01:43:35"),
                                      "end": parse_time("2026-11-26T05:43:35")}]
    assert found["vm-deb12-001"][0]["end"] - found["vm-deb12-001"][0]["start"] == 4 * 3600
    assert found["vm-deb12-002"][0]["node"] is None and found["vm-deb12-002"][0]["start"] is None


def test_present_submits_only_hosts_without_a_live_job():
    wanted = host_job.validate([{"hostname": h, "script": "#!/bin/sh\n"} for h in
                                ("vm-deb12-001", "vm-deb12-002", "vm-deb12-004")], "present")
    planned = host_job.plan(parse_host_jobs(SQUEUE), wanted, "present")
    assert planned["submit"] == ["vm-deb12-004"]
    assert sorted(planned["keep"]) == ["vm-deb12-001", "vm-deb12-002"]


def test_absent_cancels_every_live_job_of_the_hosts():
    wanted = host_job.validate([{"hostname": "vm-deb12-003"}, {"hostname": "vm-deb12-009"}], "absent")
    assert host_job.plan(parse_host_jobs(SQUEUE), wanted, "absent")["cancel"] == [("vm-deb12-003", "100090")]


def test_sbatch_argv_is_an_argv_with_the_ownership_name():
    argv = host_job.sbatch_argv({"hostname": "vm-a-001", "time_limit": "4:00:00", "comment": "image=a vm=vm-a-001"},
                                OPTIONS)
    assert argv == ["sbatch", "--parsable", "--job-name=hpcvm:vm-a-001", "--chdir=/", "--no-requeue", "--exclusive",
                    "--partition=hosts", "--time=4:00:00", "--signal=B:TERM@60", "--comment=image=a vm=vm-a-001",
                    "--output=/var/log/x/vm-a-001-%j.out"]


@pytest.mark.parametrize("jobs, message", [
    ([{"hostname": "VM-A-001", "script": "x"}], "invalid hostname"),
    ([{"hostname": "vm-a-001;rm", "script": "x"}], "invalid hostname"),
    ([{"hostname": "vm-a-001", "script": "x"}, {"hostname": "vm-a-001", "script": "x"}], "listed twice"),
    ([{"hostname": "vm-a-001"}], "has no script"),
    ([{"hostname": "vm-a-001", "script": "x", "time_limit": "4h"}], "invalid time_limit"),
    ([{"hostname": "vm-a-001", "script": "x", "time_limit": "UNLIMITED"}], "invalid time_limit"),
    ([{"hostname": "vm-a-001", "script": "x", "time_limit": " 90"}], "invalid time_limit"),
    ([{"hostname": "vm-a-001", "script": "x", "time_limit": "1:2:3:4"}], "invalid time_limit"),
    ([{"hostname": "vm-a-001", "script": "x", "comment": "a\nb"}], "spans lines"),
])
def test_bad_input_is_refused(jobs, message):
    with pytest.raises(InvalidInput, match=message):
        host_job.validate(jobs, "present")


@pytest.mark.parametrize("time_limit", ["90", "5:30", "4:00:00", "1-12", "1-12:00", "1-12:00:00"])
def test_every_form_sbatch_takes_for_time_is_a_time_limit(time_limit):
    job = {"hostname": "vm-a-001", "script": "x", "time_limit": time_limit}
    assert host_job.validate([job], "present") == {"vm-a-001": job}


class FakeClient(host_job.HostJobClient):
    """list() answers from a script of squeue outputs, one per call."""

    def __init__(self, outputs):
        super(FakeClient, self).__init__(None)
        self.outputs, self.calls = list(outputs), 0

    def list(self, hosts):
        self.calls += 1
        return parse_host_jobs(self.outputs[min(self.calls, len(self.outputs)) - 1])


def test_wait_started_polls_until_nothing_is_pending():
    pending = "7|hpcvm:vm-a-001|PENDING||N/A|N/A\n"
    running = "7|hpcvm:vm-a-001|RUNNING|hv02|2026-11-26T01:43:35|2026-11-26T05:43:35\n"
    client = FakeClient([pending, pending, running])
    found = client.wait_started(["vm-a-001"], timeout=30, clock=lambda: 0, sleep=lambda s: None)
    assert client.calls == 3 and found["vm-a-001"][0]["node"] == "hv02"


def test_wait_started_gives_up_at_the_timeout():
    ticks = iter(range(100))
    client = FakeClient(["7|hpcvm:vm-a-001|PENDING||N/A|N/A\n"])
    found = client.wait_started(["vm-a-001"], timeout=3, clock=lambda: next(ticks), sleep=lambda s: None)
    assert found["vm-a-001"][0]["state"] == "PENDING" and client.calls == 3
