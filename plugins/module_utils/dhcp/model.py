# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DHCP reservation model shared by every dhcp_host backend.

- Reservation: one host reservation in canonical form (lower-case MAC with colons,
  dotted IPv4, lower-case hostname, the ownership mark).
- BackendInfo: what a backend can do (declared capabilities, as community.dns's
  provider info does).
- DhcpBackend: the abstract API every backend file implements.
- Typed errors. Backends raise them and never call fail_json.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput, SlurmVmError


_MAC_RE = re.compile(r"^[0-9a-f]{2}([:-]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$")
_HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


class DhcpError(SlurmVmError):
    """Base of the DHCP backends' errors."""


class DhcpInvalidInput(InvalidInput):
    """A MAC, IP, hostname or option that is malformed (nothing was changed)."""


class DhcpConflict(DhcpError):
    """The IP or MAC is already reserved for another host, or the IP is outside the subnet."""


class DhcpNotOwned(DhcpError):
    """The reservation exists but carries no hpc.slurm_vm mark; only force changes it."""


class DhcpServerDown(DhcpError):
    """The DHCP server or its database cannot be reached."""


class DhcpAuthError(DhcpError):
    """The server refused the credentials."""


class DhcpUnsupported(DhcpError):
    """The backend or the server cannot do what was asked."""


class DhcpBackendError(DhcpError):
    """The server answered, but with an error or an unexpected reply."""


class DhcpMissingLibrary(DhcpError):
    """A Python library the backend needs is not installed where the module runs."""

    def __init__(self, library, exception_text):
        super(DhcpMissingLibrary, self).__init__("missing Python library %s" % library)
        self.library = library
        self.exception_text = exception_text


def normalize_mac(value):
    """'52-54-00-78-00-0A' -> '52:54:00:78:00:0a'; raises DhcpInvalidInput."""
    text = str(value or "").strip().lower()
    if not _MAC_RE.match(text):
        raise DhcpInvalidInput("invalid MAC address %r (want six hex octets, e.g. 52:54:00:78:00:01)" % (value,),
                               mac=value)
    digits = re.sub(r"[^0-9a-f]", "", text)
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def normalize_ip(value):
    """A dotted IPv4 address in canonical form; raises DhcpInvalidInput."""
    text = str(value or "").strip()
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts):
        raise DhcpInvalidInput("invalid IPv4 address %r" % (value,), ip=value)
    return ".".join(str(int(p)) for p in parts)


def ip_to_int(ip):
    a, b, c, d = (int(p) for p in ip.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def int_to_ip(value):
    return ".".join(str((value >> s) & 255) for s in (24, 16, 8, 0))


def normalize_hostname(value):
    """Lower-case (DNS and dnsmasq lower-case names; DESIGN.md) and checked as a DNS name."""
    text = str(value or "").strip().lower()
    if not _HOSTNAME_RE.match(text):
        raise DhcpInvalidInput("invalid hostname %r (letters, digits, '-' and '.')" % (value,), hostname=value)
    return text


def parse_subnet(value):
    """'10.78.0.0/26' -> (network_int, prefixlen, canonical text); raises DhcpInvalidInput."""
    text = str(value or "").strip()
    addr, sep, plen = text.partition("/")
    if not sep or not plen.isdigit() or not 0 <= int(plen) <= 32:
        raise DhcpInvalidInput("invalid subnet %r (want CIDR such as 10.78.0.0/24)" % (value,), subnet=value)
    net = ip_to_int(normalize_ip(addr))
    mask = (0xFFFFFFFF << (32 - int(plen))) & 0xFFFFFFFF
    if net & ~mask & 0xFFFFFFFF:
        raise DhcpInvalidInput("subnet %r has host bits set" % (value,), subnet=value)
    return net, int(plen), "%s/%s" % (int_to_ip(net), plen)


def ip_in_subnet(ip, subnet):
    net, plen, _text = parse_subnet(subnet)
    mask = (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF
    return ip_to_int(ip) & mask == net


def make_mark(hostname, extra=None):
    """The ownership mark stored with a reservation: {'vm': host, ...extra}."""
    mark = {"vm": hostname}
    for key, value in sorted((extra or {}).items()):
        if key != "vm" and value is not None:
            mark[str(key)] = str(value)
    return mark


class Reservation(object):
    """One host reservation in canonical form. mark is None when it is not ours."""

    __slots__ = ("mac", "ip", "hostname", "subnet_id", "mark", "ref")

    def __init__(self, mac, ip, hostname=None, subnet_id=None, mark=None, ref=None):
        self.mac = mac
        self.ip = ip
        self.hostname = hostname
        self.subnet_id = subnet_id
        self.mark = mark
        self.ref = ref  # backend handle (row id, file name, ...); not compared

    @property
    def owned(self):
        return self.mark is not None

    def key(self):
        return (self.mac, self.ip, self.hostname, self.subnet_id, tuple(sorted((self.mark or {}).items())))

    def __eq__(self, other):
        return isinstance(other, Reservation) and self.key() == other.key()

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(self.key())

    def __repr__(self):
        return "Reservation(%s)" % ", ".join("%s=%r" % (k, v) for k, v in self.to_dict().items())

    def to_dict(self):
        result = dict(mac=self.mac, ip=self.ip, hostname=self.hostname, owned=self.owned, mark=self.mark)
        if self.subnet_id is not None:
            result["subnet_id"] = self.subnet_id
        return result


class BackendInfo(object):
    """Declared capabilities of a backend.

    needs_subnet_id: the server keys reservations by a numeric subnet id (Kea).
    can_list: all reservations of a scope can be read (dhcp_host_info lists them).
    finds_by_ip: reservations can be looked up by IP, so duplicate IPs are detected.
    stores_mark: the whole mark dict is stored (Kea user-context); otherwise only the
      name carries it (dnsmasq file name, dhcpd object name).
    transactional: a batch is applied all or nothing.
    """

    def __init__(self, name, needs_subnet_id=False, can_list=True, finds_by_ip=True, stores_mark=False,
                 transactional=False):
        self.name = name
        self.needs_subnet_id = needs_subnet_id
        self.can_list = can_list
        self.finds_by_ip = finds_by_ip
        self.stores_mark = stores_mark
        self.transactional = transactional

    def to_dict(self):
        names = ("name", "needs_subnet_id", "can_list", "finds_by_ip", "stores_mark", "transactional")
        return {k: getattr(self, k) for k in names}


class DhcpBackend(object):
    """Abstract DHCP reservation backend.

    The shared run function (dhcp_run.py) uses it like this:

        with backend.session(write=not check_mode):
            current = backend.find(macs, ips, hostnames, subnet_id)
            ... plan ...
            backend.apply(removals, additions)   # only when not in check mode

    session() takes the backend's lock for writers (table lock, lock file), so the
    conflict check and the write see the same state.
    """

    info = BackendInfo("abstract")

    def session(self, write):
        raise NotImplementedError

    def find(self, macs, ips, hostnames, subnet_id=None):
        """Reservations in the scope whose MAC, IP or hostname is one of those given."""
        raise NotImplementedError

    def list(self, subnet_id=None):
        """Every reservation of the scope (only when info.can_list)."""
        raise DhcpUnsupported("the %s backend cannot list reservations" % self.info.name)

    def apply(self, removals, additions):
        """Remove the Reservations in removals (as found), then add those in additions."""
        raise NotImplementedError


class NullSession(object):
    """A session without a lock, for backends whose server serializes writes itself."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
