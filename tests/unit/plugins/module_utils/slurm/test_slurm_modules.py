# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The four Slurm modules' main(), with run_command replaying real scontrol, squeue and sbatch output."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.module_utils import basic

from ansible_collections.hpc.slurm_vm.plugins.modules import (
    slurm_host_job,
    slurm_node_state,
    slurm_reservation,
    slurm_reservation_info,
)
from ansible_collections.hpc.slurm_vm.tests.unit.plugins.module_utils.slurm.slurm_replay import CASES
from ansible_collections.hpc.slurm_vm.tests.unit.plugins.module_utils.slurm.test_host_job import SQUEUE


@pytest.fixture
def scontrol(monkeypatch):
    """Script the scontrol calls: a list of (expected args after 'scontrol' or None, case key)."""
    script = []
    calls = []

    def run_command(self, argv, environ_update=None, check_rc=False, **kwargs):
        calls.append(dict(argv=list(argv), env=environ_update))
        assert script, "unexpected command %r" % (argv,)
        expected, key = script.pop(0)
        if expected is not None:
            assert argv[1:] == expected, "expected %r, got %r" % (expected, argv[1:])
        captured = CASES[key] if isinstance(key, str) else key
        return captured["rc"], captured["stdout"], captured["stderr"]

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: "/usr/bin/" + name)
    return script, calls


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / "slurm.conf"
    path.write_text("ClusterName=labvm\n")
    return str(path)


SHOW = ["-F", "-o", "show", "node", "vm-disk-[001-003]"]


def test_check_mode_predicts_and_runs_no_update(run_module, scontrol, conf):
    script, calls = scontrol
    script.append((SHOW, "show_node_registered_and_future"))
    kind, result = run_module(slurm_node_state.main, dict(
        slurm_conf=conf, nodes=["vm-disk-[001-003]"], state="drain", reason="teardown",
        _ansible_check_mode=True, _ansible_diff=True))
    assert kind == "exit" and result["changed"] is True
    assert result["changed_expression"] == "vm-disk-[001-003]"
    assert result["commands"] == [["update", "nodename=vm-disk-[001-003]", "state=drain", "reason=teardown"]]
    assert result["nodes"]["vm-disk-002"]["after"]["state"] == "FUTURE+DRAIN"
    assert result["diff"]["after"]["vm-disk-001"] == {"state": "IDLE+DRAIN", "reason": "teardown"}
    assert len(calls) == 1 and calls[0]["env"]["SLURM_CONF"] == conf and calls[0]["env"]["LC_ALL"] == "C"


def test_real_run_updates_in_one_batch_and_reads_back(run_module, scontrol, conf):
    script, calls = scontrol
    script.extend([(SHOW, "show_node_drain_down_futuredrain"),
                   (["update", "nodename=vm-disk-[001-002]", "state=future"], "update_undrain_ok"),
                   (["update", "nodename=vm-disk-003", "state=undrain"], "update_undrain_ok"),
                   (SHOW, "show_node_registered_and_future")])
    kind, result = run_module(slurm_node_state.main, dict(slurm_conf=conf, nodes=["vm-disk-[001-003]"],
                                                          state="future"))
    assert kind == "exit" and result["changed"] and not script
    assert result["nodes"]["vm-disk-003"]["request"] == "undrain"
    assert result["nodes"]["vm-disk-001"]["before"]["reason"] == "hpcvm: teardown id=42 [idle]"


def test_unchanged_nodes_make_one_call(run_module, scontrol, conf):
    script, calls = scontrol
    script.append((["-F", "-o", "show", "node", "vm-disk-003"], "show_node_drain_down_futuredrain"))
    kind, result = run_module(slurm_node_state.main, dict(slurm_conf=conf, nodes=["vm-disk-003"], state="drain",
                                                          reason="x"))
    assert kind == "exit" and result["changed"] is False and len(calls) == 1


def test_refused_transition_fails_before_any_change(run_module, scontrol, conf):
    script, calls = scontrol
    script.append((SHOW, "show_node_registered_and_future"))
    kind, result = run_module(slurm_node_state.main, dict(slurm_conf=conf, nodes=["vm-disk-[001-003]"],
                                                          state="idle", only_if_registered=False))
    assert kind == "fail" and result["error"] == "TransitionRefused"
    assert "vm-disk-002 (state FUTURE)" in result["msg"] and len(calls) == 1


