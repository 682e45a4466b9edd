# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""squeue's job lines: one parser over declared field lists, on output captured from the lab (Slurm 22.05)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import parse_squeue as squeue
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.parse import UnexpectedOutput
from ansible_collections.hpc.slurm_vm.tests.unit.plugins.module_utils.slurm.slurm_replay import snapshot_fixture


def test_squeue_formats_are_declared_field_lists():
    assert squeue.squeue_format(squeue.HOST_JOB_FIELDS) == "%i|%j|%T|%N|%S|%e"
    assert squeue.squeue_format(squeue.JOB_FIELDS) == "%i|%T|%r|%b|%D|%N|%l|%V|%S|%e|%u|%P|%f|%j"


def test_host_jobs_and_snapshot_jobs_come_from_the_same_parser():
    jobs = squeue.parse_squeue(snapshot_fixture("squeue_host.txt"), squeue.SNAPSHOT_HOST_JOB_FIELDS)
    job = [j for j in jobs if j["name"] == "hpcvm:vm-disk-004"][0]
    as_host_format = "|".join((job["id"], job["name"], job["state"], job["nodelist"],
                               "2026-11-25T22:21:43", "2026-11-25T22:31:43"))
    found = squeue.parse_host_jobs(as_host_format)
    assert found == {"vm-disk-004": [{"job_id": job["id"], "state": "RUNNING", "node": "hv01",
                                      "start": job["start"], "end": job["end"]}]}


def test_a_separator_in_a_job_name_does_not_shift_the_fields():
    text = ("5|someone|else|RUNNING|hv01|2026-11-26T01:43:35|2026-11-26T05:43:35\n"
            "6|hpcvm:vm-a-001|RUNNING|hv02|2026-11-26T01:43:35|2026-11-26T05:43:35\n")
    jobs = squeue.parse_squeue(text, squeue.HOST_JOB_FIELDS)
    assert jobs[0]["name"] == "someone|else" and jobs[0]["state"] == "RUNNING" and jobs[0]["nodelist"] == "hv01"
    assert sorted(squeue.parse_host_jobs(text)) == ["vm-a-001"]


def test_a_line_that_does_not_fit_is_an_error():
    with pytest.raises(UnexpectedOutput):
        squeue.parse_squeue("7|RUNNING|hv01", squeue.HOST_JOB_FIELDS)
    with pytest.raises(UnexpectedOutput):
        squeue.parse_squeue("7|PENDING|None")


def test_pending_host_jobs_have_no_times_yet():
    found = squeue.parse_host_jobs("100083|hpcvm:vm-deb12-002|PENDING||2026-11-26T02:00:00|2026-11-26T03:00:00\n")
    assert found["vm-deb12-002"] == [{"job_id": "100083", "state": "PENDING", "node": None, "start": None,
                                      "end": None}]
