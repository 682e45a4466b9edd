# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record values (rdata) in canonical presentation text, the form dnspython prints."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.names import absolute_name, parse_ip

SUPPORTED_TYPES = ("A", "AAAA", "CNAME", "PTR", "TXT")


def txt_rdata(text):
    """A TXT value as one quoted character-string, the way dnspython prints it."""
    if not isinstance(text, str):
        text = str(text)
    out = []
    for char in text:
        code = ord(char)
        if code > 126 or code < 32:
            raise InvalidInput("TXT value %r holds a non-printable or non-ASCII character" % text)
        if char in '"\\':
            out.append("\\" + char)
        else:
            out.append(char)
    if len(text) > 255:
        raise InvalidInput("TXT value %r is longer than 255 characters" % text)
    return '"%s"' % "".join(out)


def txt_text(rdata):
    """The string(s) inside a TXT rdata in presentation form, joined (inverse of txt_rdata)."""
    out, i, quoted = [], 0, False
    while i < len(rdata):
        char = rdata[i]
        if char == '"':
            quoted = not quoted
        elif char == "\\" and i + 1 < len(rdata):
            nxt = rdata[i + 1: i + 4]
            if nxt.isdigit() and len(nxt) == 3:
                out.append(chr(int(nxt)))
                i += 3
            else:
                out.append(rdata[i + 1])
                i += 1
        elif quoted or char != " ":
            out.append(char)
        i += 1
    return "".join(out)


def canonical_value(rtype, value, zone=None):
    """Canonical presentation text of one rdata of the given type."""
    if rtype == "A":
        address = parse_ip(value)
        if address.version != 4:
            raise InvalidInput("%r is not an IPv4 address (type A)" % (value,))
        return str(address)
    if rtype == "AAAA":
        address = parse_ip(value)
        if address.version != 6:
            raise InvalidInput("%r is not an IPv6 address (type AAAA)" % (value,))
        return str(address)
    if rtype in ("CNAME", "PTR"):
        return absolute_name(str(value), zone)
    if rtype == "TXT":
        return txt_rdata(value)
    raise InvalidInput("record type %r is not supported (one of %s)" % (rtype, ", ".join(SUPPORTED_TYPES)))


def canonical_rdata_text(rtype, rdata):
    """The canonical text of one dnspython rdata read from the server (names lower-cased)."""
    text = rdata.to_text()
    return text.lower() if rtype in ("CNAME", "PTR", "NS", "SOA") else text