@pytest.mark.parametrize("args, error", [
    (dict(nodes=["vm-disk-[001"], state="idle"), "InvalidInput"),
    (dict(nodes=["nosuch-001"], state="idle"), "UnknownNodes"),
])
def test_bad_nodes(run_module, scontrol, conf, args, error):
    script, _calls = scontrol
    script.append((None, "show_node_only_unknown"))
    kind, result = run_module(slurm_node_state.main, dict(args, slurm_conf=conf))
    assert kind == "fail" and result["error"] == error


def test_missing_slurm_conf(run_module, scontrol, tmp_path):
    kind, result = run_module(slurm_node_state.main, dict(slurm_conf=str(tmp_path / "no.conf"), nodes=["a"],
                                                          state="idle"))
    assert kind == "fail" and result["error"] == "SlurmConfNotFound" and not scontrol[1]


def test_reason_required(run_module, scontrol, conf):
    kind, result = run_module(slurm_node_state.main, dict(slurm_conf=conf, nodes=["a"], state="drain"))
    assert kind == "fail" and "reason" in result["msg"]


def test_reservation_create_check_mode(run_module, scontrol, conf):
    script, calls = scontrol
    script.append((["-o", "show", "reservation", "fx-a"], "show_res_missing"))
    kind, result = run_module(slurm_reservation.main, dict(
        slurm_conf=conf, name="fx-a", nodes=["vm-disk-003"], start_time="now+7days", duration="60", users=["root"],
        _ansible_check_mode=True, _ansible_diff=True))
    assert kind == "exit" and result["changed"]
    assert result["command"][:3] == ["create", "reservation", "ReservationName=fx-a"]
    assert result["diff"]["before"] == {} and result["diff"]["after"]["nodes"] == ["vm-disk-003"]
    assert len(calls) == 1


def test_reservation_delete_missing_is_unchanged(run_module, scontrol, conf):
    script, calls = scontrol
    script.append((["-o", "show", "reservation", "fx-a"], "show_res_missing"))
    kind, result = run_module(slurm_reservation.main, dict(slurm_conf=conf, name="fx-a", state="absent"))
    assert kind == "exit" and result["changed"] is False and len(calls) == 1


def test_reservation_busy_is_a_clear_failure(run_module, scontrol, conf):
    script, _calls = scontrol
    script.extend([(["-o", "show", "reservation", "fx-c"], "show_res_missing"), (None, "create_res_busy")])
    kind, result = run_module(slurm_reservation.main, dict(slurm_conf=conf, name="fx-c", nodes=["vm-disk-001"],
                                                           duration="60", users=["root"]))
    assert kind == "fail" and result["error"] == "ReservationNodesBusy"
    assert "Requested nodes are busy" in result["msg"] and result["rc"] == 1


def test_reservation_name_with_equal_sign(run_module, scontrol, conf):
    kind, result = run_module(slurm_reservation.main, dict(slurm_conf=conf, name="a=b", state="absent"))
    assert kind == "fail" and result["error"] == "InvalidInput" and not scontrol[1]


def test_reservation_info_filters_by_prefix(run_module, scontrol, conf):
    script, _calls = scontrol
    script.append((["-o", "show", "reservation"], "show_res_two"))
    kind, result = run_module(slurm_reservation_info.main, dict(slurm_conf=conf, name_prefix="hpcvm-"))
    assert kind == "exit" and [r["name"] for r in result["reservations"]] == ["hpcvm-fx-b"]
    assert result["reservations"][0]["flags"] == ["MAINT"]


SQUEUE_ARGS = ["-h", "--name=hpcvm:vm-deb12-001,hpcvm:vm-deb12-004", "-o", "%i|%j|%T|%N|%S|%e"]
SQUEUE_OUT = dict(rc=0, stdout=SQUEUE, stderr="")


