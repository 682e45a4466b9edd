# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DnsClient without a server: error mapping (dns/errors.py), UPDATE building and batching (dns/update_message.py),
zone discovery, reading names.

The rcodes and exceptions below are the ones the lab's BIND 9.18 and the sockets of the lab's
namespace produce; tests/integration/dns/test_dns_errors.py triggers each of them live, except
SERVFAIL (a healthy BIND does not answer it) and EHOSTUNREACH (it depends on the network).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import socket

import dns.exception
import dns.message
import dns.rcode
import dns.rrset
import dns.tsig
import dns.xfr
import pytest
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import client as dc
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import errors, model

FWD = "vms.lab.test."
SECRET = "dW5pdC10ZXN0LW9ubHktbm90LWEtcmVhbC1rZXktMzI="  # noqa: S105 - a made-up test key of 32 bytes


class FakeTransport(object):
    """Answers each message with the next scripted outcome: an rcode text, a callable, or an exception."""

    def __init__(self, outcomes=None, zone_rrsets=None):
        self.outcomes = list(outcomes or [])
        self.sent = []
        self.zone_rrsets = zone_rrsets
        self.closed = False

    def send(self, message):
        self.sent.append(message)
        outcome = self.outcomes.pop(0) if self.outcomes else "NOERROR"
        if isinstance(outcome, Exception):
            raise outcome  # pylint: disable=raising-bad-type
        if callable(outcome):
            return outcome(message)
        reply = dns.message.make_response(message)
        reply.set_rcode(dns.rcode.from_text(outcome))
        return reply

    def transfer(self, zone, keyring=None, keyname=None, keyalgorithm=None):
        if isinstance(self.zone_rrsets, Exception):
            raise self.zone_rrsets
        return self.zone_rrsets

    def close(self):
        self.closed = True


def _client(transport, **kw):
    kw.setdefault("key_name", "hpcvm-ddns")
    kw.setdefault("key_secret", SECRET)
    return dc.DnsClient("10.77.0.1", 53, transport=transport, **kw)


def _change(name, rtype, before, after, prereq=model.PREREQ_RRSET, ttl=300):
    return model.Change(FWD, name, rtype, frozenset(before), 300 if before else None, frozenset(after),
                        ttl if after else None, prereq)


ERROR_CASES = [
    # what the server answered -> error class, rcode, words the message must hold
    ("REFUSED", errors.DnsRefused, "REFUSED", "not granted"),
    ("NOTAUTH", errors.DnsNotAuthoritative, "NOTAUTH", "zone not served"),
    ("NOTZONE", errors.DnsNotZone, "NOTZONE", "outside the zone"),
    ("YXDOMAIN", errors.DnsPrerequisiteFailed, "YXDOMAIN", "must not exist exists"),
    ("NXRRSET", errors.DnsPrerequisiteFailed, "NXRRSET", "changed concurrently"),
    ("YXRRSET", errors.DnsPrerequisiteFailed, "YXRRSET", "must not exist exists"),
    ("SERVFAIL", errors.DnsServerError, "SERVFAIL", "SERVFAIL"),
    (dns.tsig.PeerBadSignature(), errors.DnsAuthError, "NOTAUTH", "wrong key secret"),
    (dns.tsig.PeerBadKey(), errors.DnsAuthError, "NOTAUTH", "does not know this TSIG key"),
    (dns.tsig.PeerBadTime(), errors.DnsAuthError, "NOTAUTH", "clock skew"),
    (dns.exception.Timeout(), errors.DnsTimeout, None, "no answer within 10.0s"),
    (socket.timeout("timed out"), errors.DnsTimeout, None, "no answer within"),
    (ConnectionRefusedError(111, "Connection refused"), errors.DnsConnectionError, None, "connection refused"),
    (OSError(113, "No route to host"), errors.DnsConnectionError, None, "host unreachable (EHOSTUNREACH)"),
    (EOFError(), errors.DnsConnectionError, None, "closed the connection"),
]


ERROR_IDS = [str(c[0]) or type(c[0]).__name__ for c in ERROR_CASES]


@pytest.mark.parametrize("outcome, cls, rcode, words", ERROR_CASES, ids=ERROR_IDS)
def test_update_errors_are_typed_and_explained(outcome, cls, rcode, words):
    client = _client(FakeTransport([outcome]))
    with pytest.raises(cls) as caught:
        client.update(FWD, [_change("t5-a.vms.lab.test.", "A", [], ["10.77.50.1"])])
    result = caught.value.to_result()
    assert words in result["msg"]
    assert result["error"] == cls.__name__
    assert result.get("rcode") == rcode
    assert result["server"] == "10.77.0.1:53"
    assert result["cause"]


