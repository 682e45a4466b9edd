# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import (
    ImageTableError,
    NotInPool,
    UnknownImage,
)

NET = {"bridge": "br0", "subnet": "10.77.0.0/16", "ip_offset": 256, "mac_prefix": "52:54:00:77:01"}
TABLE = {
    "deb12": {"pool": "vm-deb12-[001-004]", "vcpus": 2, "memory_mb": 1024, "network": dict(NET)},
    "sl6": {
        "pool": "vm-sl6-[009-010]", "gres": None, "feature": "sl6", "memory_mb": 512, "real_memory_mb": 400,
        "network": dict(NET, ip_offset=512, mac_prefix="52:54:00:77:02", node_addr=False),
    },
}


def table(**changes):
    t = copy.deepcopy(TABLE)
    for path, value in changes.items():
        image, _sep, key = path.partition("__")
        target = t[image]
        if "__" in key:
            key, _sep, sub = key.partition("__")
            target = target[key]
            key = sub
        if value is DELETE:
            del target[key]
        else:
            target[key] = value
    return t


DELETE = object()


def test_defaults_are_filled_in():
    images = image_table.normalize_table(TABLE)
    deb = images["deb12"]
    assert deb["gres"] == "vm_deb12"
    assert deb["gres_count"] == 1
    assert deb["hosts"] == ["vm-deb12-001", "vm-deb12-002", "vm-deb12-003", "vm-deb12-004"]
    assert deb["real_memory_mb"] == 1024 - image_table.DEFAULT_REAL_MEMORY_RESERVE_MB
    assert deb["rules"]["boot_timeout"] == 300
    assert deb["rules"]["max_vms"] == 4
    assert images["sl6"]["gres"] is None
    assert images["sl6"]["real_memory_mb"] == 400


@pytest.mark.parametrize("host, mac, ip", [
    ("vm-deb12-001", "52:54:00:77:01:01", "10.77.1.1"),
    ("vm-deb12-004", "52:54:00:77:01:04", "10.77.1.4"),
    ("vm-sl6-010", "52:54:00:77:02:0a", "10.77.2.10"),
])
def test_mac_and_ip_follow_the_pool_index(host, mac, ip):
    images = image_table.normalize_table(TABLE)
    image = image_table.image_of_host(images, host)
    assert image_table.vm_mac(image, host) == mac
    assert image_table.vm_ip(image, host) == ip


def test_mac_index_spans_several_bytes():
    images = image_table.normalize_table(table(deb12__pool="n[0300-0301]", deb12__network__mac_prefix="52:54:00:77"))
    assert image_table.vm_mac(images["deb12"], "n0300") == "52:54:00:77:01:2c"


@pytest.mark.parametrize("changes, message", [
    ({"deb12__pool": "VM-Deb12-[001-002]"}, "lowercase DNS label"),
    ({"deb12__pool": "vm-deb12-[001-"}, "invalid hostlist"),
    ({"deb12__pool": "vm-deb12-x"}, "must end in its index"),
    ({"deb12__pool": DELETE}, "pool (a hostlist"),
    ({"deb12__network__mac_prefix": "01:54:00:77:01"}, "locally administered"),
    ({"deb12__network__mac_prefix": "00:54:00:77:01"}, "locally administered"),
    ({"deb12__network__mac_prefix": "zz:54"}, "2 to 5 hex bytes"),
    ({"deb12__network__subnet": "10.77.0.1/16"}, "network.subnet"),
    ({"deb12__network__subnet": "10.77.0.0/24"}, "falls outside"),
    ({"deb12__network__bridge": None}, "exactly one of bridge or libvirt_network"),
    ({"deb12__network__libvirt_network": "default"}, "exactly one of bridge or libvirt_network"),
    ({"deb12__vcpus": 0}, "vcpus must be at least 1"),
    ({"deb12__vcpus": "two"}, "vcpus must be an integer"),
    ({"deb12__real_memory_mb": 2048}, "exceeds memory_mb"),
    ({"deb12__colour": "red"}, "unknown keys: colour"),
    ({"deb12__rules": {"idle": 3}}, "unknown rules: idle"),
    ({"deb12__gres": "vm deb12"}, "not a valid gres"),
    ({"sl6__feature": None}, "needs a gres or a feature"),
    ({"sl6__network__ip_offset": 256, "sl6__pool": "vm-sl6-[003-004]"}, "share the ip 10.77.1.3"),
    ({"sl6__network__mac_prefix": "52:54:00:77:01", "sl6__pool": "vm-sl6-[004-005]"}, "share the mac"),
    ({"sl6__pool": "vm-deb12-[003-004]"}, "share the hostname vm-deb12-003"),
    # common/addresses.py: a pool never hands out the subnet's network or broadcast address
    ({"deb12__pool": "vm-deb12-[000-003]", "deb12__network__ip_offset": 0}, "10.77.0.0, which is the network address"),
    ({"deb12__network__ip_offset": 65531}, "10.77.255.255, which is the broadcast address"),
    ({"deb12__network__subnet": "10.77.1.0/24", "deb12__network__ip_offset": 252}, "10.77.2.0, which falls outside"),
    ({"deb12__network__subnet": "10.77.1.0/31", "deb12__network__ip_offset": 0}, "too small for a pool"),
    ({"deb12__network__subnet": "fd00:77::/64"}, "want IPv4 CIDR"),
    ({"deb12__network__subnet": "10.77.0.0/255.255.0.0"}, "want IPv4 CIDR"),
    ({"deb12__network__mac_prefix": "ff:ff:ff"}, "locally administered"),
])
def test_invalid_tables_are_refused_with_a_clear_message(changes, message):
    with pytest.raises(ImageTableError) as err:
        image_table.normalize_table(table(**changes))
    assert message in str(err.value)


