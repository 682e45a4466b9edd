# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dns_record and dns_record_info against the lab's BIND, run as playbooks.

The check/real/repeat/modify/delete matrix, A+PTR pairs, batches with marks,
the CNAME case, and claims (including two racing for one name).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import concurrent.futures

import pytest
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import client as dns_client
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import errors as dns_errors
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import model as dns_model
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import run as dns_service

from .conftest import FWD, KEY

NAME = "t5-matrix.vms.lab.test."
PTR = "21.50.77.10.in-addr.arpa."


def _rec(**args):
    task = {"hpc.slurm_vm.dns_record": dict(args)}
    for key in ("check_mode", "diff"):
        if key in task["hpc.slurm_vm.dns_record"]:
            task[key] = task["hpc.slurm_vm.dns_record"].pop(key)
    return task


def _info(**args):
    return {"hpc.slurm_vm.dns_record_info": args}


def test_check_real_repeat_modify_delete_matrix_for_an_a_ptr_pair(dnslab):
    # marked: a name without the mark is not the module's to change or remove (test_foreign_records.py)
    one = dict(name="t5-matrix", zone="vms.lab.test", ip="10.77.50.21", ptr=True, mark=dict(image="deb12", job="21"))
    # create: check mode predicts and changes nothing
    (check,) = dnslab.play([_rec(check_mode=True, diff=True, **one)])
    assert check["changed"] and not check.get("failed")
    assert check["updates"] == 0
    assert "+t5-matrix.vms.lab.test. 300 IN A 10.77.50.21" in "\n".join(
        "+" + line for line in check["diff"]["after"].splitlines())
    assert dnslab.query(NAME) == ("NXDOMAIN", [])
    # create, then create again (no change), then the same again in check mode (no change predicted)
    create, again, again_check = dnslab.play([_rec(diff=True, **one), _rec(**one), _rec(check_mode=True, **one)])
    assert create["changed"] and create["updates"] == 2 and create["zones"] == [FWD, "77.10.in-addr.arpa."]
    assert dnslab.query(NAME, "TXT") == ("NOERROR", ['"hpc.slurm_vm vm=t5-matrix image=deb12 job=21"'])
    assert create["diff"]["before"] == ""
    assert not again["changed"] and again["updates"] == 0 and again["changes"] == []
    assert not again_check["changed"]
    assert dnslab.query(NAME) == ("NOERROR", ["10.77.50.21"])
    assert dnslab.query(PTR, "PTR") == ("NOERROR", [NAME])
    # modify: without replace it fails and changes nothing; check mode with replace predicts; replace applies
    moved = dict(one)
    moved["ip"] = "10.77.50.22"
    safe, check_replace, replace, replace_again = dnslab.play([
        _rec(**moved), _rec(check_mode=True, replace=True, **moved), _rec(replace=True, diff=True, **moved),
        _rec(replace=True, **moved)])
    assert safe["failed"] and safe["error"] == "RecordConflict"
    assert safe["conflicts"] == [dict(name=NAME, type="A", current=["10.77.50.21"], wanted=["10.77.50.22"])]
    assert check_replace["changed"] and check_replace["updates"] == 0
    assert replace["changed"] and replace["diff"]["before"].startswith("21.50.77.10") is False
    assert "10.77.50.21" in replace["diff"]["before"] and "10.77.50.22" in replace["diff"]["after"]
    assert not replace_again["changed"]
    assert dnslab.query(NAME) == ("NOERROR", ["10.77.50.22"])
    assert dnslab.query("22.50.77.10.in-addr.arpa.", "PTR") == ("NOERROR", [NAME])
    # the old address's PTR is not ours to remove by a replace of the A: it stays until removed by ip
    assert dnslab.query(PTR, "PTR") == ("NOERROR", [NAME])
    # delete by name (A, PTRs of the current addresses, marks): check, real, again
    gone = dict(name="t5-matrix", zone="vms.lab.test", ptr=True, state="absent")
    check_del, delete, delete_again = dnslab.play([_rec(check_mode=True, **gone), _rec(diff=True, **gone),
                                                   _rec(**gone)])
    assert check_del["changed"] and check_del["updates"] == 0
    assert delete["changed"] and delete["diff"]["after"] == ""
    assert not delete_again["changed"]
    assert dnslab.query(NAME) == ("NXDOMAIN", [])
    assert dnslab.query("22.50.77.10.in-addr.arpa.", "PTR")[0] == "NXDOMAIN"
    # the stale PTR of the first address goes by ip
    (stale,) = dnslab.play([_rec(name="t5-matrix", zone="vms.lab.test", ip="10.77.50.21", ptr=True,
                                 state="absent")])
    assert stale["changed"]
    assert dnslab.ours() == ({}, {})


