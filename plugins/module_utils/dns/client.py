# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""RFC 2136 client over dnspython: queries, zone transfers and TSIG-signed updates.

DnsClient never calls fail_json: every server answer other than NOERROR and
every transport failure becomes a typed DnsError whose message names the cause
(a wrong secret, an unknown key, a key without rights, a zone not served, ...).
The transport (one TCP connection, reused) is injected so that the error
mapping can be tested without a server.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import socket
import traceback

from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.plan import (
    PREREQ_NAME_ABSENT,
    NameState,
    absolute_name,
    in_zone,
    parent_name,
    zone_of,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput, SlurmVmError

try:
    import dns.exception
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdataclass
    import dns.rdatatype
    import dns.tsig
    import dns.tsigkeyring
    import dns.update
    import dns.xfr
except ImportError:
    HAS_DNSPYTHON = False
    DNSPYTHON_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_DNSPYTHON = True
    DNSPYTHON_IMPORT_ERROR = None

TSIG_ALGORITHMS = ("hmac-sha256", "hmac-sha512", "hmac-sha384", "hmac-sha224", "hmac-sha1", "hmac-md5")
# Read a zone by transfer when more names than this are wanted from it; fewer are queried.
AXFR_THRESHOLD = 16
# Stay under the 65535-byte DNS message limit; estimated without name compression.
MAX_UPDATE_BYTES = 60000
QUERY_TYPES_OF_NAME = ("A", "AAAA", "CNAME", "TXT", "PTR")

# Shared argument spec of the DNS modules (doc fragment hpc.slurm_vm.dns).
DNS_CONNECTION_ARGSPEC = dict(
    server=dict(type="str", required=True),
    port=dict(type="int", default=53),
    key_name=dict(type="str"),
    key_secret=dict(type="str", no_log=True),
    key_algorithm=dict(type="str", default="hmac-sha256", choices=list(TSIG_ALGORITHMS)),
    timeout=dict(type="float", default=10.0),
)


# ---------------------------------------------------------------- typed errors

class DnsError(SlurmVmError):
    """Base class of the DNS errors; details carry server, rcode and cause."""


class DnsAuthError(DnsError):
    """TSIG failed: wrong secret (BADSIG), unknown key or algorithm (BADKEY), clock skew (BADTIME)."""


class DnsRefused(DnsError):
    """REFUSED: the update is unsigned, the key is not granted, or the zone takes no updates."""


class DnsNotAuthoritative(DnsError):
    """NOTAUTH without a TSIG error: the server does not serve the zone."""


class DnsNotZone(DnsError):
    """NOTZONE: a name in the update is outside the zone."""


class DnsPrerequisiteFailed(DnsError):
    """YXDOMAIN / NXDOMAIN / YXRRSET / NXRRSET: the data changed since it was read."""


class DnsServerError(DnsError):
    """SERVFAIL, FORMERR, NOTIMP or another unexpected rcode."""


class DnsTimeout(DnsError):
    """No answer within the timeout."""


class DnsConnectionError(DnsError):
    """The connection was refused, the host unreachable, or it broke."""


class DnsTransferRefused(DnsError):
    """A zone transfer (AXFR) was refused."""


class ZoneNotFound(DnsError):
    """No zone on the server holds the name."""


class UpdateNotApplied(DnsError):
    """The server said NOERROR but a query afterwards does not show the records."""


_RCODE_CAUSES = {
    "REFUSED": (DnsRefused, "the server refused the update: it is unsigned, the key is not granted on this "
                            "zone (update-policy), or the zone takes no dynamic updates"),
    "NOTAUTH": (DnsNotAuthoritative, "the server is not authoritative for the zone (zone not served)"),
    "NOTZONE": (DnsNotZone, "a name in the update is outside the zone"),
    "YXDOMAIN": (DnsPrerequisiteFailed, "prerequisite failed: a name that must not exist exists"),
    "NXDOMAIN": (DnsPrerequisiteFailed, "prerequisite failed: a name that must exist does not"),
    "YXRRSET": (DnsPrerequisiteFailed, "prerequisite failed: an RRset that must not exist exists"),
    "NXRRSET": (DnsPrerequisiteFailed, "prerequisite failed: an RRset is not as read (changed concurrently)"),
    "SERVFAIL": (DnsServerError, "the server failed to process the request (SERVFAIL)"),
    "FORMERR": (DnsServerError, "the server could not parse the request (FORMERR)"),
    "NOTIMP": (DnsServerError, "the server does not implement this operation (NOTIMP)"),
}


def error_for_rcode(rcode_text, what, server):
    """The typed error for a non-NOERROR answer."""
    cls, cause = _RCODE_CAUSES.get(rcode_text, (DnsServerError, "unexpected answer %s" % rcode_text))
    return cls("%s: %s (%s from %s)" % (what, cause, rcode_text, server), rcode=rcode_text, cause=cause,
               server=server)


def error_for_exception(exc, what, server, timeout):
    """The typed error for an exception raised while talking to the server."""
    if HAS_DNSPYTHON:
        if isinstance(exc, dns.tsig.PeerBadSignature):
            cause = "the TSIG signature was rejected: wrong key secret"
            return DnsAuthError("%s: %s (NOTAUTH/BADSIG from %s)" % (what, cause, server), rcode="NOTAUTH",
                                tsig_error="BADSIG", cause=cause, server=server)
        if isinstance(exc, dns.tsig.PeerBadKey):
            cause = "the server does not know this TSIG key name, or not with this algorithm"
            return DnsAuthError("%s: %s (NOTAUTH/BADKEY from %s)" % (what, cause, server), rcode="NOTAUTH",
                                tsig_error="BADKEY", cause=cause, server=server)
        if isinstance(exc, (dns.tsig.PeerBadTime, dns.tsig.PeerBadTruncation)):
            cause = "the server rejected the TSIG time (clock skew between here and the server)"
            return DnsAuthError("%s: %s (NOTAUTH/BADTIME from %s)" % (what, cause, server), rcode="NOTAUTH",
                                tsig_error="BADTIME", cause=cause, server=server)
        if isinstance(exc, (dns.tsig.BadSignature, dns.tsig.BadTime)):
            cause = "the answer's TSIG signature does not verify (wrong secret or tampering)"
            return DnsAuthError("%s: %s (%s)" % (what, cause, server), cause=cause, server=server)
        if isinstance(exc, dns.xfr.TransferError):
            rcode = dns.rcode.to_text(exc.rcode)
            cause = "the server refused the zone transfer (allow-transfer)"
            return DnsTransferRefused("%s: %s (%s from %s)" % (what, cause, rcode, server), rcode=rcode,
                                      cause=cause, server=server)
        if isinstance(exc, dns.exception.Timeout):
            return _timeout(what, server, timeout)
    if isinstance(exc, socket.timeout):
        return _timeout(what, server, timeout)
    if isinstance(exc, ConnectionRefusedError):
        cause = "connection refused: nothing listens on that address and port (server down?)"
        return DnsConnectionError("%s: %s (%s)" % (what, cause, server), cause=cause, server=server,
                                  errno="ECONNREFUSED")
    if isinstance(exc, EOFError):
        cause = "the server closed the connection without an answer"
        return DnsConnectionError("%s: %s (%s)" % (what, cause, server), cause=cause, server=server)
    if isinstance(exc, OSError):
        name = errno.errorcode.get(exc.errno, str(exc.errno))
        cause = "network error %s: %s" % (name, exc.strerror or exc)
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            cause = "host unreachable (%s): no server at that address" % name
        return DnsConnectionError("%s: %s (%s)" % (what, cause, server), cause=cause, server=server, errno=name)
    if HAS_DNSPYTHON and isinstance(exc, dns.exception.DNSException):
        cause = "malformed or unexpected answer: %s" % exc
        return DnsServerError("%s: %s (%s)" % (what, cause, server), cause=cause, server=server)
    return None


def _timeout(what, server, timeout):
    cause = "no answer within %ss (server down, filtered, or unreachable)" % timeout
    return DnsTimeout("%s: %s (%s)" % (what, cause, server), cause=cause, server=server)


# ---------------------------------------------------------------- transport

class TcpTransport(object):
    """Sends DNS messages over one reused TCP connection; AXFR on its own connection."""

    def __init__(self, server, port=53, timeout=10.0):
        self.server = server
        self.port = port
        self.timeout = timeout
        self._sock = None

    def _connect(self):
        sock = socket.create_connection((self.server, self.port), timeout=self.timeout)
        sock.setblocking(False)
        return sock

    def send(self, message):
        """Send one message and return the answer (TSIG is verified by dnspython)."""
        fresh = self._sock is None
        if fresh:
            self._sock = self._connect()
        try:
            return dns.query.tcp(message, self.server, timeout=self.timeout, port=self.port, sock=self._sock)
        except (EOFError, ConnectionResetError, BrokenPipeError):
            self.close()
            if fresh:
                raise
            # the server dropped an idle connection: one retry on a new one is safe,
            # as every update carries prerequisites
            self._sock = self._connect()
            return dns.query.tcp(message, self.server, timeout=self.timeout, port=self.port, sock=self._sock)
        except Exception:
            self.close()
            raise

    def transfer(self, zone, keyring=None, keyname=None, keyalgorithm=None):
        """All RRsets of a zone as a list of dns.rrset.RRset (absolute names)."""
        kwargs = dict(port=self.port, timeout=self.timeout, lifetime=max(self.timeout * 6, 30), relativize=False)
        if keyring:
            kwargs.update(keyring=keyring, keyname=keyname, keyalgorithm=keyalgorithm)
        rrsets = []
        for message in dns.query.xfr(self.server, zone, **kwargs):
            rrsets.extend(message.answer)
        return rrsets

    def close(self):
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None


# ---------------------------------------------------------------- client

class DnsClient(object):
    """Zone discovery, reading names, and batched RFC 2136 updates against one server."""

    def __init__(self, server, port=53, key_name=None, key_secret=None, key_algorithm="hmac-sha256",
                 timeout=10.0, transport=None):
        if not HAS_DNSPYTHON:
            raise SlurmVmError("dnspython is required")
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
            try:
                self.keyring = dns.tsigkeyring.from_text({key_name: key_secret.strip()})
            except (ValueError, TypeError) as exc:
                raise InvalidInput("key_secret is not valid base64: %s" % exc) from None
            self.keyname = dns.name.from_text(key_name)
        self.transport = transport or TcpTransport(server, port, timeout)
        self.zones = set()
        self._zone_of_parent = {}
        self.stats = dict(queries=0, transfers=0, updates=0)

    def close(self):
        self.transport.close()

    # -- low level, with error mapping
    def _send(self, message, what):
        try:
            reply = self.transport.send(message)
        except Exception as exc:  # noqa: BLE001 - mapped to a typed error, re-raised if unknown
            mapped = error_for_exception(exc, what, self.server, self.timeout)
            if mapped is None:
                raise
            raise mapped from None
        return reply

    def query(self, name, rtype):
        """(rcode text, answer rrsets, authority rrsets) of one query."""
        self.stats["queries"] += 1
        reply = self._send(dns.message.make_query(name, rtype), "query %s %s" % (name, rtype))
        return dns.rcode.to_text(reply.rcode()), reply.answer, reply.authority

    def transfer(self, zone):
        """{name: NameState} of every name in a zone, by AXFR."""
        self.stats["transfers"] += 1
        what = "zone transfer of %s" % zone
        try:
            rrsets = self.transport.transfer(zone, self.keyring, self.keyname, self.keyalgorithm)
        except Exception as exc:  # noqa: BLE001 - mapped to a typed error, re-raised if unknown
            mapped = error_for_exception(exc, what, self.server, self.timeout)
            if mapped is None:
                raise
            raise mapped from None
        states = {}
        for rrset in rrsets:
            name = rrset.name.to_text().lower()
            rtype = dns.rdatatype.to_text(rrset.rdtype)
            state = states.setdefault(name, NameState(exists=True))
            ttl, values = state.rrsets.get(rtype, (rrset.ttl, frozenset()))
            state.rrsets[rtype] = (ttl, values | frozenset(_rdata_text(rtype, rd) for rd in rrset))
        return states

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
                state.rrsets[got] = (rrset.ttl, frozenset(_rdata_text(got, rd) for rd in rrset))
        return state

    # -- updating
    def update(self, zone, changes):
        """Apply changes (all in `zone`) as few UPDATE messages as fit; returns how many were sent."""
        sent = 0
        pending = _batches(changes)
        while pending:
            batch = pending.pop(0)
            message = self._update_message(zone, batch)
            if len(batch) > 1 and len(message.to_wire()) > MAX_UPDATE_BYTES:
                pending[:0] = _halves(batch)  # the estimate was short: split and retry
                continue
            self.stats["updates"] += 1
            what = "update of zone %s (%d change(s))" % (zone, len(batch))
            reply = self._send(message, what)
            rcode = dns.rcode.to_text(reply.rcode())
            if rcode != "NOERROR":
                raise error_for_rcode(rcode, what, self.server)
            sent += 1
        return sent

    def _update_message(self, zone, batch):
        """One UPDATE: the prerequisites of every change, then the changes."""
        message = dns.update.UpdateMessage(zone, keyring=self.keyring, keyname=self.keyname,
                                           keyalgorithm=self.keyalgorithm)
        absent_names = set()
        for change in batch:
            if change.prereq == PREREQ_NAME_ABSENT:
                if change.name not in absent_names:
                    absent_names.add(change.name)
                    message.absent(change.name)
            elif change.before:
                message.present(change.name, change.rtype, *sorted(change.before))
            else:
                message.absent(change.name, change.rtype)
        for change in batch:
            if change.after and not change.before:
                # the prerequisite guarantees the RRset is empty: a plain add is enough
                message.add(change.name, change.ttl, change.rtype, *sorted(change.after))
            elif change.after:
                message.replace(change.name, change.ttl, change.rtype, *sorted(change.after))
            else:
                message.delete(change.name, change.rtype)
        return message


def _rdata_text(rtype, rdata):
    text = rdata.to_text()
    return text.lower() if rtype in ("CNAME", "PTR", "NS", "SOA") else text


def _estimate(change):
    """Wire bytes of one change, counting names as compressed (a label plus a pointer).

    Only a guide: update() checks the real size and splits a message that is too big.
    """
    owner = len(change.name.split(".", 1)[0]) + 3
    header = owner + 10

    def rdata(value):
        if change.rtype in ("PTR", "CNAME"):
            return len(value.split(".", 1)[0]) + 3
        return len(value) + 1 if change.rtype == "TXT" else (4 if change.rtype == "A" else 16)

    size = header if not change.before else sum(header + rdata(v) for v in change.before)  # prerequisite
    size += header if change.before else 0  # the delete of a replace
    return size + sum(header + rdata(v) for v in change.after)


def _halves(batch):
    """Split a batch in two at a name boundary near its middle."""
    cut = len(batch) // 2
    while 0 < cut < len(batch) and batch[cut].name == batch[cut - 1].name:
        cut += 1
    if cut >= len(batch):
        cut = len(batch) // 2
    return [batch[:cut], batch[cut:]]


def _batches(changes):
    """Split changes so each UPDATE stays under MAX_UPDATE_BYTES; one name never spans two."""
    batches, current, size = [], [], 0
    last_name = None
    for change in changes:
        cost = _estimate(change)
        if current and size + cost > MAX_UPDATE_BYTES and change.name != last_name:
            batches.append(current)
            current, size = [], 0
        current.append(change)
        size += cost
        last_name = change.name
    if current:
        batches.append(current)
    return batches


def client_from_params(params, transport=None):
    """A DnsClient from the module parameters of DNS_CONNECTION_ARGSPEC."""
    server = params["server"]
    if not server:
        raise InvalidInput("server is required")
    return DnsClient(server, params.get("port") or 53, params.get("key_name"), params.get("key_secret"),
                     params.get("key_algorithm") or "hmac-sha256", params.get("timeout") or 10.0,
                     transport=transport)


def normalize_zone(zone):
    return absolute_name(zone) if zone else None
