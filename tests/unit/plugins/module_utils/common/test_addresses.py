# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""common/addresses.py: the one MAC and IPv4 rule of the image table, libvirt_guest and dhcp_host."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import addresses
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput


# ------------------------------------------------------------------------ MAC
@pytest.mark.parametrize("value, expected", [
    ("52:54:00:77:01:05", "52:54:00:77:01:05"),
    ("52:54:00:AA:bb:0C", "52:54:00:aa:bb:0c"),      # mixed case -> lower case
    ("52-54-00-AA-BB-0C", "52:54:00:aa:bb:0c"),      # dashes -> colons
    ("525400AABB0C", "52:54:00:aa:bb:0c"),           # 12 bare hex digits
    ("  52:54:00:77:01:05\n", "52:54:00:77:01:05"),  # blanks around
    ("02:00:00:00:00:00", "02:00:00:00:00:00"),      # locally administered, unicast
    ("00:00:00:00:00:01", "00:00:00:00:00:01"),      # zero OUI, but not all zero
    ("fe:ff:ff:ff:ff:ff", "fe:ff:ff:ff:ff:ff"),      # every bit but I/G
])
def test_host_mac_normal_form(value, expected):
    assert addresses.host_mac(value) == expected


@pytest.mark.parametrize("value, message", [
    ("01:00:5e:00:00:01", "multicast"),                 # IPv4 multicast group
    ("33:33:00:00:00:01", "multicast"),                 # IPv6 multicast group
    ("03:00:00:00:00:00", "multicast"),                 # I/G set on a local address
    ("ff:ff:ff:ff:ff:ff", "broadcast address"),
    ("FF-FF-FF-FF-FF-FF", "broadcast address"),
    ("00:00:00:00:00:00", "all-zero"),
    ("000000000000", "all-zero"),
    ("52:54:00:ff:fe:77:01:05", "EUI-48"),              # 8-byte EUI-64
    ("52:54:00:77:01", "EUI-48"),                       # five octets
    ("52:54:00:77:01:0g", "EUI-48"),
    ("52:54-00:77:01:05", "EUI-48"),                    # mixed separators
    ("5254.0077.0105", "EUI-48"),                       # Cisco dots: netaddr reads them, we do not
    ("52:54:0:77:1:5", "EUI-48"),                       # one-digit octets
    ("52 54 00 77 01 05", "EUI-48"),
    ("0x525400770105", "EUI-48"),
    ("52:54:00:77:01:05'/><x a='", "EUI-48"),
    ("", "EUI-48"),
    (None, "EUI-48"),
])
def test_host_mac_refused(value, message):
    with pytest.raises(InvalidInput) as caught:
        addresses.host_mac(value)
    assert message in caught.value.message
    assert repr(value) in caught.value.message  # the message names the value
    assert caught.value.details["mac"] == value


def test_mac_message_says_what_is_expected():
    with pytest.raises(InvalidInput) as caught:
        addresses.host_mac("01:00:5e:00:00:01")
    assert "unicast" in caught.value.message and "52:54:00:77:01:05" in caught.value.message
    with pytest.raises(InvalidInput) as caught:
        addresses.host_mac("5254.0077.0105")
    assert addresses.MAC_SPELLINGS in caught.value.message


def test_normal_form_keeps_multicast_for_reading_back():
    # What a DHCP server already holds (maybe not ours) is shown as it is, in the normal form.
    assert addresses.mac_normal_form("01-00-5E-00-00-FB") == "01:00:5e:00:00:fb"
    with pytest.raises(InvalidInput, match="EUI-48"):
        addresses.mac_normal_form("52:54:00:ff:fe:77:01:05")


def test_mac_bytes_round_trip():
    assert addresses.mac_bytes("52-54-00-AA-BB-0C") == b"\x52\x54\x00\xaa\xbb\x0c"
    assert addresses.mac_of_bytes(b"\x52\x54\x00\xaa\xbb\x0c") == "52:54:00:aa:bb:0c"


@pytest.mark.parametrize("value, expected", [
    ("52:54", "52:54"),
    ("52:54:00:77:01", "52:54:00:77:01"),
    ("02:AA:00", "02:aa:00"),
])
def test_mac_prefix(value, expected):
    assert addresses.mac_prefix(value) == expected