def test_unknown_exceptions_are_not_swallowed():
    client = _client(FakeTransport([KeyError("bug")]))
    with pytest.raises(KeyError):
        client.query("x.vms.lab.test.", "A")


def test_transfer_refused_is_typed():
    client = _client(FakeTransport(zone_rrsets=dns.xfr.TransferError(dns.rcode.REFUSED)))
    with pytest.raises(errors.DnsTransferRefused, match="allow-transfer"):
        client.transfer(FWD)


def test_update_message_has_prerequisites_then_updates():
    transport = FakeTransport()
    client = _client(transport)
    changes = [
        _change("t5-a.vms.lab.test.", "A", [], ["10.77.50.1"]),                       # new RRset
        _change("t5-b.vms.lab.test.", "A", ["10.77.50.2"], ["10.77.50.3"]),           # replace
        _change("t5-c.vms.lab.test.", "A", ["10.77.50.4"], []),                       # delete
        _change("t5-d.vms.lab.test.", "A", [], ["10.77.50.5"], model.PREREQ_NAME_ABSENT),
        _change("t5-d.vms.lab.test.", "TXT", [], ['"hpc.slurm_vm vm=t5-d image=x job=1"'], model.PREREQ_NAME_ABSENT),
    ]
    assert client.update(FWD, changes) == 1
    message = transport.sent[0]
    assert message.keyname.to_text() == "hpcvm-ddns."
    prereqs = sorted(rr.to_text() for rr in message.prerequisite)
    assert prereqs == sorted([
        "t5-a.vms.lab.test. NONE A",                      # RRset does not exist
        "t5-b.vms.lab.test. 0 IN A 10.77.50.2",          # RRset is exactly as read
        "t5-c.vms.lab.test. 0 IN A 10.77.50.4",
        "t5-d.vms.lab.test. NONE ANY",                    # name not in use (once per name)
    ])
    updates = [rr.to_text() for rr in message.update]
    assert "t5-a.vms.lab.test. 300 IN A 10.77.50.1" in updates
    assert "t5-b.vms.lab.test. ANY A" in updates and "t5-b.vms.lab.test. 300 IN A 10.77.50.3" in updates
    assert "t5-c.vms.lab.test. ANY A" in updates
    assert client.stats["updates"] == 1


def test_large_batches_split_under_the_message_limit_without_splitting_a_name():
    transport = FakeTransport()
    client = _client(transport)
    changes = []
    for i in range(3000):
        name = "t5-bench-%04d.vms.lab.test." % i
        changes.append(_change(name, "A", [], ["10.77.60.%d" % (i % 250)], model.PREREQ_NAME_ABSENT))
        changes.append(_change(name, "TXT", [], ['"hpc.slurm_vm vm=t5-bench-%04d image=deb12 job=%d"' % (i, i)],
                               model.PREREQ_NAME_ABSENT))
    sent = client.update(FWD, changes)
    assert sent == len(transport.sent) > 1
    for message in transport.sent:
        assert len(message.to_wire()) < 65535
        # a name's prerequisite sits in the same message as its records
        pre = {rr.name for rr in message.prerequisite}
        assert pre == {rr.name for rr in message.update}
    assert sum(len(m.update) for m in transport.sent) == len(changes)


def _soa_answer(owner, section):
    def answer(message):
        reply = dns.message.make_response(message)
        soa = "ns1.vms.lab.test. hostmaster.vms.lab.test. 1 3600 600 86400 300"
        rrset = dns.rrset.from_text(owner, 300, "IN", "SOA", soa)
        getattr(reply, section).append(rrset)
        return reply
    return answer


def test_find_zone_from_soa_and_cache():
    transport = FakeTransport([_soa_answer("77.10.in-addr.arpa.", "authority")])
    client = _client(transport)
    assert client.find_zone("5.50.77.10.in-addr.arpa.") == "77.10.in-addr.arpa."
    # the same parent is answered from the cache
    assert client.find_zone("6.50.77.10.in-addr.arpa.") == "77.10.in-addr.arpa."
    assert len(transport.sent) == 1
    assert transport.sent[0].question[0].to_text() == "50.77.10.in-addr.arpa. IN SOA"


