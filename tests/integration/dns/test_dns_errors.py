# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each way an update can fail gets its own clear error, and nothing changes on the server.

Every typed error of dns/errors.py is triggered here against the lab's BIND (or, for a server that is down or
silent, on a loopback port), through the modules where a module can reach it and through DnsClient where the
module's own checks come first (it reads before it writes, so BIND never sees a stale prerequisite from it).
RecordConflict, NameTaken and UpdateNotApplied are in test_dns_record.py, ForeignRecords in
test_foreign_records.py. SERVFAIL is the one answer a healthy BIND does not give; it is mapped in the unit tests.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import socket
import threading
import time

import dns.message
import pytest
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import client as dns_client
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import errors as dns_errors
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import model as dns_model

from .conftest import FWD, KEY

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


def test_info_lists_a_zone_that_takes_no_updates_and_reports_a_server_down(dnslab):
    # static.lab.test takes no updates but allows transfers like every lab zone (the refused transfer is below)
    (listed,) = dnslab.play([{"hpc.slurm_vm.dns_record_info": dict(zone="static.lab.test")}])
    assert not listed.get("failed")
    assert listed["zones"] == ["static.lab.test."]
    (down,) = dnslab.play([{"hpc.slurm_vm.dns_record_info": dict(zone="vms.lab.test")}], connection=dict(port=5353))
    assert down["failed"] and down["error"] == "DnsConnectionError"


# ---------------------------------------------------------------- what the module's own checks never let BIND see

NAME = "t5-err.vms.lab.test."


def _client(dnslab, **kwargs):
    return dns_client.DnsClient(dnslab.server, key_name=KEY, key_secret=dnslab.secret, timeout=5, **kwargs)


def _add(name, value, before=(), prereq=dns_model.PREREQ_RRSET, zone=FWD):
    return dns_model.Change(zone, name, "A", frozenset(before), 300 if before else None, frozenset([value]), 300,
                            prereq)


def _expect(dnslab, call, cls, rcode, words):
    before = dnslab.ours()
    with pytest.raises(cls) as caught:
        call()
    result = caught.value.to_result()
    assert result["error"] == cls.__name__
    assert result.get("rcode") == rcode, result
    assert words in result["msg"], result["msg"]
    assert result["server"] == "%s:53" % dnslab.server
    assert dnslab.secret not in str(result)
    assert dnslab.ours() == before
    return result


def test_stale_prerequisites_fail_on_the_server_with_their_rcode(dnslab):
    assert dnslab.raw_update(FWD, lambda u: u.add(NAME, 300, "A", "10.77.50.90")) == "NOERROR"
    client = _client(dnslab)
    # a claim of a name that exists: YXDOMAIN
    _expect(dnslab, lambda: client.update(FWD, [_add(NAME, "10.77.50.91", prereq=dns_model.PREREQ_NAME_ABSENT)]),
            dns_errors.DnsPrerequisiteFailed, "YXDOMAIN", "a name that must not exist exists")
    # read as empty, but the RRset is there: YXRRSET
    _expect(dnslab, lambda: client.update(FWD, [_add(NAME, "10.77.50.91")]),
            dns_errors.DnsPrerequisiteFailed, "YXRRSET", "an RRset that must not exist exists")
    # read with another value: NXRRSET
    _expect(dnslab, lambda: client.update(FWD, [_add(NAME, "10.77.50.91", before=["10.77.50.92"])]),
            dns_errors.DnsPrerequisiteFailed, "NXRRSET", "changed concurrently")
    assert dnslab.query(NAME) == ("NOERROR", ["10.77.50.90"])


def test_an_update_of_a_zone_the_server_does_not_serve_is_notauth(dnslab):
    change = _add("t5-x.example.invalid.", "10.77.50.93", zone="example.invalid.")
    _expect(dnslab, lambda: _client(dnslab).update("example.invalid.", [change]),
            dns_errors.DnsNotAuthoritative, "NOTAUTH", "zone not served")