def test_zone_is_found_by_soa_and_txt_values_are_escaped(dnslab):
    created, listed = dnslab.play([
        _rec(records=[dict(name="t5-auto.vms.lab.test", ip="10.77.50.23", ptr=True),
                      dict(name="t5-six.vms.lab.test", ip="fd77::50:23"),
                      dict(name="t5-text.vms.lab.test", type="TXT", value=['say "hi"; \\ok'])]),
        _info(names=["t5-auto.vms.lab.test", "t5-six.vms.lab.test", "t5-text.vms.lab.test"]),
    ])
    assert created["changed"] and created["zones"] == [FWD, "77.10.in-addr.arpa."]
    assert dnslab.query("23.50.77.10.in-addr.arpa.", "PTR") == ("NOERROR", ["t5-auto.vms.lab.test."])
    assert dnslab.query("t5-six.vms.lab.test.", "AAAA") == ("NOERROR", ["fd77::50:23"])
    assert dnslab.query("t5-text.vms.lab.test.", "TXT") == ("NOERROR", ['"say \\"hi\\"; \\\\ok"'])
    records = {(r["name"], r["type"]): r["value"] for r in listed["records"]}
    assert records[("t5-six.vms.lab.test.", "AAAA")] == "fd77::50:23"
    (again,) = dnslab.play([_rec(name="t5-text.vms.lab.test", type="TXT", value=['say "hi"; \\ok'])])
    assert not again["changed"]


def test_a_batch_of_pairs_with_marks_is_one_update_per_zone_and_listed_with_marks(dnslab):
    records = [dict(name="t5-batch-%02d" % i, ip="10.77.50.%d" % (100 + i), mark=dict(image="deb12", job=str(500 + i)))
               for i in range(40)]
    names = ["t5-batch-%02d.vms.lab.test." % i for i in range(40)]
    check, create, again, listed, by_name = dnslab.play([
        _rec(check_mode=True, zone="vms.lab.test", ptr=True, records=records),
        _rec(zone="vms.lab.test", ptr=True, records=records),
        _rec(zone="vms.lab.test", ptr=True, records=records),
        _info(zone="vms.lab.test", prefix="t5-batch-", owned_only=True),
        _info(zone="77.10.in-addr.arpa", prefix="1", types=["PTR"]),
    ])
    assert check["changed"] and len(check["changes"]) == 120 and check["updates"] == 0
    assert create["changed"] and create["updates"] == 2 and len(create["changes"]) == 120
    assert not again["changed"]
    assert listed["owned"] == names
    entry = listed["names"][7]
    assert entry["mark"] == dict(vm="t5-batch-07", image="deb12", job="507")
    assert entry["records"]["A"] == ["10.77.50.107"]
    ptrs = {r["name"]: r["value"] for r in by_name["records"] if r["name"].endswith(".50.77.10.in-addr.arpa.")}
    assert ptrs["107.50.77.10.in-addr.arpa."] == "t5-batch-07.vms.lab.test."
    # a changed mark (a new host job) is another owner's: refused without replace
    moved = [dict(r, mark=dict(image="deb12", job="999")) for r in records[:2]]
    refused, replaced = dnslab.play([_rec(zone="vms.lab.test", records=moved),
                                     _rec(zone="vms.lab.test", records=moved, replace=True)])
    assert refused["failed"] and {c["type"] for c in refused["conflicts"]} == {"TXT"}
    assert replaced["changed"] and len(replaced["changes"]) == 2
    # teardown by name: A, PTR and mark go together, in one task
    gone = [dict(name=r["name"]) for r in records]
    delete, delete_again, after = dnslab.play([
        _rec(zone="vms.lab.test", ptr=True, state="absent", records=gone),
        _rec(zone="vms.lab.test", ptr=True, state="absent", records=gone),
        _info(zone="vms.lab.test", prefix="t5-batch-"),
    ])
    assert delete["changed"] and delete["updates"] == 2 and len(delete["changes"]) == 120
    assert not delete_again["changed"]
    assert after["names"] == []
    assert dnslab.ours() == ({}, {})


