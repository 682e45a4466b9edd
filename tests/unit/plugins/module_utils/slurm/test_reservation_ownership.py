# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reservation ownership (common/marks.py reservation_mark_mismatches, slurm/reservation.py check_ownership) and
slurm_reservation's refusal, on captured `scontrol -o show res` records: hpcvm-vm-disk-004 as the spawn role made
it in the lab, hpcvm-fx-b made by hand under the prefix (two nodes, users root and nobody, an account, MAINT)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import marks
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import parse
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import reservation as resv
from ansible_collections.hpc.slurm_vm.plugins.modules import slurm_reservation, slurm_reservation_info
from ansible_collections.hpc.slurm_vm.tests.unit.plugins.module_utils.slurm.slurm_replay import (
    case,
    snapshot_fixture,
)
# conf and scontrol are pytest fixtures: imported to be found, never named
# pylint: disable=unused-import
from ansible_collections.hpc.slurm_vm.tests.unit.plugins.module_utils.slurm.test_slurm_modules import (  # noqa: F401
    conf,
    scontrol,
)
# pylint: enable=unused-import

SPAWNED_LINE = snapshot_fixture("scontrol_show_res.txt").splitlines()[0]
FOREIGN_LINE = [line for line in case("show_res_two")["stdout"].splitlines() if "=hpcvm-fx-b " in line][0]
SHOW_FOREIGN = dict(rc=0, stdout=FOREIGN_LINE + "\n", stderr="")
SHOW_SPAWNED = dict(rc=0, stdout=SPAWNED_LINE + "\n", stderr="")


def model(line):
    (record,) = parse.parse_reservations(line)
    return parse.reservation_from_record(record)


def mismatches(res):
    return marks.reservation_mark_mismatches(res["name"], res["nodes"], res["users"], res["accounts"],
                                             res["flags"], res["partition"])


def test_the_spawn_roles_reservation_carries_the_mark():
    spawned = model(SPAWNED_LINE)
    assert spawned["name"] == "hpcvm-vm-disk-004" and spawned["flags"] == []  # Slurm's SPEC_NODES aside
    assert mismatches(spawned) == []
    resv.check_ownership(spawned, "delete", force=False)


def test_a_hand_made_reservation_under_the_prefix_does_not():
    assert mismatches(model(FOREIGN_LINE)) == [
        ("Nodes", ["vm-disk-001", "vm-disk-002"], ["fx-b"]), ("Users", ["nobody", "root"], ["root"]),
        ("Accounts", ["acct1"], []), ("Flags", ["MAINT"], [])]


@pytest.mark.parametrize("field, value, expected", [
    ("nodes", ["vm-disk-003"], ("Nodes", ["vm-disk-003"], ["vm-disk-004"])),
    ("nodes", ["vm-disk-003", "vm-disk-004"], ("Nodes", ["vm-disk-003", "vm-disk-004"], ["vm-disk-004"])),
    ("users", ["alice"], ("Users", ["alice"], ["root"])),
    ("users", ["alice", "root"], ("Users", ["alice", "root"], ["root"])),
    ("accounts", ["acct1"], ("Accounts", ["acct1"], [])),
    ("flags", ["MAINT"], ("Flags", ["MAINT"], [])),
    ("partition", "debug", ("PartitionName", "debug", None)),
])
def test_each_field_of_the_shape_counts(field, value, expected):
    changed = dict(model(SPAWNED_LINE), **{field: value})
    assert mismatches(changed) == [expected]
    with pytest.raises(resv.ReservationNotOwned):
        resv.check_ownership(changed, "change", force=False)


def test_times_are_not_part_of_the_mark():
    moved = dict(model(SPAWNED_LINE), start=0, end=60, duration=60, state="ACTIVE")
    assert mismatches(moved) == []


def test_the_refusal_names_the_reservation_and_every_difference():
    with pytest.raises(resv.ReservationNotOwned) as caught:
        resv.check_ownership(model(FOREIGN_LINE), "delete", force=False)
    assert caught.value.message == (
        "refusing to delete reservation hpcvm-fx-b: its name is hpc.slurm_vm's but hpc.slurm_vm did not create it "
        "(Nodes=vm-disk-[001-002] where ours has fx-b; Users=nobody,root where ours has root; Accounts=acct1 where "
        "ours has (none); Flags=MAINT where ours has (none)); force=true deletes it anyway")
    assert caught.value.details["reservation"] == "hpcvm-fx-b"
    assert [m["field"] for m in caught.value.details["mismatches"]] == ["Nodes", "Users", "Accounts", "Flags"]


def test_force_and_names_outside_the_prefix_are_not_checked():
    resv.check_ownership(model(FOREIGN_LINE), "delete", force=True)
    other = dict(model(FOREIGN_LINE), name="maint-disk")
    assert mismatches(other) == [("ReservationName", "maint-disk", "hpcvm-<host>")]
    resv.check_ownership(other, "delete", force=False)  # not claimed by the collection: the caller's to manage
    resv.check_ownership(None, "delete", force=False)


# ------------------------------------------------------------ the module, on replayed scontrol
SHOW_FX_B = ["-o", "show", "reservation", "hpcvm-fx-b"]


@pytest.fixture
def replay(request):
    """(script, calls, slurm.conf): test_slurm_modules' scontrol replay and conf fixtures, imported above."""
    script, calls = request.getfixturevalue("scontrol")
    return script, calls, request.getfixturevalue("conf")


