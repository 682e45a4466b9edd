# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TcpTransport (dns/transport.py, once part of dns_service): one reused TCP connection, one safe retry when the
server dropped an idle one, a closed socket after any other failure, and the AXFR options.

No wire data: the socket and dnspython's tcp/xfr calls are replaced by recorders, so what is tested is the
transport's own control flow. The real exchanges are tested live (tests/integration/dns/)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

import dns.exception
import dns.message
import dns.query
import dns.tsig
import pytest
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import transport as dt


class FakeSocket(object):
    def __init__(self, number):
        self.number = number
        self.closed = False
        self.blocking = True

    def setblocking(self, flag):
        self.blocking = flag

    def close(self):
        self.closed = True


class Network(object):
    """Records the connections made and answers dns.query.tcp with the next scripted outcome."""

    def __init__(self, monkeypatch, outcomes, refuse_connect=False):
        self.sockets = []
        self.calls = []
        self.outcomes = list(outcomes)
        self.refuse_connect = refuse_connect
        monkeypatch.setattr(socket, "create_connection", self.connect)
        monkeypatch.setattr(dns.query, "tcp", self.tcp)

    def connect(self, address, timeout=None):
        if self.refuse_connect:
            raise ConnectionRefusedError(111, "Connection refused")
        sock = FakeSocket(len(self.sockets))
        self.sockets.append((address, timeout, sock))
        return sock

    def tcp(self, message, where, timeout=None, port=53, sock=None):
        self.calls.append((where, port, timeout, sock.number))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


QUERY = dns.message.make_query("t5-a.vms.lab.test.", "A")


def test_messages_share_one_non_blocking_connection(monkeypatch):
    net = Network(monkeypatch, ["first", "second"])
    transport = dt.TcpTransport("10.77.0.1", 53, 2.5)
    assert transport.send(QUERY) == "first" and transport.send(QUERY) == "second"
    assert [(a, t) for a, t, _s in net.sockets] == [(("10.77.0.1", 53), 2.5)]
    assert net.sockets[0][2].blocking is False
    assert net.calls == [("10.77.0.1", 53, 2.5, 0), ("10.77.0.1", 53, 2.5, 0)]
    transport.close()
    assert net.sockets[0][2].closed
    transport.close()  # twice is harmless


@pytest.mark.parametrize("dropped", [EOFError(), ConnectionResetError(104, "reset"), BrokenPipeError(32, "pipe")],
                         ids=["EOF", "reset", "broken pipe"])
def test_a_dropped_idle_connection_is_reopened_once(monkeypatch, dropped):
    net = Network(monkeypatch, ["first", dropped, "again"])
    transport = dt.TcpTransport("10.77.0.1")
    transport.send(QUERY)
    assert transport.send(QUERY) == "again"
    assert [s.number for _a, _t, s in net.sockets] == [0, 1]
    assert net.sockets[0][2].closed and not net.sockets[1][2].closed
    assert [c[3] for c in net.calls] == [0, 0, 1]


def test_a_fresh_connection_that_drops_is_not_retried(monkeypatch):
    net = Network(monkeypatch, [EOFError()])
    transport = dt.TcpTransport("10.77.0.1")
    with pytest.raises(EOFError):
        transport.send(QUERY)
    assert len(net.sockets) == 1 and net.sockets[0][2].closed
    assert transport._sock is None  # the next message opens a new connection


def test_a_second_drop_after_the_retry_is_raised(monkeypatch):
    net = Network(monkeypatch, ["first", EOFError(), EOFError()])
    transport = dt.TcpTransport("10.77.0.1")
    transport.send(QUERY)
    with pytest.raises(EOFError):
        transport.send(QUERY)
    assert len(net.sockets) == 2


@pytest.mark.parametrize("failure", [dns.exception.Timeout(), dns.tsig.PeerBadSignature(), OSError(113, "no route")],
                         ids=["timeout", "BADSIG", "EHOSTUNREACH"])
def test_other_failures_close_the_connection_and_are_raised_as_they_are(monkeypatch, failure):
    net = Network(monkeypatch, ["first", failure, "after"])
    transport = dt.TcpTransport("10.77.0.1")
    transport.send(QUERY)
    with pytest.raises(type(failure)):
        transport.send(QUERY)
    assert net.sockets[0][2].closed and transport._sock is None
    assert transport.send(QUERY) == "after" and len(net.sockets) == 2


def test_a_refused_connection_is_raised_as_it_is(monkeypatch):
    Network(monkeypatch, [], refuse_connect=True)
    with pytest.raises(ConnectionRefusedError):
        dt.TcpTransport("127.0.0.1", 5399).send(QUERY)


class Answer(object):
    def __init__(self, answer):
        self.answer = answer


@pytest.mark.parametrize("keyring", [None, {"k": "key"}], ids=["unsigned", "signed"])
def test_transfer_collects_every_message_with_absolute_names(monkeypatch, keyring):
    seen = {}

    def xfr(where, zone, **kwargs):
        seen.update(where=where, zone=zone, **kwargs)
        return iter([Answer(["soa", "a"]), Answer(["b"]), Answer([])])

    monkeypatch.setattr(dns.query, "xfr", xfr)
    transport = dt.TcpTransport("10.77.0.1", 5300, timeout=2.0)
    assert transport.transfer("vms.lab.test.", keyring, "hpcvm-ddns." if keyring else None,
                              "hmac-sha256." if keyring else None) == ["soa", "a", "b"]
    expected = dict(where="10.77.0.1", zone="vms.lab.test.", port=5300, timeout=2.0, lifetime=30, relativize=False)
    if keyring:
        expected.update(keyring=keyring, keyname="hpcvm-ddns.", keyalgorithm="hmac-sha256.")
    assert seen == expected
    # a long timeout makes a long transfer lifetime (six answers' worth)
    dt.TcpTransport("10.77.0.1", timeout=10.0).transfer("vms.lab.test.")
    assert seen["lifetime"] == 60.0
