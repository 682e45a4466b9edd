# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.hpc.slurm_vm.plugins.modules import vm_plan

IMAGES = {"a": {"pool": "vm-a-[001-002]",
                "network": {"bridge": "br0", "subnet": "10.77.0.0/16", "ip_offset": 256,
                            "mac_prefix": "52:54:00:77:01"}}}
FUTURE = {"state": "FUTURE", "flags": [], "reason": "", "registered": False, "boot_time": None, "slurmd_start": None,
          "last_busy": None, "gres": "vm_a:1", "features": "", "alloc_cpus": 0}
JOB = {"id": "7", "name": "j", "user": "u", "partition": "vms", "state": "PENDING", "reason": "Resources",
       "gres": {"vm_a": 1}, "features": "", "num_nodes": 1, "nodelist": "", "time_limit": 600, "submit": 99,
       "start": None, "end": None}


def snapshot():
    return {"time": 100, "vm_jobs": [dict(JOB)], "host_jobs": {}, "reservations": {},
            "nodes": {"vm-a-001": dict(FUTURE), "vm-a-002": dict(FUTURE)}}


def test_plan_in_check_mode_is_the_same_and_changes_nothing(run_module):
    kind, real = run_module(vm_plan.main, {"snapshot": snapshot(), "images": IMAGES})
    assert kind == "exit"
    assert real["changed"] is False
    assert [s["hostname"] for s in real["spawn"]] == ["vm-a-001"]
    kind, check = run_module(vm_plan.main, {"snapshot": snapshot(), "images": IMAGES, "_ansible_check_mode": True})
    assert kind == "exit"
    assert check["spawn"] == real["spawn"]
    assert "vm-a-001" in check["preview"]


def test_bad_image_table_fails_clearly(run_module):
    images = {"a": dict(IMAGES["a"], pool="VM-A-[001-002]")}
    kind, result = run_module(vm_plan.main, {"snapshot": snapshot(), "images": images})
    assert kind == "fail"
    assert "lowercase DNS label" in result["msg"]
    assert result["error"] == "ImageTableError"


def test_malformed_snapshot_fails_clearly(run_module):
    kind, result = run_module(vm_plan.main, {"snapshot": {"time": 1}, "images": IMAGES})
    assert kind == "fail"
    assert "the snapshot given is incomplete: vm_jobs, nodes, reservations, host_jobs missing" in result["msg"]


def test_history_file_puts_the_image_into_backoff(run_module, tmp_path):
    history = tmp_path / "history.json"
    history.write_text('{"a": {"failures": 3, "last_failure": %d}}' % 4102444800)  # 2100: still backing off
    kind, result = run_module(vm_plan.main, {"snapshot": snapshot(), "images": IMAGES, "history_file": str(history)})
    assert kind == "exit", result
    assert result["spawn"] == [] and result["images"]["a"]["backoff"]["failures"] == 3


def test_missing_history_file_is_an_empty_history(run_module, tmp_path):
    args = {"snapshot": snapshot(), "images": IMAGES, "history_file": str(tmp_path / "none.json")}
    kind, result = run_module(vm_plan.main, args)
    assert kind == "exit" and [s["hostname"] for s in result["spawn"]] == ["vm-a-001"]


def test_unreadable_history_file_fails_clearly(run_module, tmp_path):
    history = tmp_path / "history.json"
    history.write_text("{not json")
    kind, result = run_module(vm_plan.main, {"snapshot": snapshot(), "images": IMAGES, "history_file": str(history)})
    assert kind == "fail" and "cannot read the failure history" in result["msg"]


def test_history_and_history_file_are_exclusive(run_module, tmp_path):
    args = {"snapshot": snapshot(), "images": IMAGES, "history": {}, "history_file": str(tmp_path / "h.json")}
    kind, result = run_module(vm_plan.main, args)
    assert kind == "fail" and "mutually exclusive" in result["msg"]


def _down_after_a_failed_boot(reason):
    snap = snapshot()
    snap["vm_jobs"] = []
    snap["nodes"]["vm-a-002"] = dict(FUTURE, state="DOWN", reason=reason, reason_time=90)
    return snap