@pytest.mark.parametrize("check_mode", [False, True])
def test_the_module_refuses_to_delete_a_foreign_reservation(run_module, replay, check_mode):
    script, calls, slurm_conf = replay
    script.append((SHOW_FX_B, SHOW_FOREIGN))
    kind, result = run_module(slurm_reservation.main, dict(slurm_conf=slurm_conf, name="hpcvm-fx-b", state="absent",
                                                           _ansible_check_mode=check_mode))
    assert kind == "fail" and result["error"] == "ReservationNotOwned", result
    assert result["msg"].startswith("refusing to delete reservation hpcvm-fx-b: ")
    assert "Nodes=vm-disk-[001-002] where ours has fx-b" in result["msg"]
    assert [c["argv"][1:] for c in calls] == [SHOW_FX_B]  # no delete was sent


def test_the_module_refuses_to_change_a_foreign_reservation(run_module, replay):
    script, calls, slurm_conf = replay
    script.append((SHOW_FX_B, SHOW_FOREIGN))
    kind, result = run_module(slurm_reservation.main, dict(slurm_conf=slurm_conf, name="hpcvm-fx-b", duration="120"))
    assert kind == "fail" and result["error"] == "ReservationNotOwned", result
    assert result["msg"].startswith("refusing to change reservation hpcvm-fx-b: ")
    assert "force=true changes it anyway" in result["msg"]
    assert [c["argv"][1:] for c in calls] == [SHOW_FX_B]


def test_a_foreign_reservation_that_needs_no_change_is_reported_unchanged(run_module, replay):
    script, calls, slurm_conf = replay
    script.append((SHOW_FX_B, SHOW_FOREIGN))
    kind, result = run_module(slurm_reservation.main, dict(slurm_conf=slurm_conf, name="hpcvm-fx-b",
                                                           users=["root", "nobody"]))
    assert kind == "exit" and result["changed"] is False and result["command"] == []
    assert result["reservation"]["nodes"] == ["vm-disk-001", "vm-disk-002"]


def test_force_deletes_and_changes_it(run_module, replay):
    script, calls, slurm_conf = replay
    script.extend([(SHOW_FX_B, SHOW_FOREIGN), (["delete", "ReservationName=hpcvm-fx-b"], "delete_res_ok")])
    kind, result = run_module(slurm_reservation.main, dict(slurm_conf=slurm_conf, name="hpcvm-fx-b", state="absent",
                                                           force=True))
    assert kind == "exit" and result["changed"] and result["command"] == ["delete", "ReservationName=hpcvm-fx-b"]

    script.extend([(SHOW_FX_B, SHOW_FOREIGN), (["update", "ReservationName=hpcvm-fx-b", "Duration=02:00:00"],
                                               "update_res_ok"), (SHOW_FX_B, SHOW_FOREIGN)])
    kind, result = run_module(slurm_reservation.main, dict(slurm_conf=slurm_conf, name="hpcvm-fx-b", duration="120",
                                                           force=True))
    assert kind == "exit" and result["changed"], result


def test_the_collections_own_reservation_is_deleted_without_force(run_module, replay):
    script, calls, slurm_conf = replay
    show = ["-o", "show", "reservation", "hpcvm-vm-disk-004"]
    script.extend([(show, SHOW_SPAWNED), (["delete", "ReservationName=hpcvm-vm-disk-004"], "delete_res_ok")])
    kind, result = run_module(slurm_reservation.main, dict(slurm_conf=slurm_conf, name="hpcvm-vm-disk-004",
                                                           state="absent"))
    assert kind == "exit" and result["changed"] and len(calls) == 2


def test_a_hostlist_over_the_bound_fails_before_any_command(run_module, replay, monkeypatch):
    _script, calls, slurm_conf = replay
    monkeypatch.setattr("ansible_collections.hpc.slurm_vm.plugins.module_utils.common.nodeset.NodeSet",
                        lambda *a: pytest.fail("ClusterShell parsed %r" % (a,)))
    kind, result = run_module(slurm_reservation.main, dict(slurm_conf=slurm_conf, name="hpcvm-vm-1",
                                                           nodes=["vm-[1-99999999]"], duration="60", users=["root"]))
    assert kind == "fail" and result["error"] == "InvalidInput" and result["names"] == 99999999, result
    assert "more than the limit of 100,000" in result["msg"] and calls == []


def test_the_info_module_says_which_reservations_are_owned(run_module, replay):
    script, _calls, slurm_conf = replay
    both = dict(rc=0, stdout=case("show_res_two")["stdout"] + SPAWNED_LINE + "\n", stderr="")
    script.append((["-o", "show", "reservation"], both))
    kind, result = run_module(slurm_reservation_info.main, dict(slurm_conf=slurm_conf))
    assert kind == "exit", result
    assert [(r["name"], r["owned"]) for r in result["reservations"]] == [
        ("fx-a", False), ("hpcvm-fx-b", False), ("hpcvm-vm-disk-004", True)]


def test_the_snapshot_says_which_reservations_are_ours():
    """The scheduler and the reconciler read the mark from the snapshot: a reservation named like ours
    without it is never planned for removal (the reconciler and the planner's gc skip it)."""
    reservations = parse.snapshot_reservations(SPAWNED_LINE + "\n" + FOREIGN_LINE + "\n")
    assert reservations["hpcvm-vm-disk-004"]["ours"] is True
    assert reservations["hpcvm-fx-b"]["ours"] is False
    other = parse.snapshot_reservations(FOREIGN_LINE.replace("=hpcvm-fx-b ", "=maint-1 ") + "\n")
    assert other["maint-1"]["ours"] is False
