# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drift between the image table and the running slurmctld: said in the plan, the metrics and the jobs'
comments, and no VM of a drifted image is spawned (the INVALID_REG loop never starts)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import config_drift
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import planner as vm_planner
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import run_report
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import parse
from ansible_collections.hpc.slurm_vm.tests.unit.plugins.module_utils.scheduler.test_planner import build

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "slurm", "fixtures", "snapshot")
# The lab's deb12 entry, which the captured scontrol output was rendered from (CPUs=1 RealMemory=448 Gres=vm_deb12:1)
LAB = {"gres": "vm_deb12", "pool": "vm-deb12-[001-008]", "memory_mb": 512, "vcpus": 1,
       "network": {"bridge": "br-hpcvm", "subnet": "10.77.0.0/16", "ip_offset": 256, "mac_prefix": "52:54:00:77:01"}}


def captured_nodes():
    with open(os.path.join(FIXTURES, "scontrol_show_node.txt")) as handle:
        return parse.snapshot_nodes(handle.read())


def test_the_table_slurm_ran_with_has_no_drift():
    image = image_table.normalize_table({"deb12": LAB})["deb12"]
    assert config_drift.image_drift(image, captured_nodes()) == []


def test_vcpus_changed_in_the_table_only_is_drift_on_every_pool_node():
    image = image_table.normalize_table({"deb12": dict(LAB, vcpus=4, gres_count=4)})["deb12"]
    drift = config_drift.image_drift(image, captured_nodes())
    assert [(d["field"], d["slurm"], d["table"]) for d in drift] == [("CPUs", 1, 4), ("Gres", 1, 4)]
    assert {d["hosts"] for d in drift} == {"vm-deb12-[001-008]"}
    assert "slurm.conf says CPUs=1 where the image table says vcpus 4" in config_drift.describe(drift)


def test_a_drifted_image_spawns_nothing_and_says_why_everywhere():
    snapshot, images, history = build({"jobs": [[1, "a", 1, 1, 600, -60, "Resources"]]})
    for host in images["a"]["hosts"]:
        snapshot["nodes"][host].update(cpus=4, real_memory=images["a"]["real_memory_mb"])
    result = vm_planner.plan(snapshot, images, history=history)
    assert result["spawn"] == []
    summary = result["images"]["a"]
    assert "drift between slurm.conf and the image table" in summary["limited_by"]
    assert summary["drift"][0]["field"] == "CPUs" and summary["drift"][0]["slurm"] == 4
    assert "slurm.conf says CPUs=4 where the image table says vcpus 1" in result["preview"]
    comment = [c["comment"] for c in result["job_comments"] if "1" in c["jobs"]][0]
    assert "slurm.conf says CPUs=4" in comment
    lines = run_report.prometheus_text(run_report.run_summary(result, [], 0, 0)).splitlines()
    assert 'hpc_slurm_vm_config_drift{image="a",field="CPUs"} 1' in lines
    assert 'hpc_slurm_vm_config_drift{image="b",field="CPUs"} 0' in lines
    # once slurm.conf agrees again (scontrol reconfigure), the VM is spawned and the comment goes
    for host in images["a"]["hosts"]:
        snapshot["nodes"][host]["cpus"] = images["a"]["vcpus"]
    snapshot["vm_jobs"][0]["comment"] = comment
    again = vm_planner.plan(snapshot, images, history=history)
    assert [s["hostname"] for s in again["spawn"]] == ["vm-a-001"]
    assert again["job_comments"] == [{"comment": "", "jobs": ["1"]}]
