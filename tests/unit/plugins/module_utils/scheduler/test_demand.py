# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What counts as demand: pending jobs a new VM could start, read from captured squeue output."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import demand
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import job_reasons
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import vm_state
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


# The captured squeue_vm.txt lines, and lines in the same format around them: a job that runs on two
# VMs, one with no gres, one with a gres no image provides, one with two gres, one with no submit
# time (N/A), a requeued one deferred to its begin time, and an older one on the second image.
QUEUE = "\n".join([
    "10|PENDING|ReqNodeNotAvail, May be reserved for other job|gres:vm_deb12:1|1||30:00|2026-11-25T22:19:56|N/A|"
    "N/A|root|vms|(null)|(null)",
    "12|PENDING|JobHeldUser|gres:vm_disk:1|1||20:00|2026-11-25T22:19:56|N/A|N/A|root|vms|(null)|(null)",
    "13|RUNNING|None|gres:vm_deb12:1|2|vm-deb12-[001-002]|30:00|2026-11-25T22:10:00|2026-11-25T22:11:00|"
    "2026-11-25T22:41:00|root|vms|(null)|(null)",
    "14|PENDING|Resources|(null)|1||10:00|2026-11-25T22:19:57|N/A|N/A|root|vms|(null)|(null)",
    "15|PENDING|Resources|gres:vm_old:1|1||10:00|2026-11-25T22:19:58|N/A|N/A|root|vms|(null)|(null)",
    "16|PENDING|Resources|gres:vm_disk:1,gres:vm_old:1|1||10:00|2026-11-25T22:19:59|N/A|N/A|root|vms|(null)|(null)",
    "17|PENDING|Priority|gres:vm_deb12:2|3||UNLIMITED|N/A|N/A|N/A|root|vms|(null)|(null)",
    "18|PENDING|None|gres:vm_deb12:1|1||5:00|2026-11-25T22:19:00|2026-11-25T22:40:00|N/A|root|vms|(null)|(null)",
    "19|PENDING|Resources|gres:vm_disk:1|1||10:00|2026-11-25T22:00:00|N/A|N/A|root|vms|(null)|(null)",
])
QUEUE_NOW = parse_time("2026-11-25T22:20:00")


def _queue_images():
    net = {"bridge": "br0", "subnet": "10.77.0.0/16"}
    return image_table.normalize_table({
        "deb12": {"pool": "vm-deb12-[001-004]", "network": dict(net, ip_offset=256, mac_prefix="52:54:00:77:01")},
        "disk": {"pool": "vm-disk-[001-002]", "gres_count": 2, "vcpus": 2,
                 "network": dict(net, ip_offset=512, mac_prefix="52:54:00:77:02")}})


def test_demand_records_are_demand_by_image_read_once_into_tuples():
    jobs = snap.parse_squeue(QUEUE, snap.VM_JOB_FIELDS)
    images = _queue_images()
    by_image = demand.demand_by_image(jobs, images, QUEUE_NOW)
    records = demand.demand_records(jobs, images, QUEUE_NOW)
    assert {name: [job["id"] for job in queue] for name, queue in by_image.items()} == {
        "deb12": ["17", "10"], "disk": ["19", "16"]}   # 17 has no submit time: first, as demand_by_image sorts it
    assert records == {name: [demand.demand_record(job, images[name], jobs.index(job)) for job in queue]
                       for name, queue in by_image.items()}
    assert records["deb12"][0] == ("17", 0, None, 2, 3, 6)   # 6: its place in the snapshot's vm_jobs
    assert records["disk"][1][demand.JOB_ID] == "16" and records["disk"][1][demand.UNITS] == 1


def test_demand_records_hand_back_every_job_the_planner_reads_again():
    # rest: the jobs that are not pending with one gres an image provides, in squeue's order; the busy
    # hosts and the unknown-gres reasons read from them alone are those read from the whole queue
    jobs = snap.parse_squeue(QUEUE, snap.VM_JOB_FIELDS)
    images = _queue_images()
    rest = []
    demand.demand_records(jobs, images, QUEUE_NOW, rest)
    assert [job["id"] for job in rest] == ["13", "14", "15", "16"]
    assert vm_state.hosts_with_jobs(rest) == vm_state.hosts_with_jobs(jobs) == {"vm-deb12-001", "vm-deb12-002"}
    assert (job_reasons.unknown_image_reasons(rest, images, QUEUE_NOW)
            == job_reasons.unknown_image_reasons(jobs, images, QUEUE_NOW)
            == {"15": "no VM image provides gres vm_old (known: vm_deb12,vm_disk)"})


def test_records_summary_is_demand_summary():
    jobs = snap.parse_squeue(QUEUE, snap.VM_JOB_FIELDS)
    images = _queue_images()
    by_image = demand.demand_by_image(jobs, images, QUEUE_NOW)
    records = demand.demand_records(jobs, images, QUEUE_NOW)
    for name in images:
        for max_ids in (None, 1):
            summary = demand.records_summary(records[name], QUEUE_NOW, max_ids)
            assert summary == demand.demand_summary(by_image[name], images[name], QUEUE_NOW, max_ids)
    assert demand.records_summary(records["deb12"], QUEUE_NOW) == {
        "pending_jobs": 2, "requested_units": 7, "oldest_wait": 4, "job_ids": ["17", "10"],
        "job_ids_truncated": False, "longest_time_limit": 1800}
    assert demand.requested_units(records["disk"]) == 2
    assert demand.records_summary([], QUEUE_NOW)["oldest_wait"] == 0