def test_find_zone_not_served():
    client = _client(FakeTransport(["REFUSED"]))
    with pytest.raises(errors.ZoneNotFound, match="no zone on 10.77.0.1:53 holds t5-a.example.invalid."):
        client.find_zone("t5-a.example.invalid.")


def _rrset(name, rtype, *values):
    return dns.rrset.from_text(name, 300, "IN", rtype, *values)


def test_read_names_by_transfer_when_many():
    names = {"t5-%02d.vms.lab.test." % i: {"A"} for i in range(dc.AXFR_THRESHOLD + 1)}
    zone = [_rrset("t5-00.vms.lab.test.", "A", "10.77.50.1"),
            _rrset("T5-01.vms.lab.test.", "PTR", "X.vms.lab.test.")]
    client = _client(FakeTransport(zone_rrsets=zone))
    states = client.read_names(FWD, names)
    assert states["t5-00.vms.lab.test."] == model.NameState(True, {"A": (300, frozenset(["10.77.50.1"]))})
    assert states["t5-01.vms.lab.test."].rrset("PTR")[1] == frozenset(["x.vms.lab.test."])  # lower-cased
    assert states["t5-05.vms.lab.test."].exists is False
    assert client.stats == dict(queries=0, transfers=1, updates=0)


def test_read_names_falls_back_to_queries_when_transfer_refused():
    names = {"t5-%02d.vms.lab.test." % i: {"A"} for i in range(dc.AXFR_THRESHOLD + 1)}
    client = _client(FakeTransport(["NXDOMAIN"] * len(names),
                                   zone_rrsets=dns.xfr.TransferError(dns.rcode.REFUSED)))
    states = client.read_names(FWD, names)
    assert not any(s.exists for s in states.values())
    assert client.stats["queries"] == len(names)


def test_read_name_by_query_sees_a_cname():
    def cname_answer(message):
        reply = dns.message.make_response(message)
        reply.answer.append(_rrset("t5-a.vms.lab.test.", "CNAME", "t5-target.vms.lab.test."))
        reply.answer.append(_rrset("t5-target.vms.lab.test.", "A", "10.77.50.9"))  # chased: not this name
        return reply

    def dangling_cname(message):
        # BIND's answer for a CNAME whose target does not exist: NXDOMAIN, with the CNAME
        reply = dns.message.make_response(message)
        reply.set_rcode(dns.rcode.NXDOMAIN)
        reply.answer.append(_rrset("t5-a.vms.lab.test.", "CNAME", "t5-nowhere.vms.lab.test."))
        return reply

    client = _client(FakeTransport([cname_answer, cname_answer]))
    state = client.read_names(FWD, {"t5-a.vms.lab.test.": {"A"}})["t5-a.vms.lab.test."]
    assert state.exists and state.rrset("A")[1] == frozenset()
    assert state.rrset("CNAME")[1] == frozenset(["t5-target.vms.lab.test."])
    client = _client(FakeTransport([dangling_cname, dangling_cname]))
    state = client.read_names(FWD, {"t5-a.vms.lab.test.": {"A"}})["t5-a.vms.lab.test."]
    assert state.exists and state.rrset("CNAME")[1] == frozenset(["t5-nowhere.vms.lab.test."])


