# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reservation comparison: models (parse.reservation_from_record) of captured `scontrol -o show res`, times."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import parse
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import reservation as resv
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.tests.unit.plugins.module_utils.slurm.slurm_replay import case

RECORDS = {r["ReservationName"]: r for r in parse.parse_reservations(case("show_res_two")["stdout"])}


def params(**kwargs):
    base = dict(name="fx-a", nodes=None, start_time=None, end_time=None, duration=None, users=None,
                accounts=None, flags=None, partition=None)
    base.update(kwargs)
    return base


@pytest.fixture
def fx_a():
    return parse.reservation_from_record(RECORDS["fx-a"])


@pytest.fixture
def fx_b():
    return parse.reservation_from_record(RECORDS["hpcvm-fx-b"])


def test_current_is_canonical(fx_a, fx_b):
    assert fx_a["nodes"] == ["vm-disk-003"] and fx_a["users"] == ["root"] and fx_a["accounts"] == []
    assert fx_a["flags"] == [] and fx_a["duration"] == 3600 and fx_a["end"] - fx_a["start"] == 3600
    assert fx_a["partition"] is None and fx_a["state"] == "INACTIVE"
    assert fx_b["nodes"] == ["vm-disk-001", "vm-disk-002"] and fx_b["users"] == ["nobody", "root"]
    assert fx_b["flags"] == ["MAINT"] and fx_b["accounts"] == ["acct1"] and fx_b["duration"] == 86400


@pytest.mark.parametrize("text, offset, relative", [
    ("now", 0, True), ("now+7days", 7 * 86400, True), ("now+90", 5400, True), ("now+2hours", 7200, True),
    ("now+1week", 604800, True), ("now+30seconds", 30, True), ("now-1hour", -3600, True),
])
def test_relative_times(text, offset, relative):
    assert resv.resolve_time(text, 1000000) == (1000000 + offset, relative)


def test_absolute_times_round_trip():
    epoch, relative = resv.resolve_time("2026-12-02T22:18:48", 0)
    assert not relative and resv.format_time(epoch) == "2026-12-02T22:18:48"
    assert resv.resolve_time("2026-12-02T22:18", 0)[0] == epoch - 48


@pytest.mark.parametrize("text", ["tomorrow", "now+7parsecs", "2026-13-01", "now+x"])
def test_bad_times(text):
    with pytest.raises(InvalidInput):
        resv.resolve_time(text, 0)


@pytest.mark.parametrize("name", ["has space", "a=b", "a,b", "", "-lead", "x" * 200])
def test_bad_names(name):
    with pytest.raises(InvalidInput):
        resv.desired_from_params(params(name=name), 0)


@pytest.mark.parametrize("kwargs", [
    dict(users=["bad user"]), dict(accounts=["a=b"]), dict(flags=["MAINT IGNORE"]),
    dict(start_time="now+2hours", end_time="now+1hour"), dict(duration="0"), dict(nodes=["vm-[001"]),
    dict(end_time="now+1hour", duration="60"),
])
def test_bad_inputs(kwargs):
    with pytest.raises(InvalidInput):
        resv.desired_from_params(params(**kwargs), 1000000)


def test_create_needs_nodes_an_end_and_users():
    with pytest.raises(InvalidInput, match="end_time or duration"):
        resv.create_args(resv.desired_from_params(params(nodes=["a"], users=["root"]), 0))
    with pytest.raises(InvalidInput, match="users or accounts"):
        resv.create_args(resv.desired_from_params(params(nodes=["a"], duration="60"), 0))


def test_create_args_are_absolute_and_folded():
    desired = resv.desired_from_params(params(nodes=["vm-disk-002", "vm-disk-001"], start_time="now+1hour",
                                              duration="60", users=["root"], flags=["maint"]), 1796249928)
    args = resv.create_args(desired)
    assert args[:2] == ["ReservationName=fx-a", "Nodes=vm-disk-[001-002]"]
    assert args[2] == "StartTime=%s" % resv.format_time(1796249928 + 3600)
    assert args[3:] == ["Duration=01:00:00", "Users=root", "Flags=MAINT"]


def test_same_fields_no_update(fx_b):
    desired = resv.desired_from_params(params(
        name="hpcvm-fx-b", nodes=["vm-disk-[001-002]"], users=["root", "nobody"], accounts=["acct1"],
        flags=["MAINT", "SPEC_NODES"], duration="1-00:00:00", start_time=resv.format_time(fx_b["start"])), 0)
    assert resv.update_args(fx_b, desired, fx_b["start"] - 7 * 86400, 300) == ([], fx_b)


def test_relative_start_within_tolerance_is_unchanged(fx_a):
    now = fx_a["start"] - 7 * 86400 + 200  # a later run of the same task: 'now+7days' moved by 200 s
    desired = resv.desired_from_params(params(start_time="now+7days", duration="60"), now)
    assert resv.update_args(fx_a, desired, now, 300)[0] == []
    later = now + 400
    desired = resv.desired_from_params(params(start_time="now+7days", duration="60"), later)
    args, after = resv.update_args(fx_a, desired, later, 300)
    assert args == ["StartTime=%s" % resv.format_time(later + 7 * 86400)]
    assert after["end"] - after["start"] == 3600


def test_absolute_start_must_match_to_the_second(fx_a):
    desired = resv.desired_from_params(params(start_time=resv.format_time(fx_a["start"] + 1)), 0)
    assert resv.update_args(fx_a, desired, 0, 300)[0] == ["StartTime=%s" % resv.format_time(fx_a["start"] + 1)]


def test_an_active_reservation_is_not_moved_by_now(fx_a):
    active = dict(fx_a, state="ACTIVE")
    now = fx_a["start"] + 3000
    desired = resv.desired_from_params(params(start_time="now"), now)
    assert resv.update_args(active, desired, now, 300)[0] == []


def test_only_differing_fields_are_sent(fx_b):
    desired = resv.desired_from_params(params(name="hpcvm-fx-b", nodes=["vm-disk-001"], users=["root"],
                                              flags=["IGNORE_JOBS"], duration="02:00:00", partition="vms"), 0)
    args, after = resv.update_args(fx_b, desired, 0, 300)
    assert args == ["Nodes=vm-disk-001", "Users=root", "Flags=IGNORE_JOBS", "Flags-=MAINT", "PartitionName=vms",
                    "Duration=02:00:00"]
    assert after["duration"] == 7200 and after["flags"] == ["IGNORE_JOBS"] and after["accounts"] == ["acct1"]


def test_end_before_start_on_update(fx_a):
    desired = resv.desired_from_params(params(end_time=resv.format_time(fx_a["start"] - 60)), 0)
    with pytest.raises(InvalidInput, match="not after"):
        resv.update_args(fx_a, desired, 0, 300)


def test_prefix_filter(fx_a, fx_b):
    assert [r["name"] for r in resv.filter_by_prefix([fx_a, fx_b], "hpcvm-")] == ["hpcvm-fx-b"]
    assert len(resv.filter_by_prefix([fx_a, fx_b], "")) == 2


def test_public_view(fx_b):
    view = resv.public_view(fx_b)
    assert view["nodes_expression"] == "vm-disk-[001-002]" and view["duration_text"] == "1-00:00:00"
    assert view["start_time"] == RECORDS["hpcvm-fx-b"]["StartTime"]
