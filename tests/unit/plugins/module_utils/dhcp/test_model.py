# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dhcp/model.py: dhcp_host's MAC and IP checks are common/addresses.py's, reported as DHCP errors."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import addresses
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp import model
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp import run as dhcp_run
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.model import (
    DhcpInvalidInput,
    DhcpMissingLibrary,
    Reservation,
)


# Accepted by dhcp_host before the shared rule (its regex checked only the spelling).
@pytest.mark.parametrize("mac, message", [
    ("01:00:5e:00:00:01", "multicast"),
    ("ff:ff:ff:ff:ff:ff", "broadcast address"),
    ("00:00:00:00:00:00", "all-zero"),
    ("01-00-5E-00-00-FB", "multicast"),
])
def test_dhcp_host_refuses_macs_that_name_no_nic(mac, message):
    with pytest.raises(DhcpInvalidInput) as caught:
        model.normalize_mac(mac)
    assert message in caught.value.message and caught.value.details["mac"] == mac
    with pytest.raises(DhcpInvalidInput, match=message):
        dhcp_run.desired_reservations(dict(mac=mac, ip="10.78.0.71", hostname="a", mark={}, subnet_id=None),
                                      "present")


@pytest.mark.parametrize("mac", ["01:00:5e:00:00:01", "00:00:00:00:00:00", "52:54:00:78:03:01", "525400780301"])
def test_dhcp_host_uses_the_shared_mac_rule(mac):
    try:
        expected = addresses.host_mac(mac)
    except InvalidInput as exc:
        with pytest.raises(DhcpInvalidInput) as caught:
            model.normalize_mac(mac)
        assert caught.value.message == exc.message
    else:
        assert model.normalize_mac(mac) == expected


def test_ip_and_subnet_normal_forms():
    assert model.normalize_ip(" 10.78.0.71 ") == "10.78.0.71"
    assert model.parse_subnet("10.78.0.64/26") == (0x0A4E0040, 26, "10.78.0.64/26")
    # leading zeros: read as decimal before, octal by inet_aton; now refused
    with pytest.raises(DhcpInvalidInput, match="no leading zeros"):
        model.normalize_ip("010.078.000.071")
    with pytest.raises(DhcpInvalidInput, match="host bits are set"):
        model.parse_subnet("10.78.0.65/26")


@pytest.mark.parametrize("ip, message", [
    ("10.78.0.64", "is the network address of 10.78.0.64/26"),
    ("10.78.0.127", "is the broadcast address of 10.78.0.64/26"),
])
def test_check_host_ip_refuses_network_and_broadcast(ip, message):
    with pytest.raises(DhcpInvalidInput, match=message):
        model.check_host_ip(ip, "10.78.0.64/26")


@pytest.mark.parametrize("ip", ["10.78.0.65", "10.78.0.126", "10.78.5.5"])
def test_check_host_ip_leaves_hosts_and_outside_to_the_planner(ip):
    # outside the subnet stays plan_reservations' DhcpConflict, which force overrides
    assert model.check_host_ip(ip, "10.78.0.64/26") is None


def test_plan_refuses_the_network_address_even_with_force():
    want = Reservation("52:54:00:78:03:04", "10.78.0.64", "a", None, {"vm": "a"})
    for force in (False, True):
        with pytest.raises(DhcpInvalidInput, match="network address"):
            dhcp_run.plan_reservations([want], [], "present", force=force, subnet="10.78.0.64/26")


def test_missing_netaddr_is_a_missing_library(monkeypatch):
    monkeypatch.setattr(addresses, "NETADDR_IMPORT_ERROR", "ImportError: No module named 'netaddr'")
    with pytest.raises(DhcpMissingLibrary) as caught:
        model.normalize_mac("52:54:00:78:03:01")
    assert caught.value.library == "netaddr" and "No module named" in caught.value.exception_text


def test_a_lock_file_session_holds_an_exclusive_lock_until_it_ends(tmp_path):
    class Session(model.LockFileSession):
        def __enter__(self):
            if self.write:
                self.lock(str(tmp_path / "lock"))
            return self

    def try_lock():
        with open(str(tmp_path / "lock"), "a") as other:
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

    with Session(None, write=False):
        assert not (tmp_path / "lock").exists()
    with Session(None, write=True) as session:
        assert session.handle is not None and not try_lock()
    assert try_lock()
