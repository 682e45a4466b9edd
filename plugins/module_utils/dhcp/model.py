# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DHCP reservation model shared by every dhcp_host backend.

- Reservation: one host reservation in canonical form (MAC and IPv4 in common/addresses.py's
  normal form, lower-case hostname, the ownership mark).
- BackendInfo: what a backend can do (declared capabilities, as community.dns's
  provider info does).
- DhcpBackend: the abstract API every backend file implements.
- Typed errors. Backends raise them and never call fail_json.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import re
from contextlib import contextmanager

from ansible.module_utils.six.moves.urllib.parse import urlsplit, urlunsplit

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import addresses
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput, SlurmVmError


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


@contextmanager
def _dhcp_input():
    """common/addresses.py raises InvalidInput; dhcp_host reports DhcpInvalidInput (or the missing library)."""
    try:
        yield
    except DhcpInvalidInput:
        raise
    except InvalidInput as exc:
        if exc.details.get("library"):
            raise DhcpMissingLibrary(exc.details["library"], exc.details.get("exception")) from exc
        raise DhcpInvalidInput(exc.message, **exc.details) from exc


def normalize_mac(value):
    """A host's MAC in the normal form, '52-54-00-78-00-0A' -> '52:54:00:78:00:0a' (addresses.host_mac)."""
    with _dhcp_input():
        return addresses.host_mac(value)


def normalize_ip(value):
    """A dotted IPv4 address in its normal form; raises DhcpInvalidInput."""
    with _dhcp_input():
        return addresses.ipv4_address(value)


def normalize_hostname(value):
    """Lower-case (DNS and dnsmasq lower-case names; DESIGN.md) and checked as a DNS name."""
    text = str(value or "").strip().lower()
    if not _HOSTNAME_RE.match(text):
        raise DhcpInvalidInput("invalid hostname %r (letters, digits, '-' and '.')" % (value,), hostname=value)
    return text


def parse_subnet(value):
    """'10.78.0.0/26' -> (network_int, prefixlen, canonical text); raises DhcpInvalidInput."""
    with _dhcp_input():
        subnet = addresses.Subnet(value)
    return subnet.first, subnet.prefixlen, subnet.text


def ip_in_subnet(ip, subnet):
    """True when ip lies in subnet, its network and broadcast addresses included."""
    with _dhcp_input():
        return addresses.ip_in_subnet(ip, subnet)


def check_host_ip(ip, subnet):
    """Refuse the subnet's network and broadcast address as a reservation (DhcpInvalidInput, even with force).

    An IP outside the subnet is left to plan_reservations: a DhcpConflict that force overrides.
    """
    with _dhcp_input():
        if addresses.ip_in_subnet(ip, subnet):
            addresses.host_ip(ip, subnet)


HTTP_SCHEMES = ("http", "https")


def shown_url(url):
    """The URL as error messages show it: without a user or password written into it."""
    try:
        parts = urlsplit(str(url))
        netloc = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    except ValueError:
        return "(an unreadable URL)"


def http_url(value, what):
    """An http:// or https:// URL with a host, checked before any request (DhcpInvalidInput otherwise).

    urllib also opens file:// and ftp:// URLs, which would hand a local file's bytes to the reply parser.
    """
    url = str(value or "").strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # an unbalanced [ in the host
        parts, host = None, None
    if parts is not None and not parts.scheme:
        problem = "it has no scheme"
    elif parts is not None and parts.scheme.lower() not in HTTP_SCHEMES:
        problem = "scheme %r is not allowed" % parts.scheme.lower()
    elif not host:
        problem = "it has no host"
    else:
        return url
    raise DhcpInvalidInput("%s %r: %s; want an http:// or https:// URL such as http://127.0.0.1:8000/"
                           % (what, shown_url(url), problem), url=shown_url(url))


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


class LockFileSession(object):
    """A backend session that can hold an exclusive lock on a local lock file (flock) until it ends, for
    servers with no lock of their own for a read-check-write sequence (dnsmasq's hostsdir, Kea's config-set)."""

    def __init__(self, backend, write):
        self.backend = backend
        self.write = write
        self.handle = None

    def lock(self, path):
        """Wait for the exclusive lock on path (created if missing); held until the session ends."""
        self.handle = open(path, "a")  # noqa: SIM115 - open until __exit__: closing it releases the lock
        fcntl.flock(self.handle, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        if self.handle is not None:
            self.handle.close()  # releases the lock
        return False
