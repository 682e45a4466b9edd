# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure DNS planner: comparison with the server's state, claims, grouping by zone, diff."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import model
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import ownership_mark
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import plan
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import records

FWD = "vms.lab.test."
REV = "77.10.in-addr.arpa."
MARK = '"hpc.slurm_vm vm=t5-a image=deb12 job=11"'


# ---------------------------------------------------------------- comparison

NAME = "t5-a.vms.lab.test."


def _state(**rrsets):
    return model.NameState(True, {t: (300, frozenset(v)) for t, v in rrsets.items()})


def _a(values, ttl=300):
    return model.Item(NAME, "A", frozenset(values), ttl, None, FWD)


def _mark(value=MARK):
    return model.Item(NAME, "TXT", frozenset([value]), 300, ownership_mark.MARK_RDATA_PREFIX, FWD)


# (case, items, current, replace) -> expected (before, after) per changed RRset, and conflicts
PRESENT_CASES = [
    ("new name", [_a(["10.77.50.1"])], {}, False, [("A", [], ["10.77.50.1"])], []),
    ("already there", [_a(["10.77.50.1"])], {NAME: _state(A=["10.77.50.1"])}, False, [], []),
    ("ttl only", [_a(["10.77.50.1"], ttl=60)], {NAME: _state(A=["10.77.50.1"])}, False,
     [("A", ["10.77.50.1"], ["10.77.50.1"])], []),
    ("other address, safe", [_a(["10.77.50.1"])], {NAME: _state(A=["10.77.50.2"])}, False, [], ["A"]),
    ("other address, replace", [_a(["10.77.50.1"])], {NAME: _state(A=["10.77.50.2"])}, True,
     [("A", ["10.77.50.2"], ["10.77.50.1"])], []),
    ("extra address, safe", [_a(["10.77.50.1"])], {NAME: _state(A=["10.77.50.1", "10.77.50.2"])}, False, [], ["A"]),
    ("mark beside foreign TXT", [_mark()], {NAME: _state(TXT=['"v=spf1 -all"'])}, False,
     [("TXT", ['"v=spf1 -all"'], ['"v=spf1 -all"', MARK])], []),
    ("same mark", [_mark()], {NAME: _state(TXT=[MARK])}, False, [], []),
    ("other owner's mark, safe", [_mark()], {NAME: _state(TXT=['"hpc.slurm_vm vm=t5-a image=x job=9"'])}, False,
     [], ["TXT"]),
    ("other owner's mark, replace", [_mark()],
     {NAME: _state(TXT=['"hpc.slurm_vm vm=t5-a image=x job=9"', '"keep"'])}, True,
     [("TXT", ['"hpc.slurm_vm vm=t5-a image=x job=9"', '"keep"'], ['"keep"', MARK])], []),
]


@pytest.mark.parametrize("case, items, current, replace, expected, conflict_types", PRESENT_CASES,
                         ids=[c[0] for c in PRESENT_CASES])
def test_plan_present(case, items, current, replace, expected, conflict_types):
    changes, conflicts = plan.plan_present(items, current, replace)
    assert [(c.rtype, sorted(c.before), sorted(c.after)) for c in changes] == \
        [(t, sorted(b), sorted(a)) for t, b, a in expected]
    assert [c["type"] for c in conflicts] == conflict_types
    assert all(c.prereq == model.PREREQ_RRSET for c in changes)


def test_plan_present_keeps_foreign_ttl_for_marks():
    current = {NAME: model.NameState(True, {"TXT": (3600, frozenset(['"foreign"']))})}
    changes = plan.plan_present([_mark()], current)[0]
    assert changes[0].ttl == 3600


ABSENT_CASES = [
    ("by value", model.Item(NAME, "A", frozenset(["10.77.50.1"]), 300, None, FWD),
     {NAME: _state(A=["10.77.50.1", "10.77.50.2"])}, [("A", ["10.77.50.2"])]),
    ("value not there", model.Item(NAME, "A", frozenset(["10.77.50.9"]), 300, None, FWD),
     {NAME: _state(A=["10.77.50.1"])}, []),
    ("whole rrset", model.Item(NAME, "A", None, 300, None, FWD), {NAME: _state(A=["10.77.50.1", "10.77.50.2"])},
     [("A", [])]),
    ("missing name", model.Item(NAME, "A", None, 300, None, FWD), {}, []),
    ("all our marks, foreign TXT stays", model.Item(NAME, "TXT", None, 300, ownership_mark.MARK_RDATA_PREFIX, FWD),
     {NAME: _state(TXT=[MARK, '"foreign"'])}, [("TXT", ['"foreign"'])]),
    ("ptr pointing elsewhere stays", records.ptr_item("10.77.50.1", NAME, 300, REV),
     {"1.50.77.10.in-addr.arpa.": _state(PTR=["other.vms.lab.test."])}, []),
    ("ptr pointing at us goes", records.ptr_item("10.77.50.1", NAME, 300, REV),
     {"1.50.77.10.in-addr.arpa.": _state(PTR=[NAME])}, [("PTR", [])]),
]


@pytest.mark.parametrize("case, item, current, expected", ABSENT_CASES, ids=[c[0] for c in ABSENT_CASES])
def test_plan_absent(case, item, current, expected):
    changes = plan.plan_absent([item], current)
    assert [(c.rtype, sorted(c.after)) for c in changes] == expected