def test_host_job_check_mode_keeps_live_jobs_and_lists_the_sbatch_it_would_run(run_module, scontrol, conf):
    script, calls = scontrol
    script.append((SQUEUE_ARGS, SQUEUE_OUT))
    kind, result = run_module(slurm_host_job.main, dict(
        slurm_conf=conf, partition="hosts", jobs=[dict(hostname="vm-deb12-001", script="#!/bin/sh\n"),
                                                  dict(hostname="vm-deb12-004", script="#!/bin/sh\n")],
        _ansible_check_mode=True))
    assert kind == "exit" and result["changed"] is True and result["failed_jobs"] == []
    assert result["jobs"] == [{"hostname": "vm-deb12-001", "job_id": "100081", "action": "kept"},
                              {"hostname": "vm-deb12-004", "job_id": None, "action": "submitted"}]
    assert result["commands"] == [["sbatch", "--parsable", "--job-name=hpcvm:vm-deb12-004", "--chdir=/",
                                   "--no-requeue", "--exclusive", "--partition=hosts", "--signal=B:TERM@60"]]
    assert len(calls) == 1 and calls[0]["env"]["SLURM_CONF"] == conf


def test_host_job_absent_cancels_the_live_jobs_in_one_scancel(run_module, scontrol, conf):
    script, calls = scontrol
    script.extend([(["-h", "--name=hpcvm:vm-deb12-003,hpcvm:vm-deb12-009", "-o", "%i|%j|%T|%N|%S|%e"], SQUEUE_OUT),
                   (["100090"], dict(rc=0, stdout="", stderr=""))])
    kind, result = run_module(slurm_host_job.main, dict(
        slurm_conf=conf, state="absent", jobs=[dict(hostname="vm-deb12-003"), dict(hostname="vm-deb12-009")]))
    assert kind == "exit" and result["changed"] is True and not script
    assert result["jobs"] == [{"hostname": "vm-deb12-003", "job_id": "100090", "action": "cancelled"},
                              {"hostname": "vm-deb12-009", "job_id": None, "action": "absent"}]
    assert result["commands"] == [["scancel", "100090"]] and calls[1]["argv"][0] == "/usr/bin/scancel"


def test_host_job_bad_hostname_fails_before_any_command(run_module, scontrol, conf):
    kind, result = run_module(slurm_host_job.main, dict(slurm_conf=conf, jobs=[dict(hostname="VM-1", script="x")]))
    assert kind == "fail" and result["error"] == "InvalidInput" and not scontrol[1]


# sbatch --parsable --partition=nope on the lab's host cluster (Slurm 22.05), rc 1
SBATCH_REFUSED = dict(rc=1, stdout="", stderr=("sbatch: error: invalid partition specified: nope\n"
                                               "sbatch: error: Batch job submission failed: Invalid partition name"
                                               " specified\n"))


@pytest.mark.parametrize("fail_on_error", [False, True])
def test_host_job_refused_by_sbatch_is_listed_or_fails_the_task(run_module, scontrol, conf, fail_on_error):
    script, calls = scontrol
    script.extend([(SQUEUE_ARGS, SQUEUE_OUT), (None, SBATCH_REFUSED),
                   (["-h", "--name=hpcvm:vm-deb12-001", "-o", "%i|%j|%T|%N|%S|%e"], SQUEUE_OUT)])
    kind, result = run_module(slurm_host_job.main, dict(
        slurm_conf=conf, partition="nope", fail_on_error=fail_on_error,
        jobs=[dict(hostname="vm-deb12-001", script="#!/bin/sh\n"),
              dict(hostname="vm-deb12-004", script="#!/bin/sh\n")]))
    assert kind == ("fail" if fail_on_error else "exit") and not script
    assert calls[1]["argv"][0] == "/usr/bin/sbatch" and "--partition=nope" in calls[1]["argv"]
    message = ("sbatch failed for vm-deb12-004: sbatch: error: invalid partition specified: nope\n"
               "sbatch: error: Batch job submission failed: Invalid partition name specified")
    assert result["failed_jobs"] == [{"hostname": "vm-deb12-004", "msg": message}]
    assert result["jobs"][0]["action"] == "kept" and result["jobs"][0]["node"] == "hv01"
    assert result["jobs"][1] == {"hostname": "vm-deb12-004", "job_id": None, "action": "failed"}
    assert result["changed"] is False
    if fail_on_error:
        assert result["msg"] == "sbatch refused 1 host job(s): " + message
