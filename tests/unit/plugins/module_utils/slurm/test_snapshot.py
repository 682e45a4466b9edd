# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The snapshot reader, on outputs captured from the lab's real Slurm 22.05."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import parse
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import snapshot as snap
from ansible_collections.hpc.slurm_vm.tests.unit.plugins.module_utils.slurm.slurm_replay import (
    SnapshotReplayRunner,
    snapshot_fixture as fixture,
)


def fake_runner(outputs, stderr=""):
    return SnapshotReplayRunner(outputs, stderr)


def test_read_takes_six_calls_and_parses_everything():
    run = fake_runner({
        ("squeue", "vm.conf"): (0, "squeue_vm.txt"),
        ("scontrol", "node"): (0, "scontrol_show_node.txt"),
        ("scontrol", "reservation"): (0, "scontrol_show_res.txt"),
        ("squeue", "host.conf"): (0, "squeue_host.txt"),
        ("scontrol", "hv01"): (0, "host_scontrol_show_node_hv01.txt"),
        ("scontrol", "reservation", "host.conf"): (1, "scontrol_show_res_none.txt"),
    })
    reader = snap.SlurmSnapshotReader(run, "vm.conf", "host.conf")
    result = reader.read(["vm-disk-003", "vm-disk-004"], now=1)
    assert len(run.calls) == 6  # the last two: the hypervisors' states and maintenance, on the host cluster
    assert run.calls[3][0][run.calls[3][0].index("--name") + 1] == "hpcvm:vm-disk-003,hpcvm:vm-disk-004"
    jobs = {j["id"]: j for j in result["vm_jobs"]}
    assert jobs["10"]["reason"] == "ReqNodeNotAvail, May be reserved for other job"
    assert jobs["10"]["gres"] == {"vm_deb12": 1}
    assert jobs["10"]["time_limit"] == 1800
    assert len(result["nodes"]) == 12
    assert result["nodes"]["vm-deb12-001"]["state"] == "FUTURE"
    assert result["nodes"]["vm-deb12-001"]["registered"] is False
    assert result["reservations"]["hpcvm-vm-disk-004"]["nodes"] == "vm-disk-004"
    host_job = result["host_jobs"]["vm-disk-004"]
    assert host_job["state"] == "RUNNING" and host_job["hypervisor"] == "hv01" and host_job["time_limit"] == 600
    assert host_job["end"] - host_job["start"] == 600
    assert host_job["comment"] == "hpc.slurm_vm image=disk vm=vm-disk-004" and host_job["name"] == "hpcvm:vm-disk-004"
    assert run.calls[4][0][-1] == "hv01" and run.calls[4][1] == "host.conf"  # only the hypervisors of host jobs
    assert result["hypervisors"] == {"hv01": {"state": "IDLE", "flags": [], "reason": ""}}
    assert result["maintenance"] == {}


def test_no_reservations_is_not_an_error():
    assert snap.parse_reservations(fixture("scontrol_show_res_none.txt")) == {}
    run = fake_runner({
        ("squeue", "vm.conf"): (0, None), ("scontrol", "node"): (0, None),
        ("scontrol", "reservation"): (1, "scontrol_show_res_none.txt"),
    })
    assert snap.SlurmSnapshotReader(run, "vm.conf", "host.conf").read([])["reservations"] == {}


def test_a_failing_command_raises_with_details():
    run = fake_runner({("squeue", "vm.conf"): (1, None)},
                      stderr="slurm_load_jobs error: Unable to contact slurm controller (connect failure)")
    with pytest.raises(snap.SnapshotError) as err:
        snap.SlurmSnapshotReader(run, "vm.conf", "host.conf").read([])
    assert "Unable to contact slurm controller" in str(err.value)
    assert err.value.details["rc"] == 1


def test_node_values_with_spaces():
    # slurm/parse.py reads the line; Reason is the last field of a node line
    line = ("NodeName=n1 OS=Linux 6.1 #1 SMP @0  RealMemory=10 State=IDLE+DRAIN SlurmdStartTime=2026-11-25T21:59:00 "
            "BootTime=2026-11-25T21:58:00 Reason=VM gone = done [root@2026-11-25T22:00:00]")
    node = snap.parse_nodes(line)["n1"]
    assert node["state"] == "IDLE" and node["flags"] == ["DRAIN"]
    assert node["reason"] == "VM gone = done"
    assert node["registered"] is True


def test_job_name_with_separator_stays_whole():
    line = "5|PENDING|Resources|gres:vm_x:2|2||1-00:00:00|2026-11-25T22:19:56|N/A|N/A|bob|vms|(null)|a|b c"
    job = snap.parse_squeue(line)[0]
    assert job["name"] == "a|b c" and job["gres"] == {"vm_x": 2} and job["num_nodes"] == 2
    assert job["time_limit"] == 86400


def test_vm_job_comment_is_the_free_field_and_null_is_empty():
    line = "6|PENDING|Resources|gres:vm_x:1|1||10:00|2026-11-25T22:19:56|N/A|N/A|bob|vms|(null)|%s"
    jobs = snap.parse_squeue("\n".join([line % "(null)", line.replace("6|", "7|", 1) % "mine | yours"]),
                             snap.VM_JOB_FIELDS)
    assert [j["comment"] for j in jobs] == ["", "mine | yours"]
    assert "name" not in jobs[0]


