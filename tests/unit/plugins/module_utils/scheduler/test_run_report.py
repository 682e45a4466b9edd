# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import run_report
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import SlurmVmError

PLAN = {
    "spawn": [], "cancel": [{"image": "a", "hostname": "vm-a-003", "host_job_id": "9", "reason": "demand gone"}],
    "teardown": [
        {"image": "a", "hostname": "vm-a-001", "step": "end_host_job", "reason": "boot_timeout: not ready after 300 s",
         "boot_failure": "boot_timeout"},
        {"image": "b", "hostname": "vm-b-001", "step": "drain", "reason": "idle for 600 s"},
    ],
    "gc": [],
    "images": {"a": {"pending_jobs": 2, "requested_units": 3, "oldest_wait": 40, "vms": {"booting": 1}, "spawn": 0,
                     "backoff": None},
               "b": {"pending_jobs": 0, "requested_units": 0, "oldest_wait": 0, "vms": {"idle": 2}, "spawn": 0,
                     "backoff": {"failures": 3, "until": 5000}}},
}


def test_boot_timeouts_count_up_and_a_healthy_image_resets():
    history = run_report.failure_history(PLAN, {"b": {"failures": 2, "last_failure": 10}}, now=1000)
    assert history == {"a": {"failures": 1, "last_failure": 1000}, "b": {"failures": 0, "last_failure": 10}}
    again = run_report.failure_history(PLAN, history, now=2000)
    assert again["a"] == {"failures": 2, "last_failure": 2000}


def test_history_keeps_images_no_longer_planned():
    assert run_report.failure_history({"images": {}}, {"gone": {"failures": 1}}, now=1)["gone"] == {"failures": 1}


def test_summary_counts_by_image_and_measures_the_run():
    submitted = [{"image": "a", "hostname": "vm-a-002"}, {"image": "a", "hostname": "vm-a-004"}]
    summary = run_report.run_summary(PLAN, submitted, started=100.0, now=103.25)
    assert summary["duration"] == 3.25 and summary["time"] == 103
    assert summary["spawned"] == ["vm-a-002", "vm-a-004"] and summary["spawned_by_image"] == {"a": 2}
    assert summary["cancelled"] == ["vm-a-003"]
    assert [t["image"] for t in summary["teardown"]] == ["a", "b"]


def test_prometheus_text_has_one_sample_per_image_and_state():
    text = run_report.prometheus_text(run_report.run_summary(PLAN, [{"image": "a", "hostname": "x"}], 0, 7))
    lines = text.splitlines()
    assert 'hpc_slurm_vm_pending_jobs{image="a"} 2' in lines
    assert 'hpc_slurm_vm_vms{image="b",state="idle"} 2' in lines
    assert 'hpc_slurm_vm_vms{image="a",state="idle"} 0' in lines
    assert 'hpc_slurm_vm_backoff{image="b"} 1' in lines and 'hpc_slurm_vm_backoff{image="a"} 0' in lines
    assert 'hpc_slurm_vm_teardown_steps{image="a",step="end_host_job"} 1' in lines
    assert 'hpc_slurm_vm_spawned{image="a"} 1' in lines and 'hpc_slurm_vm_spawned{image="b"} 0' in lines
    assert "hpc_slurm_vm_run_duration_seconds 7.0" in lines
    samples = [line for line in lines if not line.startswith("#")]
    assert len(samples) == len({line.rsplit(" ", 1)[0] for line in samples}), "a series appears twice"
    assert all(line.startswith("hpc_slurm_vm_") for line in samples)


def test_every_vm_state_the_planner_counts_as_alive_is_a_metric():
    """A hidden VM (a slurmctld restart hid it) counts against max_vms, so it is counted in
    hpc_slurm_vm_vms as well; the metric's state list once missed it."""
    from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import vm_state
    plan = {"images": {"a": {"vms": {"hidden": 2, "idle": 1}}}}
    lines = run_report.prometheus_text(run_report.run_summary(plan, [], 0, 0)).splitlines()
    assert 'hpc_slurm_vm_vms{image="a",state="hidden"} 2' in lines
    for state in vm_state.ALIVE + vm_state.GC:
        assert any(line.startswith('hpc_slurm_vm_vms{image="a",state="%s"} ' % state) for line in lines), state


