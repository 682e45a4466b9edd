# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed DNS errors, and the mapping of server answers and transport exceptions to them.

Every server answer other than NOERROR and every transport failure becomes a
DnsError whose message names the cause (a wrong secret, an unknown key, a key
without rights, a zone not served, ...). The planner's own refusals
(RecordConflict, ForeignRecords, NameTaken) live here too, so that every DNS error has one home.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import socket

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import SlurmVmError

try:
    import dns.exception
    import dns.rcode
    import dns.tsig
    import dns.xfr
except ImportError:
    HAS_DNSPYTHON = False  # reported by dns/client.py, the only caller that needs it
else:
    HAS_DNSPYTHON = True


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


class RecordConflict(SlurmVmError):
    """A name already holds other data and replace is false."""


class ForeignRecords(SlurmVmError):
    """A name to change holds records that are not ours (no ownership mark) and force is false."""


class NameTaken(SlurmVmError):
    """A claim found a name in use: the caller should pick another name."""


# ---------------------------------------------------------------- server answers

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


# ---------------------------------------------------------------- exceptions

def error_for_exception(exc, what, server, timeout):
    """The typed error for an exception raised while talking to the server, or None if it is unknown.

    dnspython's own exceptions are looked at first: its Timeout is not an OSError,
    and its TSIG errors must not fall through to the generic DNSException.
    """
    if HAS_DNSPYTHON:
        mapped = _tsig_error(exc, what, server) or _transfer_error(exc, what, server)
        if mapped is not None:
            return mapped
        if isinstance(exc, dns.exception.Timeout):
            return _timeout(what, server, timeout)
    mapped = _network_error(exc, what, server, timeout)
    if mapped is not None:
        return mapped
    if HAS_DNSPYTHON and isinstance(exc, dns.exception.DNSException):
        cause = "malformed or unexpected answer: %s" % exc
        return DnsServerError("%s: %s (%s)" % (what, cause, server), cause=cause, server=server)
    return None


def _peer_tsig_errors():
    """(exception classes, TSIG error name, cause) for the TSIG errors the server reports."""
    return (
        (dns.tsig.PeerBadSignature, "BADSIG", "the TSIG signature was rejected: wrong key secret"),
        (dns.tsig.PeerBadKey, "BADKEY", "the server does not know this TSIG key name, or not with this algorithm"),
        ((dns.tsig.PeerBadTime, dns.tsig.PeerBadTruncation), "BADTIME",
         "the server rejected the TSIG time (clock skew between here and the server)"),
    )


def _tsig_error(exc, what, server):
    """DnsAuthError for a TSIG failure, reported by the server or found in its answer."""
    for classes, tsig_error, cause in _peer_tsig_errors():
        if isinstance(exc, classes):
            return DnsAuthError("%s: %s (NOTAUTH/%s from %s)" % (what, cause, tsig_error, server), rcode="NOTAUTH",
                                tsig_error=tsig_error, cause=cause, server=server)
    if isinstance(exc, (dns.tsig.BadSignature, dns.tsig.BadTime)):
        cause = "the answer's TSIG signature does not verify (wrong secret or tampering)"
        return DnsAuthError("%s: %s (%s)" % (what, cause, server), cause=cause, server=server)
    return None


def _transfer_error(exc, what, server):
    if not isinstance(exc, dns.xfr.TransferError):
        return None
    rcode = dns.rcode.to_text(exc.rcode)
    if rcode == "NOTAUTH":  # BIND's answer to an AXFR of a zone it does not serve
        cause = "the server refused the zone transfer: it does not serve this zone"
    else:
        cause = "the server refused the zone transfer (allow-transfer)"
    return DnsTransferRefused("%s: %s (%s from %s)" % (what, cause, rcode, server), rcode=rcode,
                              cause=cause, server=server)


def _network_error(exc, what, server, timeout):
    """DnsTimeout or DnsConnectionError for a socket-level failure."""
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
    return None


def _timeout(what, server, timeout):
    cause = "no answer within %ss (server down, filtered, or unreachable)" % timeout
    return DnsTimeout("%s: %s (%s)" % (what, cause, server), cause=cause, server=server)
