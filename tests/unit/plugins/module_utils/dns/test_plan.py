# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure DNS planner: names, reverse names, marks, comparison, grouping by zone."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import plan
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput

FWD = "vms.lab.test."
REV = "77.10.in-addr.arpa."
MARK = '"hpc.slurm_vm vm=t5-a image=deb12 job=11"'


@pytest.mark.parametrize("name, zone, expected", [
    ("vm-deb12-001", "vms.lab.test", "vm-deb12-001.vms.lab.test."),
    ("VM-Deb12-001", "vms.lab.test.", "vm-deb12-001.vms.lab.test."),
    ("vm-deb12-001.vms.lab.test", None, "vm-deb12-001.vms.lab.test."),
    ("vm-deb12-001.vms.lab.test.", "other.test", "vm-deb12-001.vms.lab.test."),
    ("a.b", "vms.lab.test", "a.b."),  # a dot means fully qualified
    ("_srv-x.vms.lab.test", None, "_srv-x.vms.lab.test."),
])
def test_absolute_name(name, zone, expected):
    assert plan.absolute_name(name, zone) == expected


@pytest.mark.parametrize("name, zone", [
    ("vm-deb12-001", None), ("", "z.test"), ("bad name", "z.test"), ("-lead", "z.test"), ("trail-", "z.test"),
    ("a" * 64, "z.test"), ("a..b", None), ("x;rm", "z.test"), ("\u00e9t\u00e9", "z.test"), (".", None),
])
def test_absolute_name_rejects(name, zone):
    with pytest.raises(InvalidInput):
        plan.absolute_name(name, zone)


@pytest.mark.parametrize("ip, expected", [
    ("10.77.50.5", "5.50.77.10.in-addr.arpa."),
    ("10.77.1.1", "1.1.77.10.in-addr.arpa."),
    ("fd00::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa."),
])
def test_reverse_name(ip, expected):
    assert plan.reverse_name(ip) == expected


def test_reverse_name_rejects_garbage():
    with pytest.raises(InvalidInput):
        plan.reverse_name("10.77.300.1")


ZONES = [FWD, REV, "sub.vms.lab.test.", "arpa."]


@pytest.mark.parametrize("name, expected", [
    ("5.50.77.10.in-addr.arpa.", REV),  # not the shorter arpa.
    ("t5-a.vms.lab.test.", FWD),
    ("x.sub.vms.lab.test.", "sub.vms.lab.test."),
    ("vms.lab.test.", FWD),
    ("xvms.lab.test.", None),  # a suffix match must fall on a label boundary
    ("example.invalid.", None),
])
def test_zone_of_takes_the_longest(name, expected):
    assert plan.zone_of(name, ZONES) == expected


def test_parent_and_relative():
    assert plan.parent_name("a.b.c.") == "b.c."
    assert plan.parent_name("c.") is None
    assert plan.relative_label("t5-a.vms.lab.test.", FWD) == "t5-a"
    assert plan.relative_label(FWD, FWD) == "@"
    assert plan.is_reverse_zone(REV) and not plan.is_reverse_zone(FWD)


