# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning node state changes: the transition matrix observed on Slurm 22.05 in the lab."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import client as cli
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import node_state as plan
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import parse
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.tests.unit.plugins.module_utils.slurm.slurm_replay import (
    Clock,
    ReplayRunner,
    case,
)

REG = "2026-11-25T22:16:45"


def node(state, reason=None, slurmd=REG, name="n1"):
    record = {"NodeName": name, "State": state, "SlurmdStartTime": slurmd or "None", "BootTime": slurmd or "None"}
    if reason:
        record["Reason"] = "%s [root@2026-11-25T22:00:00]" % reason
    return parse.node_from_record(record)


# (current state, reason, slurmd registered?, asked, asked reason) -> request | "ok" | error class
MATRIX = [
    ("IDLE", None, True, "idle", None, "ok"),
    ("IDLE", None, True, "resume", None, "ok"),
    ("ALLOCATED", None, True, "resume", None, "ok"),
    ("MIXED", None, True, "idle", None, "ok"),
    ("IDLE+DRAIN", "r", True, "resume", None, "resume"),
    ("IDLE+DRAIN", "r", True, "idle", None, "idle"),
    ("ALLOCATED+DRAIN", "r", True, "idle", None, plan.TransitionRefused),
    ("ALLOCATED+DRAIN", "r", True, "resume", None, "resume"),
    ("DOWN", "r", True, "resume", None, "resume"),
    ("DOWN", "r", False, "resume", None, plan.NodeNotRegistered),
    ("DOWN+NOT_RESPONDING", "r", True, "resume", None, plan.NodeNotRegistered),
    ("FUTURE", None, False, "resume", None, plan.NodeNotRegistered),
    ("FUTURE", None, False, "idle", None, plan.TransitionRefused),
    ("IDLE+DRAIN+NOT_RESPONDING", "r", True, "undrain", None, plan.NodeNotRegistered),
    ("DOWN+DRAIN", "r", False, "undrain", None, "undrain"),
    ("FUTURE+DRAIN", "r", False, "undrain", None, "undrain"),
    ("IDLE", None, True, "undrain", None, "ok"),
    ("IDLE+DRAIN", "same", True, "drain", "same", "ok"),
    ("IDLE+DRAIN", "old", True, "drain", "new", "drain"),
    ("DOWN+DRAIN", "same", True, "drain", "same", "ok"),
    ("ALLOCATED", None, True, "drain", "teardown", "drain"),
    ("FUTURE", None, False, "drain", "x", "drain"),
    ("DOWN", "gone", True, "down", "gone", "ok"),
    ("DOWN", "gone", True, "down", "other", "down"),
    ("IDLE+DRAIN", "gone", True, "down", "gone", "down"),
    ("FUTURE", None, False, "down", "x", "down"),
    ("IDLE+FAIL", "f", True, "fail", "f", "ok"),
    ("IDLE", None, True, "fail", "f", "fail"),
    ("FUTURE", None, False, "future", None, "ok"),
    ("DOWN+DRAIN", "r", False, "future", None, "future"),
    ("IDLE+DRAIN", "r", True, "future", None, "future"),
    ("IDLE", None, True, "future", None, "future"),
    ("FUTURE+DRAIN", "r", False, "future", None, "undrain"),
    ("FUTURE+FAIL", "r", False, "future", None, "undrain"),
    ("ALLOCATED+DRAIN", "r", True, "future", None, plan.TransitionRefused),
    ("MIXED", None, True, "future", None, plan.TransitionRefused),
    ("IDLE+COMPLETING", None, True, "future", None, plan.TransitionRefused),
]


@pytest.mark.parametrize("current, reason, registered, asked, asked_reason, expected", MATRIX)
def test_transition_matrix(current, reason, registered, asked, asked_reason, expected):
    nodes = {"n1": node(current, reason, REG if registered else None)}
    if isinstance(expected, type):
        with pytest.raises(expected) as caught:
            plan.plan(nodes, ["n1"], asked, asked_reason)
        assert "n1" in caught.value.message and "Nothing was changed" in caught.value.message
        if expected is plan.TransitionRefused:
            assert current in caught.value.message and "state=%s" % asked in caught.value.message
        return
    planned = plan.plan(nodes, ["n1"], asked, asked_reason)
    if expected == "ok":
        assert planned["changes"] == {} and planned["unchanged"] == ["n1"]
    else:
        assert planned["changes"] == {"n1": expected}
        after = planned["after"]["n1"]
        assert plan.is_satisfied(after, asked, asked_reason), after


def test_a_stale_slurmd_start_time_without_boot_time_is_not_registered():
    stale = parse.node_from_record({"NodeName": "n1", "State": "DOWN", "SlurmdStartTime": REG, "BootTime": "None",
                                    "Reason": "gone [root@2026-11-25T22:00:00]"})
    assert not stale["registered"]
    with pytest.raises(plan.NodeNotRegistered):
        plan.plan({"n1": stale}, ["n1"], "resume")


