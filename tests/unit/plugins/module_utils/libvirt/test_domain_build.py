# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""domain_build: the XML of a spec reads back as the same spec, and values with XML
metacharacters cannot inject anything."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import xml.etree.ElementTree as ET

import pytest
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import domain_build as db
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import domain_read as dr
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import domain_spec as ds
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput


NASTY = "x'\"<&>]]></cmdline><devices><disk type='file'><source file='/etc/shadow'/></disk></devices>&amp;"


SPEC_VARIANTS = [
    {},
    dict(kernel=None, initrd=None, cmdline=None, image="base.qcow2"),
    dict(image="base.qcow2", sysinfo=dict(serial="hostname=vm-disk-001", oem_strings=["token=abc"])),
    dict(network="default", bridge=None, mac=None),
    dict(cpu_mode="host-model", acpi=False, console_log=False, tmp_disk=None, metadata=None),
    dict(filesystems=[dict(source="/srv/share", target="share", driver="virtiofs")]),
    dict(virt_type="kvm", memory=4096, vcpus=8),
    dict(rng=False),
]


@pytest.mark.parametrize("variant", SPEC_VARIANTS)
def test_build_then_extract_gives_the_spec_back(spec_params, images, variant):
    variant = dict(variant)
    if variant.get("image"):
        variant["image"] = str(images / variant["image"])
    spec = ds.desired_spec(spec_params(**variant))
    assert dr.extract_spec(db.build_domain_xml(spec)) == spec
    assert dr.extract_spec(db.canonical_xml(spec)) == spec


def _tags(xml):
    return sorted(element.tag for element in dr.parse_domain(xml).iter())


def test_metacharacters_in_every_free_text_value_stay_text(spec_params, images):
    plain = ds.desired_spec(spec_params(image=str(images / "base.qcow2"),
                                        sysinfo=dict(serial="s", product="p", oem_strings=["o", "t"])))
    nasty = ds.desired_spec(spec_params(
        image=str(images / "base.qcow2"), cmdline="console=ttyS0 " + NASTY,
        sysinfo=dict(serial=NASTY, product=NASTY, oem_strings=[NASTY, "token=" + NASTY]),
        metadata={"image": NASTY, "owner": "<b>&'\""},
        filesystems=[dict(source="/srv/" + NASTY.replace("/", "_"), target="hostroot", readonly=True)]))
    xml = db.build_domain_xml(nasty)
    # the same elements as with harmless values: nothing was added, nothing closed early
    assert _tags(xml) == _tags(db.build_domain_xml(plain))
    root = dr.parse_domain(xml)
    assert len(root.findall("devices/disk")) == 2
    assert root.find("os/cmdline").text == "console=ttyS0 " + NASTY
    assert [e.text for e in root.findall("sysinfo/oemStrings/entry")] == [NASTY, "token=" + NASTY]
    # and every value comes back exactly
    assert dr.extract_spec(xml) == nasty


def test_a_nasty_name_is_rejected_and_would_still_be_escaped(spec_params):
    for name in ("t7-<x>", "t7-a&b", "t7-it's", "a</name><memory>1</memory><name>b", "../etc", ".hidden",
                 "t7 space", "t7/slash", "", "x" * 65):
        with pytest.raises(InvalidInput):
            ds.desired_spec(spec_params(name=name))
    # the builder does not rely on that check: a spec with such a name is still well-formed
    spec = ds.desired_spec(spec_params())
    spec["name"] = "a</name><memory>1</memory><name>b&'\""
    xml = db.build_domain_xml(spec)
    root = dr.parse_domain(xml)
    assert len(root.findall("name")) == 1 and len(root.findall("memory")) == 1
    assert root.find("name").text == spec["name"]
    assert dr.extract_spec(xml) == spec


