# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS owner names and zones: absolute form, reverse names, zone membership."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import names
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput

FWD = "vms.lab.test."
REV = "77.10.in-addr.arpa."


@pytest.mark.parametrize("name, zone, expected", [
    ("vm-deb12-001", "vms.lab.test", "vm-deb12-001.vms.lab.test."),
    ("VM-Deb12-001", "vms.lab.test.", "vm-deb12-001.vms.lab.test."),
    ("vm-deb12-001.vms.lab.test", None, "vm-deb12-001.vms.lab.test."),
    ("vm-deb12-001.vms.lab.test.", "other.test", "vm-deb12-001.vms.lab.test."),
    ("a.b", "vms.lab.test", "a.b."),  # a dot means fully qualified
    ("_srv-x.vms.lab.test", None, "_srv-x.vms.lab.test."),
])
def test_absolute_name(name, zone, expected):
    assert names.absolute_name(name, zone) == expected


@pytest.mark.parametrize("name, zone", [
    ("vm-deb12-001", None), ("", "z.test"), ("bad name", "z.test"), ("-lead", "z.test"), ("trail-", "z.test"),
    ("a" * 64, "z.test"), ("a..b", None), ("x;rm", "z.test"), ("\u00e9t\u00e9", "z.test"), (".", None),
])
def test_absolute_name_rejects(name, zone):
    with pytest.raises(InvalidInput):
        names.absolute_name(name, zone)


@pytest.mark.parametrize("ip, expected", [
    ("10.77.50.5", "5.50.77.10.in-addr.arpa."),
    ("10.77.1.1", "1.1.77.10.in-addr.arpa."),
    ("fd00::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa."),
])
def test_reverse_name(ip, expected):
    assert names.reverse_name(ip) == expected


def test_reverse_name_rejects_garbage():
    with pytest.raises(InvalidInput):
        names.reverse_name("10.77.300.1")


ZONES = [FWD, REV, "sub.vms.lab.test.", "arpa."]


@pytest.mark.parametrize("name, expected", [
    ("5.50.77.10.in-addr.arpa.", REV),  # not the shorter arpa.
    ("t5-a.vms.lab.test.", FWD),
    ("x.sub.vms.lab.test.", "sub.vms.lab.test."),
    ("vms.lab.test.", FWD),
    ("xvms.lab.test.", None),  # a suffix match must fall on a label boundary
    ("example.invalid.", None),
])
def test_zone_of_takes_the_longest(name, expected):
    assert names.zone_of(name, ZONES) == expected


def test_parent_and_relative():
    assert names.parent_name("a.b.c.") == "b.c."
    assert names.parent_name("c.") is None
    assert names.relative_label("t5-a.vms.lab.test.", FWD) == "t5-a"
    assert names.relative_label(FWD, FWD) == "@"
    assert names.is_reverse_zone(REV) and not names.is_reverse_zone(FWD)
