# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""MAC and IPv4 addresses, on netaddr: the one rule for the image table, libvirt_guest and dhcp_host.

MAC addresses are EUI-48.
- Accepted spellings, any case, blanks around ignored: six two-digit hex octets all separated
  by ':' (52:54:00:77:01:05) or all by '-' (52-54-00-77-01-05), or 12 bare hex digits
  (525400770105). netaddr reads more (Cisco 5254.0077.0105, one-digit octets 52:54:0:77:1:5),
  but none of the collection's older checks did, so they stay refused. EUI-64 is refused.
- A MAC that names a host's NIC (host_mac) is unicast and not all zero. Multicast has the
  lowest bit of the first octet (I/G) set; the broadcast ff:ff:ff:ff:ff:ff is multicast too.
- Normal form: lower case, colon-separated (netaddr's mac_unix_expanded).

IP addresses are IPv4: pools and DHCP reservations are IPv4 (every DHCP backend stores IPv4).
(dns_record checks its own A and AAAA values.)
- An address is a dotted quad without leading zeros (inet_aton reads 010 as octal 8).
- A subnet is CIDR (10.77.0.0/16) without host bits set.
- A host address lies in its subnet and is neither the network nor the broadcast address.
  /31 and /32 follow RFC 3021: every address of them is a host address.

A pool (AddressPool) derives a host's addresses from its index (DESIGN.md):
MAC = mac_prefix + index, IP = subnet network address + ip_offset + index. Its mac_prefix
is 2 to 5 octets whose first is unicast and locally administered; its subnet is at most a
/30, because the VMs share it with the DHCP server and gateway they boot from.

Every function raises InvalidInput naming the value and saying what is expected.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import traceback

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput, require_library

try:
    from netaddr import EUI, INET_PTON, IPAddress, mac_unix_expanded
    from netaddr.core import AddrFormatError
    NETADDR_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by _require()
    NETADDR_IMPORT_ERROR = traceback.format_exc()

MAC_SPELLINGS = ("an EUI-48 MAC address: six hex octets separated by ':' or '-' (52:54:00:77:01:05) "
                 "or 12 bare hex digits")
_MAC_RE = re.compile(r"^[0-9a-f]{2}([:-]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$", re.IGNORECASE)
_MAC_PREFIX_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){1,4}$", re.IGNORECASE)
_CIDR_RE = re.compile(r"^([^/]+)/([0-9]{1,2})$")
_GROUP_BIT = 0x01  # I/G: set for multicast (and broadcast)
_LOCAL_BIT = 0x02  # U/L: set for locally administered
# A pool's subnet also holds the DHCP server and the gateway its VMs boot from.
LONGEST_POOL_PREFIX = 30


def _require():
    require_library(NETADDR_IMPORT_ERROR, "netaddr", "MAC and IP addresses")


def _text(value):
    return "" if value is None else str(value).strip()


# ------------------------------------------------------------------------ MAC
def _eui48(value, what):
    _require()
    text = _text(value)
    if not _MAC_RE.match(text):
        raise InvalidInput("invalid %s %r: want %s" % (what, value, MAC_SPELLINGS), mac=value)
    return EUI(text, version=48, dialect=mac_unix_expanded)


def mac_normal_form(value, what="MAC address"):
    """Any EUI-48 in the normal form, multicast included: for reading what a server already holds."""
    return str(_eui48(value, what))


def host_mac(value, what="MAC address"):
    """A MAC that may name a host's NIC, in the normal form: unicast and not all zero."""
    eui = _eui48(value, what)
    if int(eui) == 0:
        raise InvalidInput("invalid %s %r: the all-zero address names no NIC; want a unicast address such as "
                           "52:54:00:77:01:05" % (what, value), mac=value)
    if eui.words[0] & _GROUP_BIT:
        kind = "the broadcast address" if int(eui) == (1 << 48) - 1 else "a multicast (group) address"
        raise InvalidInput("invalid %s %r: %s cannot name a NIC; want a unicast address (lowest bit of the "
                           "first octet clear) such as 52:54:00:77:01:05" % (what, value, kind), mac=value)
    return str(eui)


def mac_bytes(mac):
    """The six octets of a MAC (any accepted spelling), as a server stores them."""
    return _eui48(mac, "MAC address").packed


def mac_of_bytes(octets):
    """The normal form of the octets a server stored (kept whole when they are not six)."""
    return ":".join("%02x" % octet for octet in bytearray(octets))


def mac_prefix(value, what="mac_prefix"):
    """2 to 5 octets, colon-separated, whose first octet is unicast and locally administered."""
    text = _text(value).lower()
    if not _MAC_PREFIX_RE.match(text):
        raise InvalidInput("%s %r must be 2 to 5 hex bytes like '52:54:00:77:01'" % (what, text), mac_prefix=value)
    first = int(text[:2], 16)
    if first & _GROUP_BIT or not first & _LOCAL_BIT:
        raise InvalidInput("%s %s must be unicast and locally administered (second-lowest bit of the first byte "
                           "set, lowest clear), such as 52:54:00" % (what, text), mac_prefix=value)
    return text


