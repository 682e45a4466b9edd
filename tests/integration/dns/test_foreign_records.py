# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Records someone else made (a plain TSIG-signed dnspython update, no ownership mark) are not dns_record's:
every task that would change or remove them fails with ForeignRecords, in check mode too, and BIND still
holds them; force: true lets a task through."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from .conftest import FWD, REV

NAME = "t5-foreign.vms.lab.test."
PTR = "81.50.77.10.in-addr.arpa."
ELSEWHERE = "t5-someone.vms.lab.test."


def _rec(check_mode=False, **args):
    args.setdefault("zone", "vms.lab.test")
    args.setdefault("name", "t5-foreign")
    task = {"hpc.slurm_vm.dns_record": args}
    if check_mode:
        task["check_mode"] = True
    return task


def _foreign_by_hand(dnslab):
    assert dnslab.raw_update(FWD, lambda u: (u.add(NAME, 300, "A", "10.77.50.81"),
                                             u.add(NAME, 300, "TXT", '"made by hand"'))) == "NOERROR"
    assert dnslab.raw_update(REV, lambda u: u.add(PTR, 300, "PTR", ELSEWHERE)) == "NOERROR"


def _held(dnslab):
    return dnslab.query(NAME, "A"), dnslab.query(NAME, "TXT"), dnslab.query(PTR, "PTR")


def test_records_without_our_mark_are_neither_changed_nor_removed_without_force(dnslab):
    _foreign_by_hand(dnslab)
    held = _held(dnslab)
    assert held == (("NOERROR", ["10.77.50.81"]), ("NOERROR", ['"made by hand"']), ("NOERROR", [ELSEWHERE]))
    mark = dict(image="deb12", job="81")
    tasks = [
        _rec(ip="10.77.50.82", replace=True),                          # overwrite the A
        _rec(ip="10.77.50.81", mark=mark),                              # take the name over with a mark
        _rec(ip="10.77.50.81", mark=mark, check_mode=True),             # the same, predicted
        _rec(state="absent"),                                           # remove by name
        _rec(ip="10.77.50.81", state="absent", check_mode=True),        # remove by value, predicted
        _rec(ip="10.77.50.81", state="absent"),                         # remove by value
    ]
    results = dnslab.play(tasks)
    for task, result in zip(tasks, results):
        assert result["failed"] and result["error"] == "ForeignRecords", (task, result)
        assert result["changed"] is False and result["claim_failed"] is False
        assert result["foreign"] == [dict(name=NAME, records={"A": ["10.77.50.81"], "TXT": ['"made by hand"']})]
        assert result["msg"].startswith("not ours: %s holds A 10.77.50.81, TXT \"made by hand\"" % NAME)
        assert "force=true" in result["msg"]
        assert dnslab.secret not in str(result)
    assert _held(dnslab) == held
    # a PTR that points elsewhere is not ours either: nor replaced, nor removed by name
    ptr_tasks = [_rec(name="t5-mine", ip="10.77.50.81", ptr=True, mark=mark, replace=True),
                 _rec(name=PTR, zone=REV, type="PTR", state="absent")]
    for result in dnslab.play(ptr_tasks):
        assert result["failed"] and result["error"] == "ForeignRecords", result
        assert result["foreign"] == [dict(name=PTR, records={"PTR": [ELSEWHERE]})]
    assert dnslab.query("t5-mine.vms.lab.test.")[0] == "NXDOMAIN"
    assert _held(dnslab) == held
    # removing our own PTR by address leaves the one that points elsewhere: nothing to do
    (untouched,) = dnslab.play([_rec(name="t5-mine", ip="10.77.50.81", ptr=True, state="absent")])
    assert not untouched.get("failed") and untouched["changed"] is False
    assert _held(dnslab) == held


def test_force_changes_and_removes_them(dnslab):
    _foreign_by_hand(dnslab)
    marked, removed = dnslab.play([
        _rec(ip="10.77.50.81", ptr=True, mark=dict(image="deb12", job="81"), replace=True, force=True),
        _rec(ptr=True, state="absent"),  # marked now: ours, no force needed
    ])
    assert marked["changed"] and not marked.get("failed"), marked
    assert removed["changed"] and not removed.get("failed"), removed
    # the A, our mark and our PTR went; the TXT made by hand was never ours and stays
    assert dnslab.query(NAME, "A") == ("NOERROR", [])
    assert dnslab.query(NAME, "TXT") == ("NOERROR", ['"made by hand"'])
    assert dnslab.query(PTR, "PTR")[0] == "NXDOMAIN"
