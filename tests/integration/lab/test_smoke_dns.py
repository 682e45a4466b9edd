# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Smoke tests of the lab's BIND: TSIG-signed updates land, bad keys are refused."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import uuid

import dns.message
import dns.query
import dns.rcode
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest

KEY = "hpcvm-ddns"


def _update(lab, keyring=None, keyname=KEY):
    if keyring is None:
        keyring = dns.tsigkeyring.from_text({KEY: lab.secret(KEY)})
    return dns.update.UpdateMessage(lab.domain, keyring=keyring, keyname=keyname, keyalgorithm=dns.tsig.HMAC_SHA256)


def _query(lab, name):
    reply = dns.query.udp(dns.message.make_query(name, "A"), lab.gateway, port=53, timeout=3)
    return dns.rcode.to_text(reply.rcode()), sorted(rr.to_text() for rrset in reply.answer for rr in rrset)


def test_a_tsig_update_lands_in_bind(lab):
    name = "smoke-%s" % uuid.uuid4().hex[:8]
    fqdn = "%s.%s." % (name, lab.domain)
    update = _update(lab)
    update.absent(name)
    update.add(name, 60, "A", "10.77.9.9")
    reply = dns.query.tcp(update, lab.gateway, port=53, timeout=5)
    assert dns.rcode.to_text(reply.rcode()) == "NOERROR"
    assert _query(lab, fqdn) == ("NOERROR", ["10.77.9.9"])
    # the same claim again fails on its prerequisite
    again = _update(lab)
    again.absent(name)
    again.add(name, 60, "A", "10.77.9.9")
    assert dns.rcode.to_text(dns.query.tcp(again, lab.gateway, port=53, timeout=5).rcode()) == "YXDOMAIN"
    delete = _update(lab)
    delete.delete(name)
    assert dns.rcode.to_text(dns.query.tcp(delete, lab.gateway, port=53, timeout=5).rcode()) == "NOERROR"
    assert _query(lab, fqdn)[0] == "NXDOMAIN"


def test_a_bad_tsig_secret_is_refused(lab):
    bad = dns.tsigkeyring.from_text({KEY: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="})
    update = _update(lab, keyring=bad)
    update.add("smoke-badkey", 60, "A", "10.77.9.10")
    with pytest.raises(dns.tsig.PeerBadSignature):
        dns.query.tcp(update, lab.gateway, port=53, timeout=5)
    assert _query(lab, "smoke-badkey.%s." % lab.domain)[0] == "NXDOMAIN"


def test_an_unsigned_update_is_refused(lab):
    update = dns.update.UpdateMessage(lab.domain)
    update.add("smoke-unsigned", 60, "A", "10.77.9.11")
    assert dns.rcode.to_text(dns.query.tcp(update, lab.gateway, port=53, timeout=5).rcode()) == "REFUSED"