def test_only_if_registered_false_allows_resume_and_predicts_not_responding():
    planned = plan.plan({"n1": node("FUTURE", slurmd=None)}, ["n1"], "resume", only_if_registered=False)
    assert planned["changes"] == {"n1": "resume"}
    assert planned["after"]["n1"]["state"] == "IDLE+NOT_RESPONDING"


def test_all_offending_nodes_are_named_before_anything_changes():
    nodes = {"a": node("FUTURE", slurmd=None, name="a"), "b": node("IDLE", name="b"),
             "c": node("DOWN", "x", slurmd=None, name="c")}
    with pytest.raises(plan.NodeNotRegistered) as caught:
        plan.plan(nodes, ["a", "b", "c"], "resume")
    assert [u["node"] for u in caught.value.details["unregistered"]] == ["a", "c"]


@pytest.mark.parametrize("state, reason", [("drain", None), ("down", "  "), ("fail", None), ("drain", "a\nb"),
                                           ("bogus", None)])
def test_bad_state_or_reason(state, reason):
    with pytest.raises(InvalidInput):
        plan.validate(state, reason)


def test_plan_groups_carry_their_folded_hostlist():
    nodes = {n: node("IDLE", name=n) for n in ("vm-a-001", "vm-a-002", "vm-a-004")}
    planned = plan.plan(nodes, sorted(nodes), "drain", "why")
    assert planned["groups"] == [("drain", "why", ["vm-a-001", "vm-a-002", "vm-a-004"], "vm-a-[001-002,004]")]


def test_changes_are_grouped_by_request():
    groups = plan.group_changes({"a": "future", "b": "undrain", "c": "future"}, None)
    assert groups == [("future", None, ["a", "c"]), ("undrain", None, ["b"])]
    assert plan.group_changes({"a": "drain"}, "why") == [("drain", "why", ["a"])]


def test_wait_registered_polls_until_registered(tmp_path):
    conf = tmp_path / "slurm.conf"
    conf.write_text("")
    runner = ReplayRunner([(None, "show_node_resumed_unregistered"), (None, "show_node_registered_and_future")])
    client = cli.SlurmClient(runner, str(conf))
    clock = Clock()
    nodes = plan.wait_registered(client, ["vm-disk-001"], 10, clock=clock, sleep=clock.sleep)
    assert nodes["vm-disk-001"]["state"] == "IDLE" and len(runner.calls) == 2


def test_wait_registered_times_out_naming_the_nodes(tmp_path):
    conf = tmp_path / "slurm.conf"
    conf.write_text("")
    runner = ReplayRunner([(None, "show_node_registered_and_future")] * 3)
    clock = Clock()
    with pytest.raises(plan.RegistrationTimeout) as caught:
        plan.wait_registered(cli.SlurmClient(runner, str(conf)), ["vm-disk-001", "vm-disk-002"], 1,
                             clock=clock, sleep=clock.sleep)
    assert caught.value.details["waiting"] == ["vm-disk-002"]
    assert "vm-disk-002 is FUTURE" in caught.value.message


def test_a_batch_refused_halfway_reports_what_changed(tmp_path):
    """Slurm applies a batch node by node: re-read and name the changed and unchanged nodes."""
    conf = tmp_path / "slurm.conf"
    conf.write_text("")
    names = ["vm-disk-001", "vm-disk-002", "vm-disk-003"]
    before = parse.parse_nodes(case("show_node_drain_down_futuredrain")["stdout"])
    changes = {"vm-disk-002": "future", "vm-disk-001": "future", "vm-disk-003": "future"}
    planned = {"changes": changes, "groups": [("future", None, sorted(changes), "vm-disk-[001-003]")]}
    # after the refused batch: 002 (DOWN) is FUTURE now, 001 still IDLE+DRAIN and 003 FUTURE+DRAIN
    now = dict(before)
    now["vm-disk-002"] = dict(before["vm-disk-002"], state="FUTURE", base="FUTURE", reason=None)
    runner = ReplayRunner([(None, "update_future_refused_futuredrain")])
    client = cli.SlurmClient(runner, str(conf))
    client.show_nodes = lambda _names, _expression=None: now
    with pytest.raises(plan.PartialUpdate) as caught:
        plan.apply(client, names, before, planned)
    assert caught.value.details["changed_nodes"] == ["vm-disk-002"]
    assert sorted(caught.value.details["failed_nodes"]) == ["vm-disk-001", "vm-disk-003"]
    assert "Invalid node state specified" in caught.value.message
    assert runner.calls[0]["argv"][-2:] == ["nodename=vm-disk-[001-003]", "state=future"]
