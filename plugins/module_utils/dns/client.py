# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""RFC 2136 client over dnspython: zone discovery, queries, zone transfers and TSIG-signed updates.

DnsClient never calls fail_json: every server answer other than NOERROR and
every transport failure becomes a typed DnsError (dns/errors.py). The transport
(dns/transport.py: one TCP connection, reused) is injected so that the error
mapping can be tested without a server. UPDATE messages are built and batched
by dns/update_message.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import math
import traceback

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import (
    InvalidInput,
    require_library,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.errors import (
    DnsNotAuthoritative,
    DnsTransferRefused,
    ZoneNotFound,
    error_for_exception,
    error_for_rcode,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.connection_options import TSIG_ALGORITHMS
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.model import NameState
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.names import in_zone, parent_name, zone_of
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.rdata import canonical_rdata_text
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.transport import TcpTransport
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.update_message import (
    MAX_UPDATE_BYTES,
    split_in_halves,
    update_batches,
    update_message,
)

try:
    import dns.message
    import dns.name
    import dns.rcode
    import dns.rdatatype
    import dns.tsigkeyring
except ImportError:  # reported by the modules through missing_required_lib, by DnsClient through require_library
    DNSPYTHON_IMPORT_ERROR = traceback.format_exc()
else:
    DNSPYTHON_IMPORT_ERROR = None

# The shortest secret taken per algorithm: the hash output length L. RFC 2104 section 3 strongly discourages
# keys shorter than L, and tsig-keygen makes keys of exactly L bytes.
TSIG_MIN_SECRET_BYTES = {"hmac-md5": 16, "hmac-sha1": 20, "hmac-sha224": 28, "hmac-sha256": 32,
                         "hmac-sha384": 48, "hmac-sha512": 64}
# Read a zone by transfer when more names than this are wanted from it; fewer are queried.
AXFR_THRESHOLD = 16
QUERY_TYPES_OF_NAME = ("A", "AAAA", "CNAME", "TXT", "PTR")


class DnsClient(object):
    """Zone discovery, reading names, and batched RFC 2136 updates against one server."""

    def __init__(self, server, port=53, key_name=None, key_secret=None, key_algorithm="hmac-sha256",
                 timeout=10.0, transport=None):
        require_library(DNSPYTHON_IMPORT_ERROR, "dnspython", "DNS updates")
        check_port_and_timeout(port, timeout)
        if bool(key_name) != bool(key_secret):
            raise InvalidInput("give key_name and key_secret together (or neither, for an unsigned update)")
        if key_algorithm not in TSIG_ALGORITHMS:
            raise InvalidInput("key_algorithm must be one of %s" % ", ".join(TSIG_ALGORITHMS))
        self.server = "%s:%s" % (server, port)
        self.timeout = timeout
        self.keyname = None
        self.keyring = None
        self.keyalgorithm = dns.name.from_text(key_algorithm)
        if key_name:
            secret = checked_secret(key_secret, key_algorithm)
            self.keyring = dns.tsigkeyring.from_text({key_name: secret})
            self.keyname = dns.name.from_text(key_name)
        self.transport = transport or TcpTransport(server, port, timeout)
        self.zones = set()
        self._zone_of_parent = {}
        self.stats = dict(queries=0, transfers=0, updates=0)

    def close(self):
        self.transport.close()

    # -- low level, with error mapping
    def _call_transport(self, what, call, *args):
        """call(*args) on the transport; what it raises becomes a typed error, or is re-raised if unknown."""
        try:
            return call(*args)
        except Exception as exc:  # noqa: BLE001 - mapped to a typed error, re-raised if unknown
            mapped = error_for_exception(exc, what, self.server, self.timeout)
            if mapped is None:
                raise
            raise mapped from None

    def _send(self, message, what):
        return self._call_transport(what, self.transport.send, message)

    def query(self, name, rtype):
        """(rcode text, answer rrsets, authority rrsets) of one query."""
        self.stats["queries"] += 1
        reply = self._send(dns.message.make_query(name, rtype), "query %s %s" % (name, rtype))
        return dns.rcode.to_text(reply.rcode()), reply.answer, reply.authority

    def transfer(self, zone):
        """{name: NameState} of every name in a zone, by AXFR."""
        self.stats["transfers"] += 1
        rrsets = self._call_transport("zone transfer of %s" % zone, self.transport.transfer,
                                      zone, self.keyring, self.keyname, self.keyalgorithm)
        return name_states_of_zone(rrsets)

    # -- zones
    def find_zone(self, fqdn):
        """The zone that holds fqdn on this server, from the SOA of its parent name (cached)."""
        known = zone_of(fqdn, self.zones)
        parent = parent_name(fqdn) or fqdn
        if parent in self._zone_of_parent:
            return self._zone_of_parent[parent]
        rcode, answer, authority = self.query(parent, "SOA")
        zone = None
        for rrset in list(answer) + list(authority):
            if rrset.rdtype == dns.rdatatype.SOA:
                zone = rrset.name.to_text().lower()
                break
        if zone is None or not in_zone(fqdn, zone):
            if known:
                zone = known
            else:
                raise ZoneNotFound("no zone on %s holds %s (SOA query for %s: %s)" % (self.server, fqdn, parent, rcode),
                                   rcode=rcode, server=self.server, name=fqdn,
                                   cause="the server is not authoritative for any zone above this name")
        self._zone_of_parent[parent] = zone
        self.zones.add(zone)
        return zone

    # -- reading
    def read_names(self, zone, names_types):
        """{name: NameState} for names in one zone; names_types maps name -> types of interest.

        Many names: one AXFR (falls back to queries if the transfer is refused).
        Few names: one query per type over the shared TCP connection.
        """
        if len(names_types) > AXFR_THRESHOLD:
            try:
                states = self.transfer(zone)
            except DnsTransferRefused:
                pass
            else:
                return {name: states.get(name, NameState()) for name in names_types}
        result = {}
        for name, rtypes in names_types.items():
            result[name] = self._read_name(name, rtypes)
        return result

    def _read_name(self, name, rtypes):
        state = NameState()
        for rtype in sorted(set(rtypes) | {"CNAME"}):
            rcode, answer, _authority = self.query(name, rtype)
            own = [rrset for rrset in answer if rrset.name.to_text().lower() == name]
            # NXDOMAIN next to a CNAME of this name is about the CNAME's target, not this name
            if rcode == "NXDOMAIN" and not own:
                return NameState(exists=False)
            if rcode in ("REFUSED", "NOTAUTH"):
                cause = ("the server refused to answer for this name: it serves no zone that holds it "
                         "(zone not served) or does not take queries from here")
                raise DnsNotAuthoritative("query %s %s: %s (%s from %s)" % (name, rtype, cause, rcode, self.server),
                                          rcode=rcode, cause=cause, server=self.server)
            if rcode not in ("NOERROR", "NXDOMAIN"):
                raise error_for_rcode(rcode, "query %s %s" % (name, rtype), self.server)
            state.exists = True
            for rrset in own:  # other owners are the targets of a CNAME, chased by the server
                got = dns.rdatatype.to_text(rrset.rdtype)
                state.rrsets[got] = (rrset.ttl, frozenset(canonical_rdata_text(got, rd) for rd in rrset))
        return state

    # -- updating
    def update(self, zone, changes):
        """Apply changes (all in `zone`) as few UPDATE messages as fit; returns how many were sent."""
        sent = 0
        pending = update_batches(changes)
        while pending:
            batch = pending.pop(0)
            message = update_message(zone, batch, self.keyring, self.keyname, self.keyalgorithm)
            if len(batch) > 1 and len(message.to_wire()) > MAX_UPDATE_BYTES:
                pending[:0] = split_in_halves(batch)  # the estimate was short: split and retry
                continue
            self.stats["updates"] += 1
            what = "update of zone %s (%d change(s))" % (zone, len(batch))
            reply = self._send(message, what)
            rcode = dns.rcode.to_text(reply.rcode())
            if rcode != "NOERROR":
                raise error_for_rcode(rcode, what, self.server)
            sent += 1
        return sent


def check_port_and_timeout(port, timeout):
    """InvalidInput unless port is a TCP port (1-65535; the socket layer would silently take 70000 as 4464)
    and timeout a finite number of seconds above 0."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise InvalidInput("port %r is not a TCP port: give a number from 1 to 65535" % (port,))
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not (
            math.isfinite(timeout) and timeout > 0):
        raise InvalidInput("timeout %r is not a number of seconds above 0" % (timeout,))


def checked_secret(key_secret, key_algorithm):
    """The base64 TSIG secret without white space, once it decodes to at least the hash length of the algorithm.

    The errors never show the secret (key_secret is no_log), only its decoded length.
    """
    secret = "".join(str(key_secret).split())
    try:
        raw = base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("key_secret is not valid base64 (the secret is not shown)") from None
    need = TSIG_MIN_SECRET_BYTES[key_algorithm]
    if len(raw) < need:
        raise InvalidInput(
            "key_secret decodes to %d bytes, too short for %s: at least %d bytes, the hash output length (RFC 2104 "
            "section 3 strongly discourages shorter keys; 'tsig-keygen -a %s' makes one of %d bytes)"
            % (len(raw), key_algorithm, need, key_algorithm, need))
    return secret


def name_states_of_zone(rrsets):
    """{name: NameState} from the RRsets of a zone transfer."""
    states = {}
    for rrset in rrsets:
        name = rrset.name.to_text().lower()
        rtype = dns.rdatatype.to_text(rrset.rdtype)
        state = states.setdefault(name, NameState(exists=True))
        ttl, values = state.rrsets.get(rtype, (rrset.ttl, frozenset()))
        state.rrsets[rtype] = (ttl, values | frozenset(canonical_rdata_text(rtype, rd) for rd in rrset))
    return states


def client_from_params(params, transport=None):
    """A DnsClient from the module parameters of connection_options.DNS_CONNECTION_ARGSPEC."""
    server = params["server"]
    if not server:
        raise InvalidInput("server is required")
    port = 53 if params.get("port") is None else params["port"]
    timeout = 10.0 if params.get("timeout") is None else params["timeout"]
    return DnsClient(server, port, params.get("key_name"), params.get("key_secret"),
                     params.get("key_algorithm") or "hmac-sha256", timeout, transport=transport)