def test_plan_claim_free_taken_and_rerun():
    ptr = records.ptr_item("10.77.50.1", NAME, 300, REV)
    items = [_a(["10.77.50.1"]), _mark(), ptr]
    changes, taken = plan.plan_claim(items, {})
    assert taken == [] and len(changes) == 3
    assert {c.prereq for c in changes} == {model.PREREQ_NAME_ABSENT}
    # someone else's name
    changes, taken = plan.plan_claim(items, {NAME: _state(A=["10.77.50.7"])})
    assert taken == [NAME]
    # a re-run of the same claim (same records, same mark): ours, nothing to do
    ours = {NAME: _state(A=["10.77.50.1"], TXT=[MARK]), ptr.name: _state(PTR=[NAME])}
    assert plan.plan_claim(items, ours) == ([], [])
    # same address but another job's mark: taken
    other = {NAME: _state(A=["10.77.50.1"], TXT=['"hpc.slurm_vm vm=t5-a image=deb12 job=12"'])}
    assert plan.plan_claim(items, other)[1] == [NAME]
    # without a mark a claim cannot tell a re-run from a rival: taken
    assert plan.plan_claim([_a(["10.77.50.1"])], {NAME: _state(A=["10.77.50.1"])})[1] == [NAME]
    # a stale PTR on the address blocks the claim
    assert plan.plan_claim(items, {ptr.name: _state(PTR=["old.vms.lab.test."])})[1] == [ptr.name]


def test_group_by_zone_puts_forward_first_and_inverse_undoes():
    c_rev = model.Change(REV, "1.50.77.10.in-addr.arpa.", "PTR", frozenset(), None, frozenset([NAME]), 300, "rrset")
    c_fwd = model.Change(FWD, NAME, "A", frozenset(), None, frozenset(["10.77.50.1"]), 300, "rrset")
    c_fwd2 = c_fwd._replace(name="t5-b.vms.lab.test.")
    groups = plan.group_by_zone([c_rev, c_fwd, c_fwd2])
    assert list(groups) == [FWD, REV]
    assert groups[FWD] == [c_fwd, c_fwd2]
    undo = plan.inverse(c_fwd)
    assert (undo.before, undo.after, undo.ttl, undo.prereq) == (c_fwd.after, frozenset(), None, model.PREREQ_RRSET)


def test_unapplied_and_diff():
    change = model.Change(FWD, NAME, "A", frozenset(), None, frozenset(["10.77.50.1"]), 300, "rrset")
    assert plan.unapplied([change], {NAME: _state(A=["10.77.50.1"])}) == []
    # BIND ignores an A next to a CNAME: the query shows no A
    assert plan.unapplied([change], {NAME: _state(CNAME=["x.vms.lab.test."])}) == [change]
    diff = plan.diff_of([change])
    assert diff == {"before": "", "after": "t5-a.vms.lab.test. 300 IN A 10.77.50.1\n"}
    assert plan.change_result(change)["after"] == ["10.77.50.1"]


# ---------------------------------------------------------------- ownership (option force)

PTR_NAME = "1.50.77.10.in-addr.arpa."
FOREIGN_MARK_JOB = '"hpc.slurm_vm vm=t5-a image=x job=9"'

# (case, state at the name, zone, PTR targets the task gives) -> ours?
OWNERSHIP_CASES = [
    ("no such name", model.NameState(), FWD, frozenset(), True),
    ("our mark", _state(A=["10.77.50.1"], TXT=[MARK]), FWD, frozenset(), True),
    ("another job's mark", _state(A=["10.77.50.1"], TXT=[FOREIGN_MARK_JOB]), FWD, frozenset(), True),
    ("a bare A", _state(A=["10.77.50.1"]), FWD, frozenset(), False),
    ("a foreign TXT only", _state(TXT=['"v=spf1 -all"']), FWD, frozenset(), False),
    ("a CNAME", _state(CNAME=["t5-target.vms.lab.test."]), FWD, frozenset(), False),
    ("exists, nothing read", model.NameState(True), FWD, frozenset(), False),
    ("ptr at our name", _state(PTR=[NAME]), REV, frozenset([NAME]), True),
    ("ptr elsewhere", _state(PTR=["other.vms.lab.test."]), REV, frozenset([NAME]), False),
    ("ptr at us and elsewhere", _state(PTR=[NAME, "other.vms.lab.test."]), REV, frozenset([NAME]), False),
    ("ptr removed without a value", _state(PTR=[NAME]), REV, None, False),
    ("ptr in a forward zone", _state(PTR=[NAME]), FWD, frozenset([NAME]), False),
]


@pytest.mark.parametrize("case, state, zone, targets, ours", OWNERSHIP_CASES, ids=[c[0] for c in OWNERSHIP_CASES])
def test_is_ours(case, state, zone, targets, ours):
    assert plan.is_ours(state, zone, targets) is ours


def test_foreign_names_takes_the_ptr_targets_from_the_items():
    ptr = records.ptr_item("10.77.50.1", NAME, 300, REV)
    elsewhere = {PTR_NAME: _state(PTR=["other.vms.lab.test."]), NAME: _state(A=["10.77.50.1"], TXT=[MARK])}
    assert plan.foreign_names([NAME, PTR_NAME, PTR_NAME], [_a(["10.77.50.1"]), ptr], elsewhere) == [PTR_NAME]
    at_us = {PTR_NAME: _state(PTR=[NAME])}
    assert plan.foreign_names([PTR_NAME], [ptr], at_us) == []
    # an explicit PTR record removed by name (values None) cannot tell whose the PTR is
    by_name = model.Item(PTR_NAME, "PTR", None, 300, None, REV)
    assert plan.foreign_names([PTR_NAME], [ptr, by_name], at_us) == [PTR_NAME]


def test_held_records_lists_the_non_empty_rrsets():
    state = model.NameState(True, {"A": (300, frozenset(["10.77.50.2", "10.77.50.1"])), "TXT": (None, frozenset())})
    assert plan.held_records(state) == {"A": ["10.77.50.1", "10.77.50.2"]}