def test_reason_prefix_reaches_the_planner(run_module):
    """A site's slurm_vm_teardown_reason_prefix: its failed boots are held DOWN for failed_hold,
    another prefix's are not."""
    args = {"snapshot": _down_after_a_failed_boot("site-x: boot failed: boot_timeout"), "images": IMAGES}
    kind, result = run_module(vm_plan.main, dict(args, reason_prefix="site-x:"))
    assert kind == "exit", result
    assert [(t["hostname"], t["step"]) for t in result["teardown"]] == [("vm-a-002", "wait")]
    assert result["teardown"][0]["reason"].startswith("held DOWN after a failed boot")
    kind, default = run_module(vm_plan.main, args)
    assert [(t["hostname"], t["step"]) for t in default["teardown"]] == [("vm-a-002", "finish")]


def test_reason_prefix_defaults_to_the_collections(run_module):
    args = {"snapshot": _down_after_a_failed_boot("hpc.slurm_vm: boot failed: boot_timeout"), "images": IMAGES}
    kind, result = run_module(vm_plan.main, args)
    assert kind == "exit", result
    assert [(t["hostname"], t["step"]) for t in result["teardown"]] == [("vm-a-002", "wait")]


def _reconcile(tmp_path, **extra):
    return dict({"stamp_file": str(tmp_path / "reconcile.stamp"), "sweep_stamp_file": str(tmp_path / "sweep.stamp")},
                **extra)


def test_the_plan_says_when_it_was_made_and_nothing_of_the_reconciler_unless_asked(run_module):
    kind, result = run_module(vm_plan.main, {"snapshot": snapshot(), "images": IMAGES})
    assert kind == "exit" and isinstance(result["started"], float)
    assert "reconcile_due" not in result and "sweep_due" not in result


def test_without_stamps_the_reconciler_and_its_sweep_are_due(run_module, tmp_path):
    kind, result = run_module(vm_plan.main, {"snapshot": snapshot(), "images": IMAGES,
                                             "reconcile": _reconcile(tmp_path)})
    assert kind == "exit", result
    assert (result["reconcile_due"], result["sweep_due"]) == (True, True)
    assert (result["reconcile_last"], result["sweep_last"]) == (0.0, 0.0)


def test_stamps_decide_by_their_intervals(run_module, tmp_path):
    (tmp_path / "reconcile.stamp").write_text("%f\n" % (time.time() - 100))
    (tmp_path / "sweep.stamp").write_text("%f\n" % (time.time() - 4000))
    args = {"snapshot": snapshot(), "images": IMAGES, "reconcile": _reconcile(tmp_path)}
    kind, result = run_module(vm_plan.main, args)
    assert kind == "exit" and result["reconcile_due"] is False and result["sweep_due"] is True   # 300 s, 3600 s
    args["reconcile"] = _reconcile(tmp_path, interval=60, sweep_interval=7200)
    kind, result = run_module(vm_plan.main, args)
    assert result["reconcile_due"] is True and result["sweep_due"] is False
    args["reconcile"] = _reconcile(tmp_path, interval=60, sweep_interval=7200, sweep=True)   # the site forces it
    assert run_module(vm_plan.main, args)[1]["sweep_due"] is True
    args["reconcile"] = _reconcile(tmp_path, sweep=False)
    assert run_module(vm_plan.main, args)[1]["sweep_due"] is False


def test_a_stamp_that_is_not_a_time_counts_as_never(run_module, tmp_path):
    (tmp_path / "reconcile.stamp").write_text("garbage\n")
    (tmp_path / "sweep.stamp").write_text("")
    args = {"snapshot": snapshot(), "images": IMAGES, "reconcile": _reconcile(tmp_path)}
    result = run_module(vm_plan.main, args)[1]
    assert (result["reconcile_due"], result["sweep_due"], result["reconcile_last"]) == (True, True, 0.0)


def test_an_unreadable_stamp_or_a_negative_interval_fails_clearly(run_module, tmp_path):
    (tmp_path / "reconcile.stamp").mkdir()   # a directory: cannot be read as a stamp
    kind, result = run_module(vm_plan.main, {"snapshot": snapshot(), "images": IMAGES,
                                             "reconcile": _reconcile(tmp_path)})
    assert kind == "fail" and "cannot read the stamp file %s" % (tmp_path / "reconcile.stamp") in result["msg"]
    kind, result = run_module(vm_plan.main, {"snapshot": snapshot(), "images": IMAGES,
                                             "reconcile": _reconcile(tmp_path / "x", interval=-1)})
    assert kind == "fail" and result["msg"] == "reconcile.interval must be 0 or more seconds, got -1"
