# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""omapi backend: object names carry the mark; pypureomapi errors (as dhcpd 4.4 gave them in
the lab) become typed errors. The real exchange is in tests/integration/dhcp."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.backends import omapi as dhcp_omapi
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.model import (
    DhcpAuthError,
    DhcpServerDown,
    Reservation,
)

pytest.importorskip("pypureomapi")


class FakeOmapi(object):
    """Answers like dhcpd did in the lab (lookup results and error texts)."""

    def __init__(self, hosts, error=None):
        self.hosts = hosts
        self.error = error
        self.calls = []

    def lookup_by_host(self, **kwargs):
        if self.error:
            raise self.error
        for host in self.hosts:
            if kwargs.get("mac") == host["hardware-address"] or kwargs.get("name") == host["name"].decode():
                return host
        raise dhcp_omapi.OmapiErrorNotFound()

    def del_host(self, mac):
        self.calls.append(("del_host", mac))

    def add_host_supersede(self, ip, mac, name, hostname=None):
        self.calls.append(("add", ip, mac, name, hostname))

    def close(self):
        pass


def backend(client):
    return dhcp_omapi.OmapiBackend("10.78.1.2", 7911, "omapi_key", "c2VjcmV0", client_factory=lambda *a, **k: client)


def test_find_and_apply():
    client = FakeOmapi([{"ip-address": "10.78.0.140", "name": b"hpc-slurm-vm-vm-a",
                         "hardware-address": "52:54:00:78:04:01", "hardware-type": 1}])
    api = backend(client)
    with api.session(write=True):
        found = api.find({"52:54:00:78:04:01"}, set(), {"vm-b"})
        assert found == [Reservation("52:54:00:78:04:01", "10.78.0.140", "vm-a", None, {"vm": "vm-a"})]
        api.apply(found, [Reservation("52:54:00:78:04:02", "10.78.0.141", "vm-b", None, {"vm": "vm-b"})])
    assert client.calls == [("del_host", "52:54:00:78:04:01"),
                            ("add", "10.78.0.141", "52:54:00:78:04:02", "hpc-slurm-vm-vm-b", "vm-b")]


def test_errors():
    api = backend(FakeOmapi([], error=dhcp_omapi.OmapiError("received message is signed with wrong authenticator")))
    with pytest.raises(DhcpAuthError), api.session(write=False):
        api.find({"52:54:00:78:04:01"}, set(), set())

    def refused(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")
    api = dhcp_omapi.OmapiBackend("10.78.1.2", 7999, "omapi_key", "c2VjcmV0", client_factory=refused)
    with pytest.raises(DhcpServerDown, match="Connection refused"), api.session(write=False):
        pass
