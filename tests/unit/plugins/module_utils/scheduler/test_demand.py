# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What counts as demand: pending jobs a new VM could start, read from captured squeue output."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import demand
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import snapshot as snap
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.parse import parse_time

SNAPSHOT_FIXTURES = os.path.join(os.path.dirname(__file__), "..", "slurm", "fixtures", "snapshot")


def test_a_held_job_is_not_demand_and_a_waiting_one_is():
    with open(os.path.join(SNAPSHOT_FIXTURES, "squeue_vm.txt")) as handle:
        jobs = {j["id"]: j for j in snap.parse_squeue(handle.read(), snap.VM_JOB_FIELDS)}
    assert jobs["12"]["reason"].startswith("JobHeld")
    assert demand.is_demand(jobs["10"]) and not demand.is_demand(jobs["12"])


# squeue lines in the snapshot's format with the state, reason, submit (%V) and start (%S) that the lab's
# host cluster showed for a job requeued after its node failed (hv04's slurmd SIGKILLed): Reason=None and
# a start 121 s after the requeue until the next scheduling pass, then BeginTime; and a plain new job.
TAIL = "|N/A|1||5:00|2026-11-26T04:31:48|2026-11-26T04:33:49|N/A|root|hosts|(null)|rq"
REQUEUED_BEFORE_PASS = "100336|PENDING|None" + TAIL
REQUEUED_AFTER_PASS = "100336|PENDING|BeginTime" + TAIL
NEW_JOB = "100337|PENDING|None|N/A|1||5:00|2026-11-26T04:31:50|N/A|N/A|root|hosts|(null)|new"


@pytest.mark.parametrize("line,seconds_after_requeue,is_demand", [
    (REQUEUED_BEFORE_PASS, 2, False),     # deferred: a VM spawned now would idle for two minutes
    (REQUEUED_BEFORE_PASS, 125, True),    # its begin time has come
    (REQUEUED_AFTER_PASS, 17, False),
    (NEW_JOB, 2, True),
])
def test_a_requeued_job_is_not_demand_before_its_begin_time(line, seconds_after_requeue, is_demand):
    job = snap.parse_squeue(line)[0]
    now = parse_time("2026-11-26T04:31:48") + seconds_after_requeue
    assert demand.is_demand(job, now) is is_demand