@pytest.mark.parametrize("text, rdata", [
    ("plain", '"plain"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ("hpc.slurm_vm vm=a image=b job=1", '"hpc.slurm_vm vm=a image=b job=1"'),
])
def test_txt_round_trip(text, rdata):
    assert plan.txt_rdata(text) == rdata
    assert plan.txt_text(rdata) == text


def test_txt_text_reads_dnspython_escapes_and_split_strings():
    assert plan.txt_text('"a\\059b"') == "a;b"
    assert plan.txt_text('"part1" "part2"') == "part1part2"


@pytest.mark.parametrize("text", ["tab\there", "\u00e9", "x" * 256])
def test_txt_rejects(text):
    with pytest.raises(InvalidInput):
        plan.txt_rdata(text)


def test_mark_format_and_parse():
    text = plan.format_mark({"image": "deb12", "job": 4711}, default_vm="vm-deb12-001")
    assert text == "hpc.slurm_vm vm=vm-deb12-001 image=deb12 job=4711"
    assert plan.parse_mark(text) == {"vm": "vm-deb12-001", "image": "deb12", "job": "4711"}
    assert plan.parse_mark(plan.txt_rdata(text)) == {"vm": "vm-deb12-001", "image": "deb12", "job": "4711"}
    assert plan.parse_mark('"v=spf1 -all"') is None
    assert plan.parse_mark("hpc.slurm_vmx vm=a") is None


@pytest.mark.parametrize("mark", [
    {"image": "deb12"},                       # no job
    {"image": "deb 12", "job": "1"},          # space would forge another field
    {"image": "deb12", "job": "1", "x": 1},   # unknown field
    {"image": "deb12", "job": '1"'},          # quote
])
def test_mark_rejects(mark):
    with pytest.raises(InvalidInput):
        plan.format_mark(mark, default_vm="h")


# ---------------------------------------------------------------- record specs

def _spec(**kw):
    return plan.record_spec(kw, {"ttl": None, "ptr": False, "zone": None, "mark": None})


def test_spec_infers_type_from_ip():
    assert _spec(name="a", ip="10.77.50.1").rtype == "A"
    assert _spec(name="a", ip="fd00::1").rtype == "AAAA"
    assert _spec(name="a", ip="10.77.50.1").ttl == plan.DEFAULT_TTL


def test_spec_top_level_defaults_apply_to_records():
    spec = plan.record_spec({"name": "a", "ip": "10.77.50.1", "ttl": None}, {"ttl": 60, "ptr": True, "zone": "z.test"})
    assert (spec.ttl, spec.ptr, spec.zone) == (60, True, "z.test.")


@pytest.mark.parametrize("record, message", [
    ({"name": "a", "ip": "10.77.50.1", "value": ["x"]}, "either ip or value"),
    ({"name": "a", "ip": "10.77.50.1", "type": "AAAA"}, "needs type A"),
    ({"name": "a", "type": "MX", "value": ["x"]}, "not supported"),
    ({"name": "a", "type": "CNAME", "value": ["x", "y"]}, "exactly one"),
    ({"name": "a", "type": "TXT", "value": ["x"], "ptr": True}, "ptr needs"),
    ({"name": "a", "ip": "10.77.50.1", "ttl": -1}, "out of range"),
    ({"ip": "10.77.50.1"}, "needs a name"),
])
def test_spec_rejects(record, message):
    with pytest.raises(InvalidInput, match=message):
        _spec(**record)


def test_forward_items_with_mark():
    spec = _spec(name="t5-a", ip="10.77.50.1", mark={"image": "deb12", "job": "11"}, zone="vms.lab.test")
    items = plan.forward_items(spec, "t5-a.vms.lab.test.", FWD, "present")
    assert items == [
        plan.Item("t5-a.vms.lab.test.", "A", frozenset(["10.77.50.1"]), 300, None, FWD),
        plan.Item("t5-a.vms.lab.test.", "TXT", frozenset([MARK]), 300, plan.MARK_RDATA_PREFIX, FWD),
    ]


def test_forward_items_present_needs_a_value():
    with pytest.raises(InvalidInput, match="needs ip or value"):
        plan.forward_items(_spec(name="t5-a"), "t5-a.vms.lab.test.", FWD, "present")


def test_cname_value_relative_to_zone():
    spec = _spec(name="alias", type="CNAME", value=["t5-a"])
    item = plan.forward_items(spec, "alias.vms.lab.test.", FWD, "present")[0]
    assert item.values == frozenset(["t5-a.vms.lab.test."])


def test_merge_items_folds_duplicates_and_rejects_contradictions():
    a = plan.Item("n.z.", "A", frozenset(["10.0.0.1"]), 300, None, "z.")
    assert plan.merge_items([a, a]) == [a]
    with pytest.raises(InvalidInput, match="given twice"):
        plan.merge_items([a, a._replace(values=frozenset(["10.0.0.2"]))])
    ptr1 = plan.ptr_item("10.77.50.1", "a.z.", 300, REV)
    with pytest.raises(InvalidInput, match="given twice"):
        plan.merge_items([ptr1, plan.ptr_item("10.77.50.1", "b.z.", 300, REV)])


# ---------------------------------------------------------------- comparison

NAME = "t5-a.vms.lab.test."


def _state(**rrsets):
    return plan.NameState(True, {t: (300, frozenset(v)) for t, v in rrsets.items()})


def _a(values, ttl=300):
    return plan.Item(NAME, "A", frozenset(values), ttl, None, FWD)


def _mark(value=MARK):
    return plan.Item(NAME, "TXT", frozenset([value]), 300, plan.MARK_RDATA_PREFIX, FWD)


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
    assert all(c.prereq == plan.PREREQ_RRSET for c in changes)


def test_plan_present_keeps_foreign_ttl_for_marks():
    current = {NAME: plan.NameState(True, {"TXT": (3600, frozenset(['"foreign"']))})}
    changes = plan.plan_present([_mark()], current)[0]
    assert changes[0].ttl == 3600


ABSENT_CASES = [
    ("by value", plan.Item(NAME, "A", frozenset(["10.77.50.1"]), 300, None, FWD),
     {NAME: _state(A=["10.77.50.1", "10.77.50.2"])}, [("A", ["10.77.50.2"])]),
    ("value not there", plan.Item(NAME, "A", frozenset(["10.77.50.9"]), 300, None, FWD),
     {NAME: _state(A=["10.77.50.1"])}, []),
    ("whole rrset", plan.Item(NAME, "A", None, 300, None, FWD), {NAME: _state(A=["10.77.50.1", "10.77.50.2"])},
     [("A", [])]),
    ("missing name", plan.Item(NAME, "A", None, 300, None, FWD), {}, []),
    ("all our marks, foreign TXT stays", plan.Item(NAME, "TXT", None, 300, plan.MARK_RDATA_PREFIX, FWD),
     {NAME: _state(TXT=[MARK, '"foreign"'])}, [("TXT", ['"foreign"'])]),
    ("ptr pointing elsewhere stays", plan.ptr_item("10.77.50.1", NAME, 300, REV),
     {"1.50.77.10.in-addr.arpa.": _state(PTR=["other.vms.lab.test."])}, []),
    ("ptr pointing at us goes", plan.ptr_item("10.77.50.1", NAME, 300, REV),
     {"1.50.77.10.in-addr.arpa.": _state(PTR=[NAME])}, [("PTR", [])]),
]


@pytest.mark.parametrize("case, item, current, expected", ABSENT_CASES, ids=[c[0] for c in ABSENT_CASES])
def test_plan_absent(case, item, current, expected):
    changes = plan.plan_absent([item], current)
    assert [(c.rtype, sorted(c.after)) for c in changes] == expected


def test_plan_claim_free_taken_and_rerun():
    ptr = plan.ptr_item("10.77.50.1", NAME, 300, REV)
    items = [_a(["10.77.50.1"]), _mark(), ptr]
    changes, taken = plan.plan_claim(items, {})
    assert taken == [] and len(changes) == 3
    assert {c.prereq for c in changes} == {plan.PREREQ_NAME_ABSENT}
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
    c_rev = plan.Change(REV, "1.50.77.10.in-addr.arpa.", "PTR", frozenset(), None, frozenset([NAME]), 300, "rrset")
    c_fwd = plan.Change(FWD, NAME, "A", frozenset(), None, frozenset(["10.77.50.1"]), 300, "rrset")
    c_fwd2 = c_fwd._replace(name="t5-b.vms.lab.test.")
    groups = plan.group_by_zone([c_rev, c_fwd, c_fwd2])
    assert list(groups) == [FWD, REV]
    assert groups[FWD] == [c_fwd, c_fwd2]
    undo = plan.inverse(c_fwd)
    assert (undo.before, undo.after, undo.ttl, undo.prereq) == (c_fwd.after, frozenset(), None, plan.PREREQ_RRSET)


def test_unapplied_and_diff():
    change = plan.Change(FWD, NAME, "A", frozenset(), None, frozenset(["10.77.50.1"]), 300, "rrset")
    assert plan.unapplied([change], {NAME: _state(A=["10.77.50.1"])}) == []
    # BIND ignores an A next to a CNAME: the query shows no A
    assert plan.unapplied([change], {NAME: _state(CNAME=["x.vms.lab.test."])}) == [change]
    diff = plan.diff_of([change])
    assert diff == {"before": "", "after": "t5-a.vms.lab.test. 300 IN A 10.77.50.1\n"}
    assert plan.change_result(change)["after"] == ["10.77.50.1"]
