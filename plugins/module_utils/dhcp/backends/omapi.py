# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dhcp_host backend omapi: ISC dhcpd through OMAPI (pypureomapi), for legacy sites.

ISC dhcpd is end of life. Its OMAPI listens on every address and speaks HMAC-MD5 only,
so the key is all that protects it. Host objects of ours are named
hpc-slurm-vm-<hostname> (the ownership mark) and carry `supersede host-name`;
dhcpd persists them in its leases file. OMAPI can look hosts up by name or MAC but
not by IP and cannot list them, so a duplicate IP held by an object of another name
is not detected (BackendInfo.finds_by_ip is False); dhcpd itself accepts duplicates.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import traceback

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import DHCP_NAME_PREFIX
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.model import (
    BackendInfo,
    DhcpAuthError,
    DhcpBackend,
    DhcpBackendError,
    DhcpInvalidInput,
    DhcpMissingLibrary,
    DhcpServerDown,
    DhcpUnsupported,
    Reservation,
)
import contextlib

try:
    import pypureomapi
    from pypureomapi import OmapiError, OmapiErrorNotFound
    OMAPI_IMPORT_ERROR = None
except ImportError:
    pypureomapi = None
    OMAPI_IMPORT_ERROR = traceback.format_exc()

    class OmapiError(Exception):
        pass

    class OmapiErrorNotFound(OmapiError):
        pass


def _translate(exc, where):
    if isinstance(exc, OmapiError):
        text = str(exc)
        if "authenticator" in text or "auth" in text.lower():
            return DhcpAuthError("dhcpd's OMAPI at %s refused the key: %s" % (where, text))
        return DhcpBackendError("dhcpd's OMAPI at %s: %s" % (where, text))
    return DhcpServerDown("cannot reach dhcpd's OMAPI at %s: %s" % (where, exc))


def _reservation_of(found):
    name = found.get("name")
    name = name.decode("utf-8", "replace") if isinstance(name, bytes) else (name or "")
    owned = name.startswith(DHCP_NAME_PREFIX)
    hostname = name[len(DHCP_NAME_PREFIX):] if owned else name.lower() or None
    return Reservation(found.get("hardware-address"), found.get("ip-address"), hostname, None,
                       {"vm": hostname} if owned else None, ref=name)


class _Session(object):
    def __init__(self, backend):
        self.backend = backend

    def __enter__(self):
        self.backend.connect()
        return self

    def __exit__(self, *exc):
        self.backend.disconnect()
        return False


class OmapiBackend(DhcpBackend):
    info = BackendInfo("omapi", needs_subnet_id=False, can_list=False, finds_by_ip=False, stores_mark=False,
                       transactional=False)

    def __init__(self, host, port, key_name, key, timeout=10.0, client_factory=None):
        self.where = "%s:%s" % (host, port)
        self.host, self.port, self.key_name, self.key, self.timeout = host, port, key_name, key, timeout
        self._factory = client_factory
        self.client = None

    @classmethod
    def from_params(cls, params):
        if pypureomapi is None:
            raise DhcpMissingLibrary("pypureomapi", OMAPI_IMPORT_ERROR)
        if not params.get("omapi_key"):
            raise DhcpInvalidInput("the omapi backend needs omapi_key")
        return cls(params["omapi_host"], params["omapi_port"], params["omapi_key_name"], params["omapi_key"],
                   params["timeout"])

    def connect(self):
        factory = self._factory or pypureomapi.Omapi
        try:
            self.client = factory(self.host, self.port, self.key_name.encode("utf-8"), self.key.encode("utf-8"),
                                  timeout=self.timeout)
        except (OmapiError, OSError) as exc:
            raise _translate(exc, self.where) from exc

    def disconnect(self):
        if self.client is not None:
            with contextlib.suppress(OmapiError, socket.error, OSError):
                self.client.close()
            self.client = None

    def session(self, write):
        return _Session(self)

    def _call(self, method, *args, **kwargs):
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except OmapiErrorNotFound:
            return None
        except (OmapiError, OSError) as exc:
            raise _translate(exc, self.where) from exc

    def find(self, macs, ips, hostnames, subnet_id=None):
        found = {}
        for mac in sorted(macs):
            host = self._call("lookup_by_host", mac=mac)
            if host:
                found[host.get("hardware-address")] = _reservation_of(host)
        for name in sorted(hostnames):
            host = self._call("lookup_by_host", name=DHCP_NAME_PREFIX + name)
            if host:
                found[host.get("hardware-address")] = _reservation_of(host)
        return list(found.values())

    def list(self, subnet_id=None):
        raise DhcpUnsupported("OMAPI cannot list dhcpd's host objects; look them up by mac or hostname")

    def apply(self, removals, additions):
        for res in removals:
            self._call("del_host", res.mac)
        for res in additions:
            try:
                self.client.add_host_supersede(res.ip, res.mac, DHCP_NAME_PREFIX + res.hostname, hostname=res.hostname)
            except (OmapiError, OSError) as exc:
                raise _translate(exc, self.where) from exc