def test_a_format_holds_one_free_text_field():
    with pytest.raises(ValueError, match="one free-text field"):
        snap.parse_squeue("1|a|b", ("id", "name", "comment"))


def test_parse_time_is_local_time():
    assert parse.parse_time("2026-11-25T22:19:56") == int(time.mktime((2026, 11, 25, 22, 19, 56, 0, 0, -1)))
    assert parse.parse_time("N/A") is None and parse.parse_time("None") is None


def test_array_tasks_parse_once_and_round_trip_through_the_file_form():
    line = "%d|PENDING|Resources|gres:vm_deb12:1|1||30:00|2026-11-25T22:19:56|N/A|N/A|root|vms|(null)|(null)"
    held = "7|PENDING|JobHeldUser|gres:vm_disk:1|1||10:00|N/A|N/A|N/A|u|vms|(null)|x"
    text = "\n".join(line % (100 + i) for i in range(500)) + "\n" + held
    jobs = snap.parse_squeue(text, snap.VM_JOB_FIELDS)
    assert [j["id"] for j in jobs[:2]] == ["100", "101"] and jobs[-1]["id"] == "7"
    assert jobs[0]["gres"] == {"vm_deb12": 1} and jobs[-1]["reason"] == "JobHeldUser"
    snapshot = {"time": 1, "vm_jobs": jobs, "nodes": {}, "reservations": {}, "host_jobs": {}}
    on_file = snap.snapshot_for_file(snapshot)
    assert len(on_file["vm_job_groups"]) == 2 and "vm_jobs" not in on_file
    assert snap.snapshot_from_file(on_file) == snapshot
    assert snap.snapshot_from_file(snapshot) == snapshot


def test_a_drained_hypervisor_and_its_maintenance_reservation_are_read():
    """Captured by tests/e2e/test_hypervisor_drain.py (HPCVM_CAPTURE_DIR): hv01 drained for maintenance with a
    MAINT reservation an hour ahead, while VMs run on hv01 and hv02."""
    run = fake_runner({
        ("squeue", "vm.conf"): (0, "squeue_vm.txt"),
        ("scontrol", "node"): (0, "scontrol_show_node.txt"),
        ("scontrol", "reservation"): (0, "hypervisor_drain_scontrol_show_res.txt"),
        ("squeue", "host.conf"): (0, "hypervisor_drain_squeue_host.txt"),
        ("scontrol", "hv01,hv02"): (0, "hypervisor_drain_host_scontrol_show_node.txt"),
        ("scontrol", "reservation", "host.conf"): (0, "hypervisor_drain_host_scontrol_show_res.txt"),
    })
    result = snap.SlurmSnapshotReader(run, "vm.conf", "host.conf").read(["vm-deb12-001", "vm-deb12-002"], now=1)
    assert run.calls[4][0][-1] == "hv01,hv02"
    jobs = result["host_jobs"]
    assert jobs["vm-deb12-001"]["comment"] == "hpc.slurm_vm image=deb12 vm=vm-deb12-001 version=378a01e4b89e"
    assert jobs["vm-deb12-002"]["hypervisor"] == "hv02"
    assert result["hypervisors"]["hv01"] == {"state": "ALLOCATED", "flags": ["DRAIN"], "reason": "e2e maintenance"}
    maint = result["maintenance"]
    assert list(maint) == ["hv01"] and maint["hv01"]["reservation"] == "e2e-maint"
    assert maint["hv01"]["start"] == parse.parse_time("2026-12-02T18:16:25")
    assert result["reservations"]["hpcvm-vm-deb12-001"]["ours"] is True


def test_the_planner_drains_the_vm_of_the_captured_drained_hypervisor_and_moves_its_reservation():
    import os
    import yaml
    from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
    from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import planner
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "..", "..", "..", "..", "inventories", "lab", "group_vars", "all",
                           "images.yml")) as handle:
        images = image_table.normalize_table(yaml.safe_load(handle)["slurm_vm_images"])
    run = fake_runner({
        ("squeue", "vm.conf"): (0, "squeue_vm.txt"), ("scontrol", "node"): (0, "scontrol_show_node.txt"),
        ("scontrol", "reservation"): (0, "hypervisor_drain_scontrol_show_res.txt"),
        ("squeue", "host.conf"): (0, "hypervisor_drain_squeue_host.txt"),
        ("scontrol", "hv01,hv02"): (0, "hypervisor_drain_host_scontrol_show_node.txt"),
        ("scontrol", "reservation", "host.conf"): (0, "hypervisor_drain_host_scontrol_show_res.txt"),
    })
    now = parse.parse_time("2026-12-02T17:16:30")
    snapshot = snap.SlurmSnapshotReader(run, "vm.conf", "host.conf").read(["vm-deb12-001", "vm-deb12-002"], now=now)
    plan = planner.plan(snapshot, images)
    hv01 = [t for t in plan["teardown"] if t["hostname"] == "vm-deb12-001"]
    assert hv01 and "hypervisor hv01 out of service in the host cluster (ALLOCATED+DRAIN: e2e maintenance)" in (
        hv01[0]["reason"])
    assert [t["hostname"] for t in plan["teardown"]] == ["vm-deb12-001"]  # hv02's VM stays
    reserve = {r["hostname"]: r["start"] for r in plan["reserve"]}
    assert reserve == {"vm-deb12-001": parse.parse_time("2026-12-02T18:16:25") - 70}
