# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Any domain XML read back as a spec (domain_spec.py), plus our metadata.

extract_spec(xml) reads the managed fields from a live or inactive definition,
full of what libvirt added (uuid, PCI addresses, controllers), so that it
compares equal to desired_spec() when nothing we manage differs.  Pure: no
libvirt, no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import xml.etree.ElementTree as ET

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.domain_build import GUEST_TAG, NAMESPACE
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.domain_spec import (
    CPU_MODES,
    SYSINFO_SYSTEM_FIELDS,
)

_MEMORY_UNITS = {"b": 1, "bytes": 1, "kib": 1024, "k": 1024, "kb": 1000, "mib": 1024 ** 2, "m": 1024 ** 2,
                 "mb": 1000 ** 2, "gib": 1024 ** 3, "g": 1024 ** 3, "gb": 1000 ** 3, "tib": 1024 ** 4,
                 "t": 1024 ** 4, "tb": 1000 ** 4}


def _text(element, path):
    found = element.find(path)
    return found.text if found is not None and found.text is not None else None


def _attr(element, name):
    return element.get(name) if element is not None else None


def _memory_kib(element):
    if element is None or element.text is None:
        return None
    unit = (element.get("unit") or "KiB").lower()
    return int(element.text) * _MEMORY_UNITS.get(unit, 1024) // 1024


def parse_domain(xml_text):
    try:
        # the XML comes from libvirtd (or from build_domain_xml), not from a user
        return ET.fromstring(xml_text)  # noqa: S314
    except ET.ParseError as exc:
        raise InvalidInput("cannot parse domain XML: %s" % exc) from None


def extract_guest_metadata(domain):
    """(user metadata dict, base_image, tmp_disk_size, started) from <metadata>, or None if not ours."""
    guest = domain.find("metadata/%s" % GUEST_TAG)
    if guest is None:
        # another element of our namespace (<hpcvm:vm><hpcvm:image>.., as domains defined by an
        # earlier lab script carry): ours all the same; its simple children are the metadata
        for element in domain.findall("metadata/*"):
            if element.tag.startswith("{%s}" % NAMESPACE):
                meta = {child.tag.split("}", 1)[-1]: child.text or "" for child in element if len(child) == 0}
                return {"metadata": meta, "base_image": None, "tmp_disk_size": None, "started": None}
        return None
    meta = {}
    for entry in guest.findall("{%s}meta" % NAMESPACE):
        meta[entry.get("key")] = entry.text or ""
    tmp = guest.find("{%s}tmp-disk" % NAMESPACE)
    started = _text(guest, "{%s}started" % NAMESPACE)
    return {
        "metadata": meta,
        "base_image": _text(guest, "{%s}base-image" % NAMESPACE),
        "tmp_disk_size": int(tmp.get("size")) if tmp is not None and tmp.get("size") else None,
        "started": float(started) if started else None,
    }


def is_ours(xml_text):
    """Whether a domain XML carries our metadata (an element of the namespace urn:hpc.slurm_vm:1)."""
    domain = parse_domain(xml_text) if isinstance(xml_text, str) else xml_text
    return extract_guest_metadata(domain) is not None


def extract_spec(xml_text):
    """Any domain XML (live, inactive, or ours) -> the spec of what we manage."""
    domain = parse_domain(xml_text) if isinstance(xml_text, str) else xml_text
    ours = extract_guest_metadata(domain) or {"metadata": {}, "base_image": None, "tmp_disk_size": None}
    vcpu = _text(domain, "vcpu")
    return {
        "name": _text(domain, "name"),
        "virt_type": domain.get("type"),
        "memory_kib": _memory_kib(domain.find("memory")),
        "vcpus": int(vcpu) if vcpu else None,
        "cpu_mode": _read_cpu_mode(domain),
        "acpi": domain.find("features/acpi") is not None,
        "hpet": any(t.get("name") == "hpet" and t.get("present") == "yes" for t in domain.findall("clock/timer")),
        "kernel": _text(domain, "os/kernel"),
        "initrd": _text(domain, "os/initrd"),
        "cmdline": _text(domain, "os/cmdline"),
        "boot_dev": _read_boot_dev(domain),
        "sysinfo": _read_sysinfo(domain),
        "interfaces": _read_interfaces(domain),
        "disks": _read_disks(domain),
        "filesystems": _read_filesystems(domain),
        "console_log": _read_console_log(domain),
        "metadata": ours["metadata"],
        "base_image": ours["base_image"],
        "tmp_disk_size": ours["tmp_disk_size"],
        "rng": _read_rngs(domain),
    }