def test_label_values_are_escaped():
    plan = {"images": {'we"ird\\name': {"vms": {}}}}
    text = run_report.prometheus_text(run_report.run_summary(plan, [], 0, 0))
    assert 'hpc_slurm_vm_pending_jobs{image="we\\"ird\\\\name"} 0' in text.splitlines()


def test_write_report_writes_four_files_then_nothing_changes(tmp_path):
    plan = dict(PLAN, registered={"b-001": "17", "b-002": "18"})
    params = {"state_dir": str(tmp_path / "state"), "plan": plan, "submitted": [], "started": 5.0, "textfile": None}
    first = run_report.write_report(params, now=10)
    assert first["changed"] and sorted(os.path.basename(p) for p in first["files"]) == [
        "history.json", "hpc_slurm_vm.prom", "registered.json", "summary.json"]
    with open(os.path.join(params["state_dir"], "registered.json")) as handle:
        assert json.load(handle) == {"b-001": "17", "b-002": "18"}
    with open(os.path.join(params["state_dir"], "summary.json")) as handle:
        assert json.load(handle)["duration"] == 5.0
    # the same plan at the same time: history grows (a boot_timeout again), summary and textfile stay
    second = run_report.write_report(params, now=10)
    assert [os.path.basename(p) for p in second["files"]] == ["history.json"]
    assert second["history"]["a"]["failures"] == 2


def test_check_mode_writes_nothing(tmp_path):
    params = {"state_dir": str(tmp_path / "state"), "plan": PLAN, "submitted": [], "started": None,
              "textfile": str(tmp_path / "metrics" / "x.prom")}
    result = run_report.write_report(params, now=10, check_mode=True)
    assert result["changed"] and len(result["files"]) == 4
    assert not os.path.exists(params["state_dir"]) and not os.path.exists(params["textfile"])


def test_a_corrupt_history_fails_clearly_and_writes_nothing(tmp_path):
    (tmp_path / "history.json").write_text("[1, 2")
    params = {"state_dir": str(tmp_path), "plan": PLAN, "submitted": [], "started": None, "textfile": None}
    with pytest.raises(SlurmVmError, match="cannot read the failure history"):
        run_report.write_report(params, now=10)
    assert sorted(os.listdir(str(tmp_path))) == ["history.json"]


def test_boot_latency_quantiles():
    plan = {"images": {"a": {"boot_seconds": [10, 11, 12, 13, 40]}, "b": {}}}
    lines = run_report.prometheus_text(run_report.run_summary(plan, [], 0, 0)).splitlines()
    assert 'hpc_slurm_vm_boot_seconds{image="a",quantile="0.5"} 12' in lines
    assert 'hpc_slurm_vm_boot_seconds{image="a",quantile="0.9"} 40' in lines
    assert 'hpc_slurm_vm_boot_seconds{image="a",quantile="1"} 40' in lines
    assert 'hpc_slurm_vm_boot_seconds{image="b",quantile="0.5"} NaN' in lines


def test_orphans_removed_are_summarized_and_counted_by_kind():
    removed = [{"kind": "dns", "hostname": "vm-a-001", "reason": "marked, no VM for 900 s", "where": "zone"},
               {"kind": "dhcp", "hostname": "vm-a-001", "reason": "marked, no VM"}]
    summary = run_report.run_summary({"images": {}}, [], 0, 1, removed=removed)
    assert [r["kind"] for r in summary["orphans_removed"]] == ["dns", "dhcp"]
    lines = run_report.prometheus_text(summary).splitlines()
    assert 'hpc_slurm_vm_orphans_removed{kind="dns"} 1' in lines
    assert 'hpc_slurm_vm_orphans_removed{kind="domain"} 0' in lines


def test_an_invalid_registration_is_a_failed_boot_and_a_metric():
    plan = {"teardown": [{"image": "a", "hostname": "vm-a-002", "step": "end_host_job",
                          "reason": "slurmd registered invalid (Low socket*core*thread count, Low CPUs): ...",
                          "boot_failure": "invalid_registration"},
                         {"image": "a", "hostname": "vm-a-003", "step": "end_host_job", "reason": "node DOWN",
                          "boot_failure": None}],
            "images": {"a": {"vms": {"failed": 2}}}}
    assert run_report.failure_history(plan, {}, now=5)["a"] == {"failures": 1, "last_failure": 5}
    lines = run_report.prometheus_text(run_report.run_summary(plan, [], 0, 0)).splitlines()
    assert 'hpc_slurm_vm_boot_failures{image="a",cause="invalid_registration"} 1' in lines
    assert 'hpc_slurm_vm_boot_failures{image="a",cause="boot_timeout"} 0' in lines


