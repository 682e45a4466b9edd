# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each way an update can fail gets its own clear error, and nothing changes on the server."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

WRONG_SECRET = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="  # noqa: S105 - deliberately wrong

# case id -> (connection overrides, record options, error class, rcode, words in the message)
CASES = {
    "wrong secret": (dict(key_secret=WRONG_SECRET), {}, "DnsAuthError", "NOTAUTH", "BADSIG"),
    "unknown key": (dict(key_name="t5-no-such-key"), {}, "DnsAuthError", "NOTAUTH", "BADKEY"),
    "key not granted": (dict(key_name="other-key", key_secret="{{ t5_other_secret }}"), {}, "DnsRefused",  # noqa: S106
                        "REFUSED", "not granted"),
    "unsigned update": (dict(key_name=None, key_secret=None), {}, "DnsRefused", "REFUSED", "unsigned"),
    # the module reads before it writes, so an unserved zone shows up as a refused query
    "zone not served": ({}, dict(name="t5-x", zone="example.invalid"), "DnsNotAuthoritative", "REFUSED",
                        "zone not served"),
    "zone not found": ({}, dict(name="t5-x.example.invalid", zone=None), "ZoneNotFound", "REFUSED",
                       "no zone on 10.77.0.1:53 holds t5-x.example.invalid."),
    "zone takes no updates": ({}, dict(name="t5-x", zone="static.lab.test"), "DnsRefused", "REFUSED",
                              "takes no dynamic updates"),
    "name outside the zone": ({}, dict(name="t5-x.static.lab.test.", zone="vms.lab.test"), "InvalidInput", None,
                              "is not inside zone vms.lab.test."),
    "server down": (dict(port=5353), {}, "DnsConnectionError", None, "connection refused"),
    "no answer": (dict(server="10.77.0.250", timeout=0.5), {}, "DnsTimeout", None, "no answer within 0.5s"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_failure_has_its_own_clear_error_and_changes_nothing(dnslab, case):
    connection, record, error, rcode, words = CASES[case]
    task = dict(name="t5-err", zone="vms.lab.test", ip="10.77.50.90", ptr=True)
    task.update(record)
    task = {k: v for k, v in task.items() if v is not None}
    if "t5_other_secret" in str(connection):
        task_vars = {"t5_other_secret": dnslab.lab.secret("other-key")}
    else:
        task_vars = {}
    conn = dict(connection)
    before = dnslab.ours()
    (result,) = dnslab.play([{"hpc.slurm_vm.dns_record": task, "vars": task_vars}], connection=conn)
    assert result["failed"], result
    assert result["error"] == error, result
    assert result.get("rcode") == rcode, result
    assert words in result["msg"], result["msg"]
    assert result["changed"] is False and result["claim_failed"] is False
    assert "Traceback" not in result.get("exception", "")  # an answer, not a crash
    # the secret never shows up in what the module returns
    assert dnslab.secret not in str(result)
    assert dnslab.ours() == before
    assert dnslab.query("t5-err.vms.lab.test.")[0] == "NXDOMAIN"
    assert dnslab.query("90.50.77.10.in-addr.arpa.", "PTR")[0] == "NXDOMAIN"


def test_info_reports_a_refused_transfer_and_lists_by_query_instead(dnslab):
    (listed,) = dnslab.play([{"hpc.slurm_vm.dns_record_info": dict(zone="static.lab.test")}])
    assert not listed.get("failed")
    assert listed["zones"] == ["static.lab.test."]
    (down,) = dnslab.play([{"hpc.slurm_vm.dns_record_info": dict(zone="vms.lab.test")}], connection=dict(port=5353))
    assert down["failed"] and down["error"] == "DnsConnectionError"