def _read_sysinfo(domain):
    smbios = domain.find("sysinfo[@type='smbios']")
    if smbios is None:
        return None
    system = {e.get("name"): e.text or "" for e in smbios.findall("system/entry")
              if e.get("name") in SYSINFO_SYSTEM_FIELDS}
    oem = [e.text or "" for e in smbios.findall("oemStrings/entry")]
    if system or oem:
        return {"system": system, "oem_strings": oem}
    return None


def _read_cpu_mode(domain):
    cpu_mode = _attr(domain.find("cpu"), "mode")
    # 'custom' with a model is what libvirt fills in when none was asked for
    return cpu_mode if cpu_mode in CPU_MODES else None


def _read_boot_dev(domain):
    os_el = domain.find("os")
    boot = os_el.find("boot") if os_el is not None else None
    # libvirt adds <boot dev='hd'/> even for a direct kernel boot, where it means nothing
    return boot.get("dev") if boot is not None and _text(domain, "os/kernel") is None else None


def _read_disks(domain):
    disks = []
    for disk in domain.findall("devices/disk"):
        if disk.get("device", "disk") != "disk":
            continue
        driver = disk.find("driver")
        target = disk.find("target")
        disks.append({
            "file": _attr(disk.find("source"), "file"),
            "format": _attr(driver, "type"),
            "target": _attr(target, "dev"),
            "bus": _attr(target, "bus"),
            "cache": _attr(driver, "cache"),
            "serial": _text(disk, "serial"),
            "readonly": disk.find("readonly") is not None,
        })
    return disks


def _read_filesystems(domain):
    return [{
        "driver": "virtiofs" if _attr(fs.find("driver"), "type") == "virtiofs" else "9p",
        "source": _attr(fs.find("source"), "dir"),
        "target": _attr(fs.find("target"), "dir"),
        "readonly": fs.find("readonly") is not None,
    } for fs in domain.findall("devices/filesystem")]


def _read_interfaces(domain):
    interfaces = []
    for nic in domain.findall("devices/interface"):
        kind = nic.get("type")
        mac = _attr(nic.find("mac"), "address")
        interfaces.append({
            "type": kind,
            "source": _attr(nic.find("source"), kind),
            "mac": mac.lower() if mac else None,
            "model": _attr(nic.find("model"), "type"),
        })
    return interfaces


def _read_rngs(domain):
    """Every <rng>, as domain_spec.RNG_DEVICE is written: another source, rate or a second device is a difference."""
    rngs = []
    for rng in domain.findall("devices/rng"):
        rate = rng.find("rate")
        backend = rng.find("backend")
        rate_bytes, rate_period = _attr(rate, "bytes"), _attr(rate, "period")
        # model='random' names its device as text; egd's indented <source> children leave only whitespace
        source = (backend.text or "").strip() if backend is not None else ""
        rngs.append({
            "model": rng.get("model"),
            "backend": _attr(backend, "model"),
            "source": source or None,
            "rate_bytes": int(rate_bytes) if rate_bytes else None,
            "rate_period_ms": int(rate_period) if rate_period else None,
        })
    return rngs


def _read_console_log(domain):
    serial = domain.find("devices/serial")
    if serial is None or serial.get("type") != "file":
        return None
    return _attr(serial.find("source"), "path")
