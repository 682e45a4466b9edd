# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dns_zone_check, the DNS preflight of playbooks/site.yml, against the lab's BIND.

The lab's key hpcvm-ddns may update and transfer both VM zones; other-key is known to BIND but
granted nothing; static.lab.test takes no updates. The check must pass for the first, fail with
the server's answer for every other, and leave every zone's serial (so its journal) unchanged.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from .conftest import FWD, REV

WRONG_SECRET = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="  # noqa: S105 - deliberately wrong


def _serials(dnslab, zones=(FWD, REV, "static.lab.test.")):
    return {zone: dnslab.query(zone, "SOA")[1] for zone in zones}


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check-mode"])
def test_the_lab_key_may_transfer_and_update_both_zones_and_nothing_changes(dnslab, check_mode):
    before = _serials(dnslab)
    task = {"hpc.slurm_vm.dns_zone_check": dict(zones=["vms.lab.test", REV]), "check_mode": check_mode}
    (result,) = dnslab.play([task])
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert [z["zone"] for z in result["zones"]] == [FWD, REV]
    for zone in result["zones"]:
        assert zone["transfer"] is True and zone["update"] is True
        assert zone["names"] >= 1 and zone["serial"] > 0  # the apex at least (SOA, NS)
        assert zone["probe"] == "_hpc-slurm-vm-preflight." + zone["zone"]
    assert result["stats"]["transfers"] == 2 and result["stats"]["updates"] == 2
    assert _serials(dnslab) == before  # no journal entry: the no-op update changed nothing
    assert dnslab.query("_hpc-slurm-vm-preflight." + FWD, "TXT")[0] == "NXDOMAIN"


# case id -> (connection overrides, zones, error class, rcode, words in the message)
CASES = {
    "wrong secret": (dict(key_secret=WRONG_SECRET), [FWD], "DnsAuthError", "NOTAUTH", "wrong key secret"),
    "unknown key": (dict(key_name="t5-no-such-key"), [FWD], "DnsAuthError", "NOTAUTH", "BADKEY"),
    "key not granted": (dict(key_name="other-key", key_secret="{{ t5_other_secret }}"), [FWD, REV],  # noqa: S106
                        "DnsRefused", "REFUSED", "update of zone vms.lab.test."),
    "zone takes no updates": ({}, [FWD, "static.lab.test"], "DnsRefused", "REFUSED", "static.lab.test."),
    "zone not served": ({}, ["example.invalid"], "DnsTransferRefused", "NOTAUTH", "does not serve this zone"),
    "server down": (dict(port=5353), [FWD], "DnsConnectionError", None, "connection refused"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_refusal_fails_with_the_servers_answer_and_changes_nothing(dnslab, case):
    connection, zones, error, rcode, words = CASES[case]
    task_vars = {"t5_other_secret": dnslab.lab.secret("other-key")} if "t5_other" in str(connection) else {}
    before = _serials(dnslab)
    (result,) = dnslab.play([{"hpc.slurm_vm.dns_zone_check": dict(zones=zones), "vars": task_vars}],
                            connection=connection)
    assert result["failed"], result
    assert result["error"] == error, result
    assert result.get("rcode") == rcode, result
    assert words in result["msg"], result["msg"]
    assert result["changed"] is False
    assert "Traceback" not in result.get("exception", "")
    assert dnslab.secret not in str(result)
    assert _serials(dnslab) == before


def test_a_zone_that_holds_the_probe_name_fails_before_any_update(dnslab):
    assert dnslab.raw_update(FWD, lambda u: u.add("t5-probe." + FWD, 300, "TXT", '"not ours"')) == "NOERROR"
    before = _serials(dnslab)
    (result,) = dnslab.play([{"hpc.slurm_vm.dns_zone_check": dict(zones=[FWD], probe_label="t5-probe")}])
    assert result["failed"] and result["error"] == "ProbeNameInUse", result
    assert "choose another probe_label" in result["msg"]
    assert _serials(dnslab) == before
    assert dnslab.query("t5-probe." + FWD, "TXT")[1] == ['"not ours"']


def test_bad_input_fails_before_anything_is_sent(dnslab):
    (label, empty) = dnslab.play([
        {"hpc.slurm_vm.dns_zone_check": dict(zones=[FWD], probe_label="a.b")},
        {"hpc.slurm_vm.dns_zone_check": dict(zones=[])},
    ])
    assert label["failed"] and label["error"] == "InvalidInput" and "one DNS label" in label["msg"]
    assert empty["failed"] and empty["error"] == "InvalidInput" and "at least one zone" in empty["msg"]
