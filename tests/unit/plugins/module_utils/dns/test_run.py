# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""manage_records (dns/run.py) against a server held in memory: names that are not ours are refused, with and
without replace, in check mode too, before anything is sent; force lets them through."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import errors, model
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import run as dns_run

FWD = "vms.lab.test."
REV = "77.10.in-addr.arpa."
NAME = "t5-own.vms.lab.test."
PTR_NAME = "61.50.77.10.in-addr.arpa."
MARK = '"hpc.slurm_vm vm=t5-own image=deb12 job=61"'


class MemoryServer(object):
    """The DnsClient calls manage_records makes, on {name: {type: values}}; reads show only the types asked
    for, as queries do."""

    def __init__(self, names):
        self.names = {name: {t: frozenset(v) for t, v in rrsets.items()} for name, rrsets in names.items()}
        self.sent = []
        self.stats = dict(queries=0, transfers=0, updates=0)

    def find_zone(self, fqdn):
        return REV if fqdn.endswith(".arpa.") else FWD

    def read_names(self, zone, names_types):
        states = {}
        for name, types in names_types.items():
            held = self.names.get(name)
            rrsets = {t: (300, v) for t, v in (held or {}).items() if t in types | {"CNAME"} and v}
            states[name] = model.NameState(held is not None, rrsets)
        return states

    def update(self, zone, changes):
        self.stats["updates"] += 1
        self.sent.append((zone, changes))
        for change in changes:
            self.names.setdefault(change.name, {})[change.rtype] = change.after
            if not any(self.names[change.name].values()):
                del self.names[change.name]
        return 1


def _run(server, check_mode=False, **params):
    params.setdefault("zone", "vms.lab.test")
    params.setdefault("name", "t5-own")
    return dns_run.manage_records(server, dns_run.build_request(params), check_mode=check_mode)


BARE_A = {NAME: {"A": ["10.77.50.61"]}}
MARKED = {NAME: {"A": ["10.77.50.61"], "TXT": [MARK]}, PTR_NAME: {"PTR": [NAME]}}
OWN_MARK = dict(image="deb12", job="61")

# case -> (server, module parameters): each would change or remove records at a name that is not ours
REFUSED = {
    "present, other address": (BARE_A, dict(ip="10.77.50.62")),
    "present, replace": (BARE_A, dict(ip="10.77.50.62", replace=True)),
    "present, add a mark to a bare A": (BARE_A, dict(ip="10.77.50.61", mark=OWN_MARK)),
    "present, beside a foreign TXT": ({NAME: {"TXT": ['"v=spf1 -all"']}}, dict(ip="10.77.50.61", mark=OWN_MARK)),
    "present, beside an AAAA not read": ({NAME: {"AAAA": ["fd77::61"]}}, dict(ip="10.77.50.61")),
    "present, ttl of a bare A": (BARE_A, dict(ip="10.77.50.61", ttl=60)),
    "absent by name": (BARE_A, dict(state="absent")),
    "absent by value": (BARE_A, dict(ip="10.77.50.61", state="absent")),
    "absent, a CNAME": ({NAME: {"CNAME": ["t5-target.vms.lab.test."]}}, dict(type="CNAME", state="absent")),
}


@pytest.mark.parametrize("check_mode", [False, True], ids=["real", "check"])
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_name_that_is_not_ours_is_refused_and_nothing_is_sent(case, check_mode):
    names, params = REFUSED[case]
    server = MemoryServer(names)
    before = dict(server.names)
    with pytest.raises(errors.ForeignRecords) as caught:
        _run(server, check_mode=check_mode, **params)
    result = caught.value.to_result()
    assert result["error"] == "ForeignRecords"
    held = {t: sorted(v) for t, v in names[NAME].items()}
    assert result["foreign"] == [dict(name=NAME, records=held)]
    assert result["msg"].startswith("not ours: %s holds " % NAME)
    for rtype, values in held.items():
        assert "%s %s" % (rtype, " ".join(values)) in result["msg"]
    assert "force=true" in result["msg"]
    assert server.sent == [] and server.names == before
    # force (with replace, for an RRset that holds other values) lets the same task through
    forced = _run(server, check_mode=check_mode, force=True, **dict(params, replace=True))
    assert forced["changed"] is True
    assert bool(server.sent) is not check_mode


def test_a_conflict_on_a_name_that_is_not_ours_is_reported_as_not_ours():
    with pytest.raises(errors.ForeignRecords):
        _run(MemoryServer(BARE_A), ip="10.77.50.62")
    # forced, the RRset still is not replaced without replace
    with pytest.raises(errors.RecordConflict):
        _run(MemoryServer(BARE_A), ip="10.77.50.62", force=True)


def test_a_ptr_that_points_elsewhere_is_not_ours():
    names = {PTR_NAME: {"PTR": ["someone.vms.lab.test."]}}
    for params in (dict(ip="10.77.50.61", ptr=True, mark=OWN_MARK, replace=True),
                   dict(name="61.50.77.10.in-addr.arpa.", zone=REV, type="PTR", state="absent")):
        server = MemoryServer(names)
        with pytest.raises(errors.ForeignRecords) as caught:
            _run(server, **params)
        assert caught.value.details["foreign"] == [dict(name=PTR_NAME, records={"PTR": ["someone.vms.lab.test."]})]
        assert server.sent == []
    # removing our PTR by address leaves a PTR that points elsewhere alone: nothing to change, nothing refused
    server = MemoryServer(names)
    assert _run(server, ip="10.77.50.61", ptr=True, state="absent")["changed"] is False


def test_our_names_change_as_before():
    # teardown by name: A, mark and the PTR that points at the name
    server = MemoryServer(MARKED)
    result = _run(server, ptr=True, state="absent")
    assert result["changed"] and server.names == {}
    # a PTR removed by its value, pointing at that value
    server = MemoryServer({PTR_NAME: {"PTR": [NAME]}})
    result = _run(server, name=PTR_NAME, zone=REV, type="PTR", value=[NAME], state="absent")
    assert result["changed"] and server.names == {}
    # another job's mark: replace moves it (claim/tasks/mark.yml)
    server = MemoryServer(MARKED)
    result = _run(server, ip="10.77.50.61", ptr=True, replace=True, mark=dict(image="deb12", job="62"))
    assert [c["type"] for c in result["changes"]] == ["TXT"]
    # an idempotent run on a name that is not ours changes nothing and is not refused
    server = MemoryServer(BARE_A)
    assert _run(server, ip="10.77.50.61")["changed"] is False
    # a free name
    server = MemoryServer({})
    assert _run(server, ip="10.77.50.61", ptr=True, mark=OWN_MARK)["changed"] is True
    assert server.names[NAME]["TXT"] == frozenset([MARK])


def test_a_claim_is_not_forced_onto_a_taken_name():
    with pytest.raises(errors.NameTaken):
        _run(MemoryServer(BARE_A), ip="10.77.50.61", claim=True, mark=OWN_MARK, force=True)