BASE = {"image": "a", "image_version": "2026.12-1a2b3c4d", "path": "/var/lib/hpcvm/images/a.qcow2", "size": 4096,
        "mtime": 1800000000, "sha256": "cd" * 32, "hashed": True, "hypervisor": "hv01"}


def test_the_first_measure_of_an_image_version_is_recorded_and_never_replaced(tmp_path):
    params = {"state_dir": str(tmp_path), "plan": PLAN, "submitted": [], "started": None, "textfile": None,
              "base_images": [BASE, dict(BASE, image="b", sha256=None)]}  # b: a direct-kernel guest, no base
    first = run_report.write_report(params, now=10)
    assert first["base_images_recorded"] == ["a 2026.12-1a2b3c4d"]
    with open(str(tmp_path / "base_images.json")) as handle:
        records = json.load(handle)
    assert records == {"a": {"2026.12-1a2b3c4d": {"path": BASE["path"], "size": 4096, "mtime": 1800000000,
                                                  "sha256": "cd" * 32, "recorded": 10, "hypervisor": "hv01"}}}
    # a later measure of the same version (another hypervisor, a changed file) does not replace the record
    params["base_images"] = [dict(BASE, sha256="ef" * 32, hypervisor="hv02")]
    second = run_report.write_report(params, now=20)
    assert second["base_images_recorded"] == [] and "base_images.json" not in " ".join(second["files"])
    with open(str(tmp_path / "base_images.json")) as handle:
        assert json.load(handle)["a"]["2026.12-1a2b3c4d"]["sha256"] == "cd" * 32


def test_the_summary_says_when_the_next_rule_fires_and_the_metrics_show_pause_and_rollout():
    images = {"a": dict(PLAN["images"]["a"], paused={"reason": "x", "since": 1, "by": "root"},
                        rollout={"old": 2, "new": 1})}
    plan = dict(PLAN, images=images, next_due=1800000201,
                reserve=[{"image": "a", "hostname": "vm-a-001", "start": 1800003000, "reason": "maintenance"}])
    summary = run_report.run_summary(plan, [], 5, 10)
    assert summary["next_due"] == 1800000201
    assert summary["reserve"] == [{"hostname": "vm-a-001", "start": 1800003000, "reason": "maintenance"}]
    text = run_report.prometheus_text(summary)
    assert 'hpc_slurm_vm_paused{image="a"} 1' in text
    assert 'hpc_slurm_vm_rollout_vms{image="a",version="old"} 2' in text
    assert 'hpc_slurm_vm_rollout_vms{image="a",version="new"} 1' in text


def test_a_vm_that_did_not_start_is_listed_with_its_image_and_counted(tmp_path):
    failed = {"hostname": "vm-a-002", "image": "a", "image_version": "1a2b3c4d5e6f", "hypervisor": "hv02",
              "msg": "image a: the base image /x.qcow2 changed in place", "error": "BaseImageChanged"}
    params = {"state_dir": str(tmp_path), "plan": PLAN, "submitted": [], "started": None, "textfile": None,
              "spawn_failed": [failed]}
    summary = run_report.write_report(params, now=10)["summary"]
    keys = ("hostname", "image", "image_version", "hypervisor", "msg")
    assert summary["spawn_failed"] == [{k: failed[k] for k in keys}]
    assert 'hpc_slurm_vm_spawn_failed{image="a"} 1' in run_report.prometheus_text(summary)


def test_what_the_reconciler_flagged_is_listed_and_counted(tmp_path):
    flag = {"kind": "base_changed", "hostname": "vm-disk-001", "image": "disk", "where": "hv01",
            "reason": "image disk: the base image /x/disk.qcow2 was changed in place", "host_job": "7"}
    params = {"state_dir": str(tmp_path), "plan": PLAN, "submitted": [], "started": None, "textfile": None,
              "flagged": [flag]}
    summary = run_report.write_report(params, now=10)["summary"]
    assert summary["flagged"] == [{k: flag[k] for k in ("kind", "hostname", "image", "where", "reason")}]
    assert 'hpc_slurm_vm_flagged{kind="base_changed"} 1' in run_report.prometheus_text(summary)