# ------------------------------------------------------------------------- IP
def _ipv4(value, what):
    _require()
    text = _text(value)
    try:
        return IPAddress(text, version=4, flags=INET_PTON)
    except (AddrFormatError, ValueError, TypeError):
        raise InvalidInput("invalid %s %r: want an IPv4 address such as 10.77.1.1 (no leading zeros, no prefix)"
                           % (what, value), ip=value) from None


def ipv4_address(value, what="IP address"):
    """A dotted IPv4 address in its normal form."""
    return str(_ipv4(value, what))


def ipv4_to_int(ip):
    return int(_ipv4(ip, "IP address"))


def int_to_ipv4(number):
    _require()
    return str(IPAddress(int(number), version=4))


class Subnet(object):
    """An IPv4 subnet in CIDR, without host bits. first/last are integers, text the normal form."""

    __slots__ = ("first", "last", "prefixlen", "text")

    def __init__(self, value, what="subnet"):
        match = _CIDR_RE.match(_text(value))
        if not match or int(match.group(2)) > 32:
            raise InvalidInput("invalid %s %r: want IPv4 CIDR such as 10.77.0.0/16" % (what, value), subnet=value)
        self.prefixlen = int(match.group(2))
        address = int(_ipv4(match.group(1), what))
        size = 1 << (32 - self.prefixlen)
        self.first = address & ~(size - 1)
        self.last = self.first + size - 1
        self.text = "%s/%d" % (int_to_ipv4(self.first), self.prefixlen)
        if address != self.first:
            raise InvalidInput("invalid %s %r: host bits are set (the network is %s)" % (what, value, self.text),
                               subnet=value)

    def __str__(self):
        return self.text

    def __contains__(self, number):
        return self.first <= number <= self.last

    def host_problem(self, number):
        """Why the address (an integer) cannot be a host of this subnet, or None when it can."""
        if number not in self:
            return "falls outside %s" % self.text
        if self.prefixlen >= 31:  # RFC 3021: no network or broadcast address
            return None
        if number == self.first:
            return "is the network address of %s" % self.text
        if number == self.last:
            return "is the broadcast address of %s" % self.text
        return None


def ipv4_subnet(value, what="subnet"):
    """The subnet's normal form, '10.77.0.0/16'."""
    return Subnet(value, what).text


def ip_in_subnet(ip, subnet):
    """True when the address lies in the subnet (its network and broadcast addresses included)."""
    return int(_ipv4(ip, "IP address")) in Subnet(subnet)


def host_ip(ip, subnet, what="IP address"):
    """An address a host may hold in the subnet, in its normal form."""
    address = _ipv4(ip, what)
    problem = Subnet(subnet).host_problem(int(address))
    if problem:
        raise InvalidInput("%s %s %s; a host address must lie in the subnet and be neither its network nor its "
                           "broadcast address" % (what, address, problem), ip=str(address), subnet=subnet)
    return str(address)


# ----------------------------------------------------------------------- pool
class AddressPool(object):
    """The addresses of one pool: MAC = mac_prefix + index, IP = network + ip_offset + index.

    Integers are kept so that a table of 10,000 hosts checks in milliseconds.
    """

    def __init__(self, subnet, ip_offset, prefix, what="network"):
        self.subnet = Subnet(subnet, "%s.subnet" % what)
        if self.subnet.prefixlen > LONGEST_POOL_PREFIX:
            raise InvalidInput("%s.subnet %s is too small for a pool: the VMs share their subnet with the DHCP "
                               "server and the gateway, want /%d or larger" % (what, self.subnet, LONGEST_POOL_PREFIX),
                               subnet=subnet)
        self.ip_offset = int(ip_offset)
        self.mac_prefix = mac_prefix(prefix, "%s.mac_prefix" % what)
        octets = self.mac_prefix.split(":")
        self.spare_bytes = 6 - len(octets)
        self.mac_base = int("".join(octets), 16) << (8 * self.spare_bytes)
        self.what = what

    def mac_int(self, index):
        return self.mac_base + index

    def ip_int(self, index):
        return self.subnet.first + self.ip_offset + index

    def mac(self, index):
        return str(EUI(self.mac_int(index), version=48, dialect=mac_unix_expanded))

    def ip(self, index):
        return int_to_ipv4(self.ip_int(index))

    def check_indices(self, lowest, highest):
        """Every index from lowest to highest gives a host address and a MAC under the prefix."""
        # IPs grow with the index and a subnet's host addresses are contiguous: the ends decide.
        for index in (lowest, highest):
            number = self.ip_int(index)
            problem = self.subnet.host_problem(number)
            if problem:
                shown = int_to_ipv4(number) if number < 1 << 32 else "no IPv4 address"
                raise InvalidInput("index %d plus ip_offset %d gives %s, which %s; a pool host needs a host address"
                                   % (index, self.ip_offset, shown, problem), index=index, ip_offset=self.ip_offset)
        if highest >= 256 ** self.spare_bytes:
            raise InvalidInput("index %d does not fit in the %d byte(s) after %s.mac_prefix %s"
                               % (highest, self.spare_bytes, self.what, self.mac_prefix), index=highest)