def test_an_a_next_to_a_cname_is_caught_by_verification_and_rolled_back(dnslab):
    # a CNAME cannot carry the ownership mark, so changing its name needs force
    cname, a_at_cname, conflict, foreign = dnslab.play([
        _rec(name="t5-alias", zone="vms.lab.test", type="CNAME", value=["t5-target"]),
        _rec(name="t5-alias", zone="vms.lab.test", ip="10.77.50.31", ptr=True, force=True),
        _rec(name="t5-alias", zone="vms.lab.test", type="CNAME", value=["t5-elsewhere"], force=True),
        _rec(name="t5-alias", zone="vms.lab.test", type="CNAME", value=["t5-elsewhere"], replace=True),
    ])
    assert cname["changed"]
    assert dnslab.query("t5-alias.vms.lab.test.", "CNAME") == ("NOERROR", ["t5-target.vms.lab.test."])
    # BIND answered NOERROR but ignored the A: the module says so and takes the PTR back
    assert a_at_cname["failed"] and a_at_cname["error"] == "UpdateNotApplied"
    assert "CNAME" in a_at_cname["msg"] and a_at_cname["not_applied"][0]["type"] == "A"
    assert a_at_cname["rollback_errors"] == []
    assert dnslab.query("31.50.77.10.in-addr.arpa.", "PTR")[0] == "NXDOMAIN"
    assert conflict["failed"] and conflict["error"] == "RecordConflict"
    assert foreign["failed"] and foreign["error"] == "ForeignRecords"
    assert foreign["foreign"] == [dict(name="t5-alias.vms.lab.test.", records={"CNAME": ["t5-target.vms.lab.test."]})]
    assert dnslab.query("t5-alias.vms.lab.test.", "CNAME") == ("NOERROR", ["t5-target.vms.lab.test."])


def test_claim_takes_a_free_name_reruns_cleanly_and_reports_a_taken_one(dnslab):
    claim = dict(name="t5-claim", zone="vms.lab.test", ip="10.77.50.41", ptr=True, claim=True,
                 mark=dict(image="deb12", job="41"))
    rival_claim = dict(claim)
    rival_claim.update(ip="10.77.50.42", mark=dict(image="deb12", job="42"))
    check_claim = dict(claim)
    check_claim.update(check_mode=True, mark=dict(image="deb12", job="43"))
    first, rerun, rival, check_rival = dnslab.play([
        _rec(**claim), _rec(**claim),
        _rec(**rival_claim),
        _rec(**check_claim),
    ])
    assert first["changed"] and first["claim_failed"] is False and first["updates"] == 2
    assert not rerun["changed"] and not rerun.get("failed")
    for lost in (rival, check_rival):
        assert lost["failed"] and lost["claim_failed"] is True and lost["error"] == "NameTaken"
        assert lost["taken"] == ["t5-claim.vms.lab.test."]
        assert lost["taken_records"][0]["records"]["A"] == ["10.77.50.41"]
    assert dnslab.query("t5-claim.vms.lab.test.") == ("NOERROR", ["10.77.50.41"])
    assert dnslab.query("42.50.77.10.in-addr.arpa.", "PTR")[0] == "NXDOMAIN"


def test_two_claims_racing_for_one_name_exactly_one_wins(dnslab):
    def claim(job):
        return dnslab.play([_rec(name="t5-race", zone="vms.lab.test", ip="10.77.50.51", ptr=True, claim=True,
                                 mark=dict(image="deb12", job=str(job)))])[0]

    for attempt in range(3):
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(claim, [1000 + 2 * attempt, 1001 + 2 * attempt]))
        winners = [r for r in results if not r.get("failed")]
        losers = [r for r in results if r.get("failed")]
        assert len(winners) == 1 and len(losers) == 1, results
        assert losers[0]["claim_failed"] is True and losers[0]["taken"]
        assert winners[0]["changed"]
        _code, txt = dnslab.query("t5-race.vms.lab.test.", "TXT")
        assert len(txt) == 1  # one owner's mark, never two
        dnslab.cleanup()