@pytest.mark.parametrize("value, message", [
    ("01:54:00", "locally administered"),   # multicast first octet
    ("00:54:00", "locally administered"),   # globally administered (an OUI)
    ("ff:ff:ff", "locally administered"),
    ("52", "2 to 5 hex bytes"),
    ("52:54:00:77:01:05", "2 to 5 hex bytes"),
    ("52-54-00", "2 to 5 hex bytes"),
    ("zz:54", "2 to 5 hex bytes"),
])
def test_mac_prefix_refused(value, message):
    with pytest.raises(InvalidInput, match=message):
        addresses.mac_prefix(value)


# ------------------------------------------------------------------------- IP
@pytest.mark.parametrize("value, expected", [
    ("10.78.0.1", "10.78.0.1"),
    (" 10.78.0.1 ", "10.78.0.1"),
    ("0.0.0.0", "0.0.0.0"),  # noqa: S104 - an address to parse, nothing binds
    ("255.255.255.255", "255.255.255.255"),
])
def test_ipv4_address(value, expected):
    assert addresses.ipv4_address(value) == expected


@pytest.mark.parametrize("value", ["10.78.0.256", "10.78.0", "a.b.c.d", "10.78.0.1/24", "010.78.0.1", "fd00::1",
                                   "10.78.0.1.5", "", None, "0x0a.0.0.1"])
def test_ipv4_address_refused(value):
    with pytest.raises(InvalidInput, match="want an IPv4 address"):
        addresses.ipv4_address(value)


def test_ipv4_int_round_trip():
    assert addresses.ipv4_to_int("10.78.0.1") == 0x0A4E0001
    assert addresses.int_to_ipv4(0x0A4E0001) == "10.78.0.1"


@pytest.mark.parametrize("value, expected", [
    ("10.77.0.0/16", "10.77.0.0/16"),
    (" 10.78.0.64/26", "10.78.0.64/26"),
    ("0.0.0.0/0", "0.0.0.0/0"),
    ("10.78.0.5/32", "10.78.0.5/32"),
])
def test_subnet(value, expected):
    assert addresses.ipv4_subnet(value) == expected


@pytest.mark.parametrize("value, message", [
    ("10.77.0.1/16", "host bits are set (the network is 10.77.0.0/16)"),
    ("10.77.0.0/33", "want IPv4 CIDR"),
    ("10.77.0.0", "want IPv4 CIDR"),
    ("10.77.0.0/255.255.0.0", "want IPv4 CIDR"),
    ("fd00::/64", "want IPv4 CIDR"),
    ("010.77.0.0/16", "want an IPv4 address"),
    ("", "want IPv4 CIDR"),
])
def test_subnet_refused(value, message):
    with pytest.raises(InvalidInput) as caught:
        addresses.ipv4_subnet(value)
    assert message in caught.value.message


@pytest.mark.parametrize("ip, subnet, inside", [
    ("10.78.0.63", "10.78.0.0/26", True),    # the broadcast address is in the subnet
    ("10.78.0.0", "10.78.0.0/26", True),
    ("10.78.0.64", "10.78.0.0/26", False),
    ("10.77.255.255", "10.78.0.0/26", False),
])
def test_ip_in_subnet(ip, subnet, inside):
    assert addresses.ip_in_subnet(ip, subnet) is inside


@pytest.mark.parametrize("ip, subnet", [
    ("10.78.0.65", "10.78.0.64/26"),
    ("10.78.0.126", "10.78.0.64/26"),
    ("10.77.1.1", "10.77.0.0/16"),
    # RFC 3021: both addresses of a /31 and the one of a /32 are host addresses
    ("10.78.0.0", "10.78.0.0/31"),
    ("10.78.0.1", "10.78.0.0/31"),
    ("10.78.0.7", "10.78.0.7/32"),
])
def test_host_ip(ip, subnet):
    assert addresses.host_ip(ip, subnet) == ip