@pytest.mark.parametrize("virt_type, hpet", [("qemu", True), ("kvm", False)])
def test_tcg_guests_get_an_hpet(spec_params, virt_type, hpet):
    """Under TCG on a busy host the guest's TSC clock ran about 10x fast and munge rejected
    its credentials as rewound; an HPET (with clocksource=hpet in the guest) keeps time."""
    spec = ds.desired_spec(spec_params(virt_type=virt_type))
    root = dr.parse_domain(db.build_domain_xml(spec))
    timers = [(t.get("name"), t.get("present")) for t in root.findall("clock/timer")]
    assert (("hpet", "yes") in timers) is hpet
    assert dr.extract_spec(db.build_domain_xml(spec))["hpet"] is hpet


def test_9p_shares_remap_inode_numbers_and_virtiofs_shares_do_not(spec_params):
    """The guests boot from the host's / over 9p, which spans several host file systems:
    multidevs='remap' keeps their inode numbers apart (the guest recipe needs it). virtiofs
    takes no such attribute. extract_spec does not read it back, so the round trip cannot
    show it: read the built XML."""
    spec = ds.desired_spec(spec_params(filesystems=[
        dict(source="/", target="hostroot", readonly=True),
        dict(source="/srv/share", target="share", driver="virtiofs"),
    ]))
    shares = {fs.find("target").get("dir"): fs for fs in dr.parse_domain(db.build_domain_xml(spec)).findall(
        "devices/filesystem")}
    assert shares["hostroot"].get("multidevs") == "remap"
    assert shares["hostroot"].find("driver") is None
    assert shares["share"].get("multidevs") is None
    assert shares["share"].find("driver").get("type") == "virtiofs"
    assert all(fs.get("accessmode") == "passthrough" for fs in shares.values())


RNG_XML = ('<rng model="virtio">\n'
           '      <rate period="1000" bytes="1024" />\n'
           '      <backend model="random">/dev/urandom</backend>\n'
           '    </rng>\n'
           '  </devices>')


def test_every_guest_gets_a_virtio_rng_from_urandom(spec_params):
    """Without an entropy source a TCG guest's CRNG was ready only at 8.6 s of uptime and munged waited for it."""
    spec = ds.desired_spec(spec_params())
    assert spec["rng"] == [{"model": "virtio", "backend": "random", "source": "/dev/urandom", "rate_bytes": 1024,
                            "rate_period_ms": 1000}]
    xml = db.build_domain_xml(spec)
    # the last device, as libvirt writes it, exactly this element once
    assert xml.count("<rng ") == 1 and RNG_XML in xml
    rng = dr.parse_domain(xml).find("devices/rng")
    assert ET.tostring(rng, encoding="unicode").split() == RNG_XML.replace("  </devices>", "").split()
    assert dr.extract_spec(xml)["rng"] == spec["rng"]


def test_an_rng_source_with_metacharacters_stays_text(spec_params):
    spec = ds.desired_spec(spec_params())
    spec["rng"] = [dict(spec["rng"][0], source="/dev/" + NASTY, model="virtio'\"<&>")]
    xml = db.build_domain_xml(spec)
    assert _tags(xml) == _tags(db.build_domain_xml(ds.desired_spec(spec_params())))
    assert "<backend model=\"random\">/dev/x'\"&lt;&amp;&gt;]]&gt;&lt;/cmdline&gt;" in xml
    assert dr.extract_spec(xml)["rng"] == spec["rng"]


@pytest.mark.parametrize("rng", [False, True, None])
def test_rng_false_leaves_the_device_out(spec_params, rng):
    params = spec_params(rng=rng) if rng is not None else spec_params()
    spec = ds.desired_spec(params)
    root = dr.parse_domain(db.build_domain_xml(spec))
    assert len(root.findall("devices/rng")) == (0 if rng is False else 1)
    assert spec["rng"] == ([] if rng is False else [ds.RNG_DEVICE])
    assert dr.extract_spec(db.build_domain_xml(spec)) == spec