def test_pool_may_start_right_after_the_network_address():
    images = image_table.normalize_table(table(deb12__network__ip_offset=0, deb12__network__subnet="10.77.9.0/29",
                                               deb12__pool="vm-deb12-[001-006]"))
    addresses = image_table.pool_addresses(images["deb12"])
    assert [a["ip"] for a in (addresses[0], addresses[-1])] == ["10.77.9.1", "10.77.9.6"]
    assert image_table.vm_prefixlen(images["deb12"]) == 29


def test_mac_prefix_is_stored_in_normal_form():
    images = image_table.normalize_table(table(deb12__network__mac_prefix=" 52:54:00:AA:01 "))
    assert images["deb12"]["network"]["mac_prefix"] == "52:54:00:aa:01"
    assert image_table.vm_mac(images["deb12"], "vm-deb12-002") == "52:54:00:aa:01:02"


def test_bad_image_name_and_empty_table():
    with pytest.raises(ImageTableError, match="image name"):
        image_table.normalize_table({"Deb 12": TABLE["deb12"]})
    with pytest.raises(ImageTableError, match="non-empty mapping"):
        image_table.normalize_table({})


def test_unknown_image_and_host_outside_the_pool():
    images = image_table.normalize_table(TABLE)
    with pytest.raises(UnknownImage, match="deb12, sl6"):
        image_table.get_image(images, "centos7")
    with pytest.raises(NotInPool):
        image_table.image_of_host(images, "vm-deb12-005")
    with pytest.raises(NotInPool):
        image_table.vm_ip(images["deb12"], "vm-sl6-009")


def test_gres_count_above_vcpus_is_refused():
    """gres_count 4 on 1 vCPU: Slurm gives each job at least one CPU, so 3 of the 4 units would wait (seen in the
    lab with CR_Core_Memory while the planner counted them free)."""
    with pytest.raises(ImageTableError) as err:
        image_table.normalize_table(table(sl6__gres_count=4))
    assert "image sl6: gres_count 4 needs vcpus >= 4" in err.value.message


@pytest.mark.parametrize("changes, message", [
    # the network address: vm-x-000 with ip_offset 0
    ({"deb12__pool": "vm-deb12-[000-003]", "deb12__network__ip_offset": 0},
     "image deb12: host vm-deb12-000: index 0 plus ip_offset 0 gives 10.77.0.0, which is the network address of "
     "10.77.0.0/16"),
    ({"deb12__network__ip_offset": 65531},
     "image deb12: host vm-deb12-004: index 4 plus ip_offset 65531 gives 10.77.255.255, which is the broadcast "
     "address of 10.77.0.0/16"),
    ({"deb12__network__subnet": "10.77.1.0/24", "deb12__network__ip_offset": 252},
     "image deb12: host vm-deb12-004: index 4 plus ip_offset 252 gives 10.77.2.0, which falls outside 10.77.1.0/24"),
    ({"deb12__pool": "vm-deb12-[254-256]"},
     "image deb12: host vm-deb12-256: index 256 does not fit in the 1 byte(s) after network.mac_prefix"),
])
def test_a_pool_address_that_is_no_host_address_names_the_image_and_the_host(changes, message):
    with pytest.raises(ImageTableError) as err:
        image_table.normalize_table(table(**changes))
    assert message in err.value.message, err.value.message


def test_the_gateway_is_a_host_address_of_the_subnet_and_kept():
    images = image_table.normalize_table(table(deb12__network__gateway=" 10.77.0.1 ", sl6__network__gateway=None))
    assert images["deb12"]["network"]["gateway"] == "10.77.0.1"
    assert images["sl6"]["network"]["gateway"] is None
    assert image_table.normalize_table(TABLE)["deb12"]["network"]["gateway"] is None


@pytest.mark.parametrize("changes, message", [
    ({"deb12__network__gateway": "10.77.1.2"},
     "image deb12: host vm-deb12-002 would get 10.77.1.2, the gateway of image deb12"),
    # the gateway of one image is a host of another pool on the same subnet
    ({"sl6__network__gateway": "10.77.1.3"}, "image deb12: host vm-deb12-003 would get 10.77.1.3, the gateway of "
                                             "image sl6"),
    ({"deb12__network__gateway": "10.77.0.0"}, "image deb12: network.gateway 10.77.0.0 is the network address"),
    ({"deb12__network__gateway": "10.78.0.1"}, "image deb12: network.gateway 10.78.0.1 falls outside 10.77.0.0/16"),
    ({"deb12__network__gateway": "10.77.0.01"}, "image deb12: invalid network.gateway '10.77.0.01'"),
])
def test_a_pool_address_must_not_be_the_gateway(changes, message):
    with pytest.raises(ImageTableError) as err:
        image_table.normalize_table(table(**changes))
    assert message in err.value.message, err.value.message