@pytest.mark.parametrize("kwargs, message", [
    (dict(key_name="hpcvm-ddns", key_secret=None), "together"),
    (dict(key_name="hpcvm-ddns", key_secret="not base64!"), "base64"),  # noqa: S106
    (dict(key_algorithm="hmac-sha999"), "key_algorithm"),
])
def test_client_rejects_bad_key_options(kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        _client(FakeTransport(), **kwargs)


def test_unsigned_client_sends_unsigned_updates():
    transport = FakeTransport()
    client = dc.DnsClient("10.77.0.1", transport=transport)
    client.update(FWD, [_change("t5-a.vms.lab.test.", "A", [], ["10.77.50.1"])])
    assert transport.sent[0].keyname is None


@pytest.mark.parametrize("rcode", ["REFUSED", "NOTAUTH"])
def test_a_refused_query_means_the_zone_is_not_served(rcode):
    client = _client(FakeTransport([rcode]))
    with pytest.raises(errors.DnsNotAuthoritative, match="zone not served") as caught:
        client.read_names("example.invalid.", {"t5-x.example.invalid.": {"A"}})
    assert caught.value.details["rcode"] == rcode


# the hash output length L of each algorithm: tsig-keygen makes secrets of exactly L bytes
KEY_BYTES = [("hmac-md5", 16), ("hmac-sha1", 20), ("hmac-sha224", 28), ("hmac-sha256", 32), ("hmac-sha384", 48),
             ("hmac-sha512", 64)]


@pytest.mark.parametrize("algorithm, length", KEY_BYTES, ids=[k[0] for k in KEY_BYTES])
def test_a_tsig_secret_needs_the_hash_length_of_its_algorithm(algorithm, length):
    long_enough = base64.b64encode(b"k" * length).decode()
    assert _client(FakeTransport(), key_secret=long_enough, key_algorithm=algorithm).keyring
    short = base64.b64encode(b"s" * (length - 1)).decode()
    with pytest.raises(InvalidInput) as caught:
        _client(FakeTransport(), key_secret=short, key_algorithm=algorithm)
    message = str(caught.value)
    assert message == ("key_secret decodes to %d bytes, too short for %s: at least %d bytes, the hash output length "
                       "(RFC 2104 section 3 strongly discourages shorter keys; 'tsig-keygen -a %s' makes one of %d "
                       "bytes)" % (length - 1, algorithm, length, algorithm, length))
    assert short not in message


@pytest.mark.parametrize("secret", [
    "YWJj",                                                       # 3 bytes: what the issue saw accepted
    "dW5pdC10ZXN0LW9ubHktbm90LWEtcmVhbC1rZXk=",                   # 29 bytes
], ids=["3 bytes", "29 bytes"])
def test_short_sha256_secrets_are_refused_without_showing_them(secret):
    with pytest.raises(InvalidInput, match="too short for hmac-sha256") as caught:
        _client(FakeTransport(), key_secret=secret)
    assert secret not in str(caught.value) and secret not in str(caught.value.to_result())


@pytest.mark.parametrize("secret", ["not base64!", "YWJ", "YW=J" + "A" * 40, "a2tr\x00" + "a" * 40])
def test_a_secret_that_is_not_base64_is_refused_without_showing_it(secret):
    with pytest.raises(InvalidInput) as caught:
        _client(FakeTransport(), key_secret=secret)
    assert str(caught.value) == "key_secret is not valid base64 (the secret is not shown)"


def test_a_secret_split_by_white_space_is_joined():
    split = SECRET[:20] + "\n " + SECRET[20:] + "\n"
    assert _client(FakeTransport(), key_secret=split).keyring == _client(FakeTransport()).keyring


@pytest.mark.parametrize("port, timeout, words", [
    (70000, 10.0, "port 70000 is not a TCP port: give a number from 1 to 65535"),
    (65536, 10.0, "port 65536 is not a TCP port"),
    (0, 10.0, "port 0 is not a TCP port"),
    (-53, 10.0, "port -53 is not a TCP port"),
    (True, 10.0, "port True is not a TCP port"),
    (53, -1.0, "timeout -1.0 is not a number of seconds above 0"),
    (53, 0, "timeout 0 is not a number of seconds above 0"),
    (53, float("inf"), "timeout inf is not"),
    (53, float("nan"), "timeout nan is not"),
])
def test_port_and_timeout_out_of_range_are_refused(port, timeout, words):
    with pytest.raises(InvalidInput, match=words.replace("(", "\\(")):
        dc.DnsClient("127.0.0.1", port, timeout=timeout, transport=FakeTransport())
    params = dict(server="127.0.0.1", port=port, timeout=timeout, key_name=None, key_secret=None)
    with pytest.raises(InvalidInput, match=words):
        dc.client_from_params(params, transport=FakeTransport())


def test_port_and_timeout_limits_are_taken():
    client = dc.DnsClient("127.0.0.1", 65535, timeout=0.001, transport=FakeTransport())
    assert client.server == "127.0.0.1:65535"
    assert dc.DnsClient("127.0.0.1", 1, transport=FakeTransport()).server == "127.0.0.1:1"
    # unset options keep their defaults
    default = dc.client_from_params(dict(server="127.0.0.1"), transport=FakeTransport())
    assert (default.server, default.timeout) == ("127.0.0.1:53", 10.0)


# ---------------------------------------------------------------- what the tests above left out (dns_service)

MAPPED_EXCEPTIONS = [
    # exception -> class, words
    (dns.tsig.BadSignature(), errors.DnsAuthError, "answer's TSIG signature does not verify"),
    (dns.tsig.BadTime(), errors.DnsAuthError, "answer's TSIG signature does not verify"),
    (dns.exception.FormError("bad label"), errors.DnsServerError, "malformed or unexpected answer: bad label"),
    (OSError(101, "Network is unreachable"), errors.DnsConnectionError, "host unreachable (ENETUNREACH)"),
    (ConnectionResetError(104, "Connection reset by peer"), errors.DnsConnectionError,
     "network error ECONNRESET: Connection reset by peer"),
    (dns.xfr.TransferError(dns.rcode.NOTAUTH), errors.DnsTransferRefused, "it does not serve this zone (NOTAUTH"),
    (dns.xfr.TransferError(dns.rcode.REFUSED), errors.DnsTransferRefused, "(allow-transfer) (REFUSED"),
]


@pytest.mark.parametrize("exc, cls, words", MAPPED_EXCEPTIONS, ids=[type(c[0]).__name__ + str(i)
                                                                    for i, c in enumerate(MAPPED_EXCEPTIONS)])
def test_every_exception_kind_maps_to_its_class(exc, cls, words):
    mapped = errors.error_for_exception(exc, "query x A", "10.77.0.1:53", 10.0)
    assert type(mapped) is cls  # pylint: disable=unidiomatic-typecheck
    assert words in mapped.message and mapped.details["server"] == "10.77.0.1:53"


@pytest.mark.parametrize("rcode", ["SERVFAIL", "FORMERR", "NOTIMP", "BADVERS"])
def test_a_query_answered_with_a_server_error_is_typed(rcode):
    client = _client(FakeTransport([rcode]))
    with pytest.raises(errors.DnsServerError, match="query t5-a.vms.lab.test. A") as caught:
        client.read_names(FWD, {"t5-a.vms.lab.test.": {"A"}})
    assert caught.value.details["rcode"] == rcode


def test_find_zone_takes_the_soa_of_the_answer_and_falls_back_to_a_known_zone():
    client = _client(FakeTransport([_soa_answer(FWD, "answer"), "NOERROR"]))
    assert client.find_zone("t5-a.vms.lab.test.") == FWD
    # another parent whose SOA query says nothing: the longest zone already known holds the name
    assert client.find_zone("t5-a.sub.vms.lab.test.") == FWD
    assert client.zones == {FWD}


def test_an_update_bigger_than_estimated_is_split_until_it_fits(monkeypatch):
    monkeypatch.setattr(dc, "MAX_UPDATE_BYTES", 400)  # the estimate (update_message) still says one message
    transport = FakeTransport()
    client = _client(transport)
    changes = []
    for i in range(6):
        name = "t5-split-%d.vms.lab.test." % i
        changes.append(_change(name, "A", [], ["10.77.50.%d" % i], model.PREREQ_NAME_ABSENT))
        changes.append(_change(name, "TXT", [], ['"hpc.slurm_vm vm=t5-split-%d image=deb12 job=%d"' % (i, i)],
                               model.PREREQ_NAME_ABSENT))
    sent = client.update(FWD, changes)
    assert sent == len(transport.sent) == client.stats["updates"] > 1
    assert sum(len(m.update) for m in transport.sent) == len(changes)
    for message in transport.sent:
        assert len(message.to_wire()) <= 400 or len(message.update) == 1
        assert {rr.name for rr in message.prerequisite} == {rr.name for rr in message.update}


def test_a_zone_transfer_may_split_an_rrset_over_messages():
    states = dc.name_states_of_zone([_rrset("t5-a.vms.lab.test.", "A", "10.77.50.1"),
                                     dns.rrset.from_text("T5-A.vms.lab.test.", 60, "IN", "A", "10.77.50.2")])
    assert states == {"t5-a.vms.lab.test.": model.NameState(True, {"A": (300, frozenset(["10.77.50.1",
                                                                                         "10.77.50.2"]))})}


def test_close_closes_the_transport_and_queries_are_counted():
    transport = FakeTransport(["NXDOMAIN"])
    client = _client(transport)
    assert client.read_names(FWD, {"t5-a.vms.lab.test.": {"A"}})["t5-a.vms.lab.test."].exists is False
    assert client.stats == dict(queries=1, transfers=0, updates=0)
    client.close()
    assert transport.closed


def test_client_from_params_needs_a_server():
    with pytest.raises(InvalidInput, match="server is required"):
        dc.client_from_params(dict(server=""), transport=FakeTransport())
