# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""VMs hidden by a slurmctld restart, on outputs captured from the lab's real Slurm 22.05
right after the VM cluster's slurmctld was restarted under a running VM: vm-deb12-001 is
FUTURE again with SlurmdStartTime=None, its job 440 still RUNNING on it, its host job
100319 RUNNING on hv01."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import reconcile as reconcile_plan
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import snapshot as slurm_snapshot
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import planner as vm_planner
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import vm_state

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "slurm", "fixtures", "snapshot")
HOST = "vm-deb12-001"
IMAGES = image_table.normalize_table({"deb12": {
    "gres": "vm_deb12", "pool": "vm-deb12-[001-008]", "memory_mb": 512,  # the lab's table the fixtures ran with
    "network": {"bridge": "br-hpcvm", "subnet": "10.77.0.0/16", "ip_offset": 256, "mac_prefix": "52:54:00:77:01"},
    "rules": {"boot_timeout": 180, "idle_timeout": 300, "lifetime": 14400}}})


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def snapshot(with_vm_job=True, minutes_later=10):
    host_jobs = {}
    fields = slurm_snapshot.SNAPSHOT_HOST_JOB_FIELDS
    for job in slurm_snapshot.parse_squeue(fixture("after_restart_squeue_host.txt"), fields):
        job["hypervisor"] = job["nodelist"]
        host_jobs[job["name"][len("hpcvm:"):]] = job
    vm_jobs = slurm_snapshot.parse_squeue(fixture("after_restart_squeue_vm.txt"),
                                          slurm_snapshot.VM_JOB_FIELDS) if with_vm_job else []
    return {"time": host_jobs[HOST]["start"] + 60 * minutes_later, "vm_jobs": vm_jobs,
            "nodes": slurm_snapshot.parse_nodes(fixture("after_restart_scontrol_show_node.txt")),
            "reservations": {}, "host_jobs": host_jobs}


def test_the_captured_restart_looks_like_a_vm_still_booting():
    snap = snapshot()
    node = snap["nodes"][HOST]
    assert (node["state"], node["slurmd_start"], node["registered"]) == ("FUTURE", None, False)
    assert snap["host_jobs"][HOST]["state"] == "RUNNING" and snap["host_jobs"][HOST]["id"] == "100319"


def test_a_job_running_on_the_node_is_evidence():
    snap = snapshot()
    busy = vm_state.hosts_with_jobs(snap["vm_jobs"])
    assert busy == {HOST}
    why = vm_state.hidden_reason(HOST, snap["nodes"][HOST], snap["host_jobs"][HOST], busy, {})
    assert why == "VM-cluster jobs still run on it"


@pytest.mark.parametrize("registered,hidden", [
    ({HOST: "100319"}, True),    # an earlier run saw it registered under this host job
    ({HOST: "100200"}, False),   # under an earlier host job: this VM may still be booting
    ({}, False),
])
def test_the_registered_memory_is_evidence_for_an_idle_vm(registered, hidden):
    snap = snapshot(with_vm_job=False)
    why = vm_state.hidden_reason(HOST, snap["nodes"][HOST], snap["host_jobs"][HOST], set(), registered)
    assert bool(why) is hidden, why


def test_nodelists_are_expanded_and_pending_jobs_ignored():
    jobs = [{"state": "RUNNING", "nodelist": "vm-deb12-[002-003]"}, {"state": "PENDING", "nodelist": ""},
            {"state": "COMPLETING", "nodelist": "vm-disk-001"}, {"state": "PENDING", "nodelist": "vm-deb12-008"}]
    assert vm_state.hosts_with_jobs(jobs) == {"vm-deb12-002", "vm-deb12-003", "vm-disk-001"}


def test_the_planner_keeps_a_hidden_vm_past_boot_timeout_and_lists_it_for_resume():
    result = vm_planner.plan(snapshot(with_vm_job=False), IMAGES, registered={HOST: "100319"})
    assert result["teardown"] == [] and result["start"] == []
    assert [(r["hostname"], r["host_job_id"], r["hypervisor"]) for r in result["resume"]] == [(HOST, "100319", "hv01")]
    assert result["images"]["deb12"]["vms"]["hidden"] == 1
    assert result["registered"] == {HOST: "100319"}  # kept for the next run
    assert "resume  deb12  vm-deb12-001" in result["preview"]


def test_without_evidence_the_planner_still_ends_a_vm_that_never_registered():
    result = vm_planner.plan(snapshot(with_vm_job=False), IMAGES, registered={})
    assert [(t["hostname"], t["step"]) for t in result["teardown"]] == [(HOST, "end_host_job")]
    assert result["teardown"][0]["reason"].startswith("boot_timeout")
    assert result["resume"] == [] and result["registered"] == {}


def reconcile(snap, **inputs):
    return reconcile_plan.plan(reconcile_plan.ReconcileInputs(snap, IMAGES, snapshot()["time"], 0, **inputs))


def test_the_reconciler_resumes_on_the_same_evidence_once_the_domain_runs():
    guests = {"hv01": [{"name": HOST, "state": "running", "ours": True, "metadata": {}}]}
    result = reconcile(snapshot(), domains=guests)
    assert [r["hostname"] for r in result["resume"]] == [HOST]
    assert "VM-cluster jobs still run on it" in result["resume"][0]["reason"]
    idle = reconcile(snapshot(with_vm_job=False), domains=guests, registered={HOST: "100319"})
    assert [r["hostname"] for r in idle["resume"]] == [HOST]
    assert reconcile(snapshot(with_vm_job=False), domains=guests, registered={})["resume"] == []
    assert reconcile(snapshot(), domains={"hv01": []})["resume"] == []


@pytest.mark.parametrize("with_vm_job,spawn", [(False, 0), (True, 1)])
def test_a_hidden_idle_vm_serves_a_pending_job_a_busy_one_does_not(with_vm_job, spawn):
    snap = snapshot(with_vm_job=with_vm_job)
    pending = dict(snap["vm_jobs"][0]) if with_vm_job else dict(
        slurm_snapshot.parse_squeue(fixture("after_restart_squeue_vm.txt"), slurm_snapshot.VM_JOB_FIELDS)[0])
    pending.update({"id": "441", "state": "PENDING", "reason": "Resources", "nodelist": "", "start": None})
    snap["vm_jobs"] = snap["vm_jobs"] + [pending]
    result = vm_planner.plan(snap, IMAGES, registered={HOST: "100319"})
    assert len(result["spawn"]) == spawn, result["preview"]
    assert [r["hostname"] for r in result["resume"]] == [HOST]