@pytest.mark.parametrize("ip, subnet, message", [
    ("10.78.0.64", "10.78.0.64/26", "is the network address of 10.78.0.64/26"),
    ("10.78.0.127", "10.78.0.64/26", "is the broadcast address of 10.78.0.64/26"),
    ("10.77.0.0", "10.77.0.0/16", "is the network address"),
    ("10.77.255.255", "10.77.0.0/16", "is the broadcast address"),
    ("10.78.0.0", "10.78.0.0/30", "is the network address"),
    ("10.78.0.3", "10.78.0.0/30", "is the broadcast address"),
    ("10.78.0.128", "10.78.0.64/26", "falls outside 10.78.0.64/26"),
    ("10.78.0.63", "10.78.0.64/26", "falls outside"),
    ("10.78.0.2", "10.78.0.0/31", "falls outside"),
    ("10.78.0.6", "10.78.0.7/32", "falls outside"),
])
def test_host_ip_refused(ip, subnet, message):
    with pytest.raises(InvalidInput) as caught:
        addresses.host_ip(ip, subnet)
    assert message in caught.value.message and ip in caught.value.message


# ----------------------------------------------------------------------- pool
LAB = dict(subnet="10.77.0.0/16", ip_offset=256, prefix="52:54:00:77:01")


@pytest.mark.parametrize("pool, index, mac, ip", [
    (LAB, 1, "52:54:00:77:01:01", "10.77.1.1"),
    (LAB, 255, "52:54:00:77:01:ff", "10.77.1.255"),   # .255 of 10.77.1.x is a host of the /16
    (dict(LAB, ip_offset=512, prefix="52:54:00:77:02"), 4, "52:54:00:77:02:04", "10.77.2.4"),
    (dict(LAB, ip_offset=0, prefix="52:54:00:77"), 300, "52:54:00:77:01:2c", "10.77.1.44"),
    (dict(LAB, subnet="10.78.0.0/30", ip_offset=0), 1, "52:54:00:77:01:01", "10.78.0.1"),
])
def test_pool_addresses(pool, index, mac, ip):
    derived = addresses.AddressPool(pool["subnet"], pool["ip_offset"], pool["prefix"])
    derived.check_indices(index, index)
    assert (derived.mac(index), derived.ip(index)) == (mac, ip)
    assert derived.mac_int(index) == int(mac.replace(":", ""), 16)
    assert derived.ip_int(index) == addresses.ipv4_to_int(ip)


@pytest.mark.parametrize("pool, lowest, highest, message", [
    (dict(LAB, ip_offset=0), 0, 4, "index 0 plus ip_offset 0 gives 10.77.0.0, which is the network address"),
    (dict(LAB, ip_offset=65530), 1, 5, "gives 10.77.255.255, which is the broadcast address"),
    (dict(LAB, ip_offset=65530), 1, 6, "gives 10.78.0.0, which falls outside 10.77.0.0/16"),
    (dict(LAB, ip_offset=2 ** 33), 1, 1, "gives no IPv4 address, which falls outside"),
    (dict(LAB, subnet="10.78.0.0/30", ip_offset=0), 1, 3, "10.78.0.3, which is the broadcast address"),
    (LAB, 1, 256, "index 256 does not fit in the 1 byte(s) after network.mac_prefix 52:54:00:77:01"),
])
def test_pool_refuses_indices_without_a_host_address(pool, lowest, highest, message):
    derived = addresses.AddressPool(pool["subnet"], pool["ip_offset"], pool["prefix"])
    with pytest.raises(InvalidInput) as caught:
        derived.check_indices(lowest, highest)
    assert message in caught.value.message


@pytest.mark.parametrize("subnet, prefix, message", [
    ("10.78.0.0/31", "52:54", "network.subnet 10.78.0.0/31 is too small for a pool"),
    ("10.78.0.7/32", "52:54", "too small for a pool"),
    ("10.77.0.1/16", "52:54", "invalid network.subnet"),
    ("10.77.0.0/16", "01:54", "network.mac_prefix 01:54 must be unicast and locally administered"),
])
def test_pool_refuses_bad_network(subnet, prefix, message):
    with pytest.raises(InvalidInput) as caught:
        addresses.AddressPool(subnet, 0, prefix)
    assert message in caught.value.message


def test_missing_netaddr_names_the_library(monkeypatch):
    monkeypatch.setattr(addresses, "NETADDR_IMPORT_ERROR", "ImportError: No module named 'netaddr'")
    with pytest.raises(InvalidInput) as caught:
        addresses.host_mac("52:54:00:77:01:05")
    assert "netaddr" in caught.value.message and caught.value.details["library"] == "netaddr"
    assert "No module named" in caught.value.details["exception"]