def test_a_name_outside_the_zone_of_the_update_is_notzone(dnslab):
    change = _add("t5-x.static.lab.test.", "10.77.50.94")
    _expect(dnslab, lambda: _client(dnslab).update(FWD, [change]), dns_errors.DnsNotZone, "NOTZONE",
            "outside the zone")
    assert dnslab.query("t5-x.static.lab.test.")[0] == "NXDOMAIN"


class SkewedClock(object):
    """dnspython signs with time.time() of dns.message: one hour behind makes BIND answer BADTIME."""

    @staticmethod
    def time():
        return time.time() - 3600


def test_a_clock_an_hour_off_is_badtime(dnslab, monkeypatch):
    monkeypatch.setattr(dns.message, "time", SkewedClock)
    result = _expect(dnslab, lambda: _client(dnslab).update(FWD, [_add(NAME, "10.77.50.95")]),
                     dns_errors.DnsAuthError, "NOTAUTH", "clock skew")
    assert result["tsig_error"] == "BADTIME"


def test_a_server_error_answer_is_typed(dnslab):
    # an IXFR query without the SOA it needs is malformed: BIND answers FORMERR
    _expect(dnslab, lambda: _client(dnslab).read_names(FWD, {FWD: {"IXFR"}}), dns_errors.DnsServerError,
            "FORMERR", "could not parse the request")


def test_info_reports_a_refused_zone_transfer(dnslab):
    (refused,) = dnslab.play([{"hpc.slurm_vm.dns_record_info": dict(zone="example.invalid")}])
    assert refused["failed"] and refused["error"] == "DnsTransferRefused", refused
    assert refused["rcode"] == "NOTAUTH"
    assert refused["msg"] == ("zone transfer of example.invalid.: the server refused the zone transfer: it does not "
                              "serve this zone (NOTAUTH from %s:53)" % dnslab.server)


def _read_one_message(conn):
    """Read one DNS-over-TCP message (two length bytes, then the message)."""
    conn.settimeout(5)
    data = b""
    while len(data) < 2 or len(data) < 2 + int.from_bytes(data[:2], "big"):
        chunk = conn.recv(65535)
        if not chunk:
            return
        data += chunk


@contextlib.contextmanager
def _loopback_server(behaviour):
    """A TCP port on 127.0.0.1 (inside the lab namespace) that takes connections and then is silent or hangs up."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.2)
    stop = threading.Event()
    accepted = []

    def serve():
        while not stop.is_set():
            try:
                conn, _peer = listener.accept()
            except socket.timeout:
                continue
            accepted.append(conn)
            if behaviour == "hang up":
                _read_one_message(conn)  # then a clean close (FIN): unread data would make it a reset
                conn.close()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield listener.getsockname()[1], accepted
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


def _free_loopback_port():
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens on it now
    return port


@pytest.mark.parametrize("behaviour, error, words", [
    ("silent", "DnsTimeout", "no answer within 0.5s (server down, filtered, or unreachable) (127.0.0.1:%d)"),
    ("hang up", "DnsConnectionError", "the server closed the connection without an answer (127.0.0.1:%d)"),
    ("nothing listens", "DnsConnectionError",
     "connection refused: nothing listens on that address and port (server down?) (127.0.0.1:%d)"),
])
def test_a_server_that_is_silent_hangs_up_or_is_down_on_loopback(dnslab, behaviour, error, words):
    task = {"hpc.slurm_vm.dns_record": dict(name="t5-err", zone="vms.lab.test", ip="10.77.50.90")}
    if behaviour == "nothing listens":
        server = contextlib.nullcontext((_free_loopback_port(), []))
    else:
        server = _loopback_server(behaviour)
    with server as (port, accepted):
        (result,) = dnslab.play([task], connection=dict(server="127.0.0.1", port=port, timeout=0.5))
    assert result["failed"] and result["error"] == error, result
    assert result["msg"].endswith(words % port), result["msg"]
    assert result["changed"] is False
    assert len(accepted) == (0 if behaviour == "nothing listens" else 1)
