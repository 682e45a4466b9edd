# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""domain_read: real libvirt XML (with everything libvirt adds) normalizes to the desired spec."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import xml.etree.ElementTree as ET

import pytest
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import domain_read as dr
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import domain_build as db
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import domain_spec as ds
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput


FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def test_real_libvirt_xml_normalizes_to_the_desired_spec(images):
    """Captured from the lab's libvirtd (virsh dumpxml, live and --inactive) for a guest the module defined
    before it had the virtio RNG (so: rng=false)."""
    spec = ds.desired_spec(dict(
        rng=False, name="vm-deb12-005", state_dir="/tmp/hpcvm-lab/vms", virt_type="qemu", memory=256,
        mac="52:54:00:77:01:05",
        bridge="br-hpcvm", kernel="/var/cache/hpcvm-lab/guest/vmlinux", initrd="/var/cache/hpcvm-lab/guest/initrd.gz",
        cmdline="console=ttyS0 quiet panic=-1 acpi=off vm.hostname=vm-deb12-005 vm.tmpdisk=hpcvm-tmp "
                "vm.fetch=http://10.77.0.1:8080/boot/t7-vm-deb12-005.tar.gz",
        filesystems=[dict(source="/", target="hostroot", readonly=True)],
        tmp_disk=dict(size="256M", serial="hpcvm-tmp"), metadata=dict(image="deb12"), image_dir="/var/cache/hpcvm-lab"),
        check_files=False)
    for name in ("libvirt_vm-deb12-005_inactive.xml", "libvirt_vm-deb12-005_live.xml"):
        with open(os.path.join(FIXTURES, name)) as handle:
            text = handle.read()
        assert "<uuid>" in text and "pci" in text   # libvirt's additions are there, and ignored
        assert dr.extract_spec(text) == spec, name
    with open(os.path.join(FIXTURES, "libvirt_vm-deb12-005_live.xml")) as handle:
        ours = dr.extract_guest_metadata(dr.parse_domain(handle.read()))
    assert ours["started"] > 1.7e9 and ours["metadata"] == {"image": "deb12"}


def test_kernel_boot_ignores_libvirts_boot_dev(spec_params):
    spec = ds.desired_spec(spec_params())
    root = dr.parse_domain(db.build_domain_xml(spec))
    ET.SubElement(root.find("os"), "boot", dev="hd")
    assert dr.extract_spec(ET.tostring(root, encoding="unicode"))["boot_dev"] is None


def test_foreign_metadata_element_of_our_namespace_counts_as_ours():
    xml = ("<domain type='qemu'><name>a</name><metadata><hpcvm:vm xmlns:hpcvm='urn:hpc.slurm_vm:1'>"
           "<hpcvm:image>deb12</hpcvm:image></hpcvm:vm><other xmlns='urn:x'/></metadata></domain>")
    assert dr.extract_guest_metadata(dr.parse_domain(xml))["metadata"] == {"image": "deb12"}
    assert dr.extract_guest_metadata(dr.parse_domain("<domain><metadata><o xmlns='urn:x'/></metadata></domain>")) \
        is None


def test_memory_units():
    for unit, text, kib in (("KiB", "1024", 1024), ("MiB", "256", 262144), ("GiB", "1", 1048576), ("b", "2048", 2)):
        assert dr.extract_spec("<domain><memory unit='%s'>%s</memory></domain>" % (unit, text))["memory_kib"] == kib


def test_unparsable_xml():
    with pytest.raises(InvalidInput, match="cannot parse"):
        dr.parse_domain("<domain>")


def test_is_ours():
    for name, ours in (("libvirt_vm-deb12-005_inactive.xml", True), ("libvirt_vm-deb12-005_live.xml", True),
                       ("libvirt_foreign_test_default.xml", False)):
        with open(os.path.join(FIXTURES, name)) as handle:
            text = handle.read()
        assert dr.is_ours(text) is ours, name
        assert dr.is_ours(dr.parse_domain(text)) is ours, name


def test_real_libvirt_xml_with_the_rng_normalizes_to_the_desired_spec():
    """Captured from the lab's libvirtd (virsh dumpxml, live and --inactive) for the lab's fast guest
    (tests/integration/libvirt/conftest.py fast_guest) the module defined with the default rng=true."""
    cache = "/var/cache/hpcvm-lab/guest"
    spec = ds.desired_spec(dict(
        name="vm-deb12-005", state_dir="/tmp/hpcvm-lab/vms", virt_type="qemu", memory=256, vcpus=1,
        mac="52:54:00:77:01:05", bridge="br-hpcvm", image_dir=cache, kernel=cache + "/vmlinux",
        initrd=cache + "/initrd.gz",
        cmdline="console=ttyS0 quiet panic=-1 acpi=off vm.hostname=vm-deb12-005 vm.tmpdisk=hpcvm-tmp "
                "vm.fetch=http://10.77.0.1:8089/t7-vm-deb12-005.tar.gz",
        filesystems=[dict(source="/", target="hostroot", readonly=True)],
        tmp_disk=dict(size="256M", serial="hpcvm-tmp"), metadata=dict(image="deb12", test="t7")),
        check_files=False)
    assert spec["rng"] == [ds.RNG_DEVICE]
    for name in ("libvirt_vm-deb12-005_rng_inactive.xml", "libvirt_vm-deb12-005_rng_live.xml"):
        with open(os.path.join(FIXTURES, name)) as handle:
            text = handle.read()
        assert "<rng model='virtio'>" in text and "/dev/urandom</backend>" in text
        assert dr.extract_spec(text) == spec, name
    assert "<alias name='rng0'/>" in text   # the live one: a device QEMU was given


RNG_HEAD = "<domain type='qemu'><name>a</name><devices>"


@pytest.mark.parametrize("devices, rngs", [
    ("", []),
    ("<rng model='virtio'><backend model='random'>/dev/random</backend></rng>",
     [{"model": "virtio", "backend": "random", "source": "/dev/random", "rate_bytes": None, "rate_period_ms": None}]),
    ("<rng model='virtio'><rate bytes='1234'/><backend model='random'>/dev/urandom</backend></rng>",
     [dict(ds.RNG_DEVICE, rate_bytes=1234, rate_period_ms=None)]),
    ("<rng model='virtio-non-transitional'><backend model='builtin'/></rng>",
     [{"model": "virtio-non-transitional", "backend": "builtin", "source": None, "rate_bytes": None,
       "rate_period_ms": None}]),
    ("<rng model='virtio'>\n  <backend model='egd' type='tcp'>\n    <source mode='connect' host='1.2.3.4' "
     "service='1234'/>\n  </backend>\n</rng>",
     [{"model": "virtio", "backend": "egd", "source": None, "rate_bytes": None, "rate_period_ms": None}]),
    ("<rng model='virtio'><rate period='1000' bytes='1024'/><backend model='random'>/dev/urandom</backend></rng>" * 2,
     [ds.RNG_DEVICE, ds.RNG_DEVICE]),
])
def test_rng_devices_of_other_tools_read_back_as_they_are(devices, rngs):
    """Any other source, rate, backend or a second device differs from the desired [RNG_DEVICE]."""
    spec = dr.extract_spec(RNG_HEAD + devices + "</devices></domain>")
    assert spec["rng"] == rngs
    assert (spec["rng"] == [ds.RNG_DEVICE]) is False