class StaleReads(object):
    """A client whose reads happened before a rival's update (what a race looks like from inside)."""

    def __init__(self, client):
        self.client = client

    def __getattr__(self, name):
        return getattr(self.client, name)

    def read_names(self, zone, names_types):
        if not getattr(self, "stale_done", False) and zone.endswith(".arpa."):
            self.stale_done = True
        return {n: dns_model.NameState() for n in names_types}


def _client(dnslab):
    return dns_client.DnsClient(dnslab.server, key_name=KEY, key_secret=dnslab.secret, timeout=5)


def test_a_claim_that_loses_on_the_server_names_the_taken_names(dnslab):
    rival = dns_service.build_request(dict(name="t5-late", zone="vms.lab.test", ip="10.77.50.61", ptr=True,
                                           claim=True, mark=dict(image="x", job="1")))
    dns_service.manage_records(_client(dnslab), rival)
    # this claim read the name as free (before the rival's update); BIND's prerequisite stops it
    late = dns_service.build_request(dict(name="t5-late", zone="vms.lab.test", ip="10.77.50.62", ptr=True,
                                          claim=True, mark=dict(image="x", job="2")))
    client = _client(dnslab)
    stale = StaleReads(client)
    stale.read_names = lambda zone, names: (  # first read stale, later reads (after YXDOMAIN) real
        {n: dns_model.NameState() for n in names} if client.stats["updates"] == 0 else client.read_names(zone, names))
    with pytest.raises(dns_errors.NameTaken) as caught:
        dns_service.manage_records(stale, late)
    details = caught.value.to_result()
    assert details["claim_failed"] is True and details["taken"] == ["t5-late.vms.lab.test."]
    assert dnslab.query("t5-late.vms.lab.test.") == ("NOERROR", ["10.77.50.61"])
    assert dnslab.query("62.50.77.10.in-addr.arpa.", "PTR")[0] == "NXDOMAIN"


def test_a_claim_whose_reverse_name_is_taken_rolls_back_its_forward_records(dnslab):
    # someone holds the PTR of the address already
    assert dnslab.raw_update("77.10.in-addr.arpa.",
                             lambda u: u.add("71.50.77.10.in-addr.arpa.", 300, "PTR", "t5-other.vms.lab.test.")) \
        == "NOERROR"
    request = dns_service.build_request(dict(name="t5-half", zone="vms.lab.test", ip="10.77.50.71", ptr=True,
                                             claim=True, mark=dict(image="x", job="3")))
    client = _client(dnslab)
    real_read = client.read_names
    stale = StaleReads(client)
    stale.read_names = lambda zone, names: (
        {n: dns_model.NameState() for n in names} if client.stats["updates"] == 0 else real_read(zone, names))
    with pytest.raises(dns_errors.NameTaken) as caught:
        dns_service.manage_records(stale, request)
    details = caught.value.to_result()
    assert details["taken"] == ["71.50.77.10.in-addr.arpa."]
    assert details["rolled_back"] == [FWD] and details["rollback_errors"] == []
    # the forward A and mark the claim had added are gone again; the rival's PTR is untouched
    assert dnslab.query("t5-half.vms.lab.test.")[0] == "NXDOMAIN"
    assert dnslab.query("71.50.77.10.in-addr.arpa.", "PTR") == ("NOERROR", ["t5-other.vms.lab.test."])
    # and, read normally, the module refuses before sending anything
    (module,) = dnslab.play([_rec(name="t5-half", zone="vms.lab.test", ip="10.77.50.71", ptr=True, claim=True,
                                  mark=dict(image="x", job="3"))])
    assert module["claim_failed"] and module["taken"] == ["71.50.77.10.in-addr.arpa."]
    assert dnslab.query("t5-half.vms.lab.test.")[0] == "NXDOMAIN"
