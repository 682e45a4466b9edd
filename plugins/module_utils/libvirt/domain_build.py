# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A spec (domain_spec.py) rendered as libvirt domain XML.

xml.etree.ElementTree escapes every text and attribute value, so a value can
never add or close an element; domain_spec.py has already rejected what XML
cannot carry.  canonical_xml(spec) shows either side of a diff.  Pure: no
libvirt, no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import xml.etree.ElementTree as ET

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import (
    LIBVIRT_NAMESPACE,
    LIBVIRT_NAMESPACE_PREFIX,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.domain_spec import SYSINFO_SYSTEM_FIELDS

NAMESPACE = LIBVIRT_NAMESPACE
GUEST_TAG = "{%s}guest" % NAMESPACE
ET.register_namespace(LIBVIRT_NAMESPACE_PREFIX, NAMESPACE)


def _sub(parent, tag, text=None, **attrs):
    element = ET.SubElement(parent, tag, {k.rstrip("_"): str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        element.text = str(text)
    return element


def guest_metadata_element(spec, started=None, qualified=True):
    """Our <hpcvm:guest> element: the user's metadata plus what the module itself tracks.

    qualified=False gives the bare element that virDomainSetMetadata wants (libvirt
    puts it into the namespace itself).
    """
    ns = "{%s}" % NAMESPACE if qualified else ""
    guest = ET.Element(ns + "guest")
    for key in sorted(spec.get("metadata") or {}):
        _sub(guest, ns + "meta", spec["metadata"][key], key=key)
    if spec.get("base_image"):
        _sub(guest, ns + "base-image", spec["base_image"])
    if spec.get("tmp_disk_size"):
        _sub(guest, ns + "tmp-disk", size=spec["tmp_disk_size"])
    if started is not None:
        _sub(guest, ns + "started", "%.3f" % started)
    return guest


def build_domain_element(spec, uuid=None):
    """The <domain> element of a spec, its children in the order libvirt writes them."""
    domain = ET.Element("domain", type=spec["virt_type"])
    _sub(domain, "name", spec["name"])
    if uuid:
        _sub(domain, "uuid", uuid)
    _sub(domain, "metadata").append(guest_metadata_element(spec))
    _sub(domain, "memory", spec["memory_kib"], unit="KiB")
    _sub(domain, "vcpu", spec["vcpus"])
    _add_sysinfo(domain, spec)
    _add_os(domain, spec)
    _add_machine_features(domain, spec)
    _sub(domain, "on_poweroff", "destroy")
    _sub(domain, "on_reboot", "restart")
    _sub(domain, "on_crash", "destroy")
    devices = _sub(domain, "devices")
    _add_disks(devices, spec)
    _add_filesystems(devices, spec)
    _add_interfaces(devices, spec)
    _add_serial_console(devices, spec)
    _sub(devices, "controller", type="usb", model="none")
    _sub(devices, "memballoon", model="none")
    _add_rngs(devices, spec)
    return domain


def _add_sysinfo(domain, spec):
    """SMBIOS system entries and OEM strings (the guest reads its identity from them)."""
    if not spec.get("sysinfo"):
        return
    sysinfo = _sub(domain, "sysinfo", type="smbios")
    if spec["sysinfo"]["system"]:
        system = _sub(sysinfo, "system")
        for key in SYSINFO_SYSTEM_FIELDS:
            if key in spec["sysinfo"]["system"]:
                _sub(system, "entry", spec["sysinfo"]["system"][key], name=key)
    if spec["sysinfo"]["oem_strings"]:
        oem = _sub(sysinfo, "oemStrings")
        for entry in spec["sysinfo"]["oem_strings"]:
            _sub(oem, "entry", entry)


def _add_os(domain, spec):
    """<os>: direct kernel boot or boot from disk, and the SMBIOS source."""
    os_el = _sub(domain, "os")
    _sub(os_el, "type", "hvm")
    if spec.get("kernel"):
        _sub(os_el, "kernel", spec["kernel"])
        if spec.get("initrd"):
            _sub(os_el, "initrd", spec["initrd"])
        if spec.get("cmdline"):
            _sub(os_el, "cmdline", spec["cmdline"])
    if spec.get("boot_dev"):
        _sub(os_el, "boot", dev=spec["boot_dev"])
    if spec.get("sysinfo"):
        _sub(os_el, "smbios", mode="sysinfo")


def _add_machine_features(domain, spec):
    """ACPI, the HPET of TCG guests, the CPU mode, and the shared memory virtiofs needs."""
    if spec.get("acpi"):
        _sub(_sub(domain, "features"), "acpi")
    if spec.get("hpet"):
        _sub(_sub(domain, "clock", offset="utc"), "timer", name="hpet", present="yes")
    if spec.get("cpu_mode"):
        _sub(domain, "cpu", mode=spec["cpu_mode"])
    if any(fs["driver"] == "virtiofs" for fs in spec.get("filesystems") or []):
        backing = _sub(domain, "memoryBacking")
        _sub(backing, "source", type="memfd")
        _sub(backing, "access", mode="shared")


def _add_disks(devices, spec):
    for disk in spec.get("disks") or []:
        element = _sub(devices, "disk", type="file", device="disk")
        _sub(element, "driver", name="qemu", type=disk["format"], cache=disk.get("cache"))
        _sub(element, "source", file=disk["file"])
        _sub(element, "target", dev=disk["target"], bus=disk["bus"])
        if disk.get("serial"):
            _sub(element, "serial", disk["serial"])
        if disk.get("readonly"):
            _sub(element, "readonly")


def _add_filesystems(devices, spec):
    for fs in spec.get("filesystems") or []:
        if fs["driver"] == "virtiofs":
            element = _sub(devices, "filesystem", type="mount", accessmode="passthrough")
            _sub(element, "driver", type="virtiofs")
        else:
            element = _sub(devices, "filesystem", type="mount", accessmode="passthrough", multidevs="remap")
        _sub(element, "source", dir=fs["source"])
        _sub(element, "target", dir=fs["target"])
        if fs.get("readonly"):
            _sub(element, "readonly")


def _add_interfaces(devices, spec):
    for nic in spec.get("interfaces") or []:
        element = _sub(devices, "interface", type=nic["type"])
        if nic["type"] == "bridge":
            _sub(element, "source", bridge=nic["source"])
        else:
            _sub(element, "source", network=nic["source"])
        if nic.get("mac"):
            _sub(element, "mac", address=nic["mac"])
        _sub(element, "model", type=nic.get("model") or "virtio")


def _add_serial_console(devices, spec):
    """The serial console: into the console log file, or a pty without one."""
    if spec.get("console_log"):
        serial = _sub(devices, "serial", type="file")
        _sub(serial, "source", path=spec["console_log"])
    else:
        serial = _sub(devices, "serial", type="pty")
    _sub(serial, "target", port="0")


def _add_rngs(devices, spec):
    """<rng>: a virtio RNG with an optional rate limit (bytes per period) and its host source."""
    for rng in spec.get("rng") or []:
        element = _sub(devices, "rng", model=rng["model"])
        if rng.get("rate_bytes"):
            _sub(element, "rate", period=rng.get("rate_period_ms"), bytes=rng["rate_bytes"])
        _sub(element, "backend", rng.get("source"), model=rng["backend"])


def _to_string(element):
    if hasattr(ET, "indent"):  # Python 3.9+
        ET.indent(element)
    return ET.tostring(element, encoding="unicode")


def build_domain_xml(spec, uuid=None):
    """The domain XML for a spec (uuid: keep an existing domain's identity on redefine)."""
    return _to_string(build_domain_element(spec, uuid=uuid))


def guest_metadata_xml(spec, started=None):
    """Our metadata element alone, for virDomainSetMetadata."""
    return _to_string(guest_metadata_element(spec, started=started, qualified=False))


def canonical_xml(spec):
    """A spec shown as domain XML without uuid: the before/after of a diff."""
    return build_domain_xml(spec) + "\n" if spec else ""
