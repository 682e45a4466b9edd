# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_reconcile_plan: the memory file across runs, check mode, clear failures."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.hpc.slurm_vm.plugins.modules import vm_reconcile_plan

IMAGES = {"a": {"pool": "vm-a-[001-002]",
                "network": {"bridge": "br0", "subnet": "10.77.0.0/16", "ip_offset": 256,
                            "mac_prefix": "52:54:00:77:01"}}}
FUTURE = {"state": "FUTURE", "flags": [], "reason": "", "registered": False, "boot_time": None, "slurmd_start": None,
          "last_busy": None, "gres": "vm_a:1", "features": "", "alloc_cpus": 0}
MARKED = {"name": "vm-a-002.vms.lab.test.", "label": "vm-a-002", "zone": "vms.lab.test.", "owned": True,
          "mark": {"vm": "vm-a-002", "image": "a", "job": "claimed"}, "records": {"A": ["10.77.1.2"]}}


def _args(state_dir, **extra):
    snapshot = {"time": 100, "vm_jobs": [], "host_jobs": {}, "reservations": {},
                "nodes": {"vm-a-001": dict(FUTURE), "vm-a-002": dict(FUTURE)}}
    args = {"snapshot": snapshot, "images": IMAGES, "state_dir": str(state_dir), "dns_names": [MARKED],
            "dns_zone": "vms.lab.test", "files": {"hv01": [{"path": "/g/vm-a-001.tmp"}, "/g/unrelated.tmp"]}}
    args.update(extra)
    return args


def test_check_mode_plans_but_writes_no_memory(run_module, tmp_path):
    kind, result = run_module(vm_reconcile_plan.main, dict(_args(tmp_path / "s", grace=0), _ansible_check_mode=True))
    assert kind == "exit", result
    assert [(i["kind"], i["hostname"]) for i in result["remove"]] == [("file", "vm-a-001"), ("dns", "vm-a-002")]
    assert result["changed"] is True  # the memory would be written
    assert not (tmp_path / "s").exists()


def test_memory_file_carries_the_grace_clock(run_module, tmp_path):
    kind, first = run_module(vm_reconcile_plan.main, _args(tmp_path, grace=3600))
    assert kind == "exit", first
    assert first["remove"] == [] and len(first["waiting"]) == 2 and first["changed"] is True
    memory = json.loads((tmp_path / "reconcile-first-seen.json").read_text())
    assert sorted(memory["first_seen"]) == sorted(i["key"] for i in first["waiting"])
    # pretend the records were first seen two hours ago
    memory["first_seen"] = {k: v - 7200 for k, v in memory["first_seen"].items()}
    (tmp_path / "reconcile-first-seen.json").write_text(json.dumps(memory))
    kind, second = run_module(vm_reconcile_plan.main, _args(tmp_path, grace=3600))
    assert [i["kind"] for i in second["remove"]] == ["file", "dns"]
    assert all("orphaned for 2h00m, grace 60m" in i["reason"] for i in second["remove"])
    assert len(second["lines"]) == 2
    kind, third = run_module(vm_reconcile_plan.main, _args(tmp_path, grace=3600))
    assert third["changed"] is False  # same memory as before: the file is left as it is


def test_records_gone_are_forgotten(run_module, tmp_path):
    run_module(vm_reconcile_plan.main, _args(tmp_path, grace=3600))
    kind, result = run_module(vm_reconcile_plan.main, _args(tmp_path, grace=3600, dns_names=[], files={"hv01": []}))
    assert kind == "exit" and result["first_seen"] == {} and result["changed"] is True
    assert json.loads((tmp_path / "reconcile-first-seen.json").read_text())["first_seen"] == {}


def test_corrupt_memory_fails_clearly(run_module, tmp_path):
    (tmp_path / "reconcile-first-seen.json").write_text("{not json")
    kind, result = run_module(vm_reconcile_plan.main, _args(tmp_path))
    assert kind == "fail"
    assert "cannot read the reconciler's memory" in result["msg"]


def test_malformed_inputs_fail_clearly(run_module, tmp_path):
    kind, result = run_module(vm_reconcile_plan.main, _args(tmp_path, files={"hv01": "not-a-list"}))
    assert kind == "fail" and "files[hv01] must be a list" in result["msg"]
    kind, result = run_module(vm_reconcile_plan.main, _args(tmp_path, dns_names=[{"owned": True}]))
    assert kind == "fail" and "a reconciler input is malformed" in result["msg"]
    kind, result = run_module(vm_reconcile_plan.main, _args(tmp_path, grace=-5))
    assert kind == "fail" and "grace period" in result["msg"]
