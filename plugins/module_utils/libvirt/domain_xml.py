# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Domain XML for libvirt_guest: validated values in, XML out, and back.

A guest is described by a *spec*, a plain dict of the things this collection
manages (see SPEC_KEYS).  build_domain_xml(spec) renders it with
xml.etree.ElementTree, which escapes every text and attribute value, after
validate_spec-style checks have rejected what XML cannot carry (control
characters) or what libvirt would misread.  extract_spec(xml) reads the same
dict back from any domain XML, so a live definition (full of defaults libvirt
added: uuid, PCI addresses, controllers) and the desired one are compared as
two normalized specs, and canonical_xml(spec) shows either side in a diff.

Everything here is pure: no libvirt, no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import xml.etree.ElementTree as ET

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.addresses import host_mac
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import (
    LIBVIRT_NAMESPACE,
    LIBVIRT_NAMESPACE_PREFIX,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput

NAMESPACE = LIBVIRT_NAMESPACE
GUEST_TAG = "{%s}guest" % NAMESPACE
ET.register_namespace(LIBVIRT_NAMESPACE_PREFIX, NAMESPACE)

# A libvirt domain name is also a file name here (overlay, tmp disk, console
# log) and usually a Slurm/DNS host name, so keep it to a safe alphabet.
DOMAIN_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
# Linux interface names (bridges) and libvirt network names.
BRIDGE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")
NETWORK_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
SERIAL_RE = re.compile(r"^[A-Za-z0-9_.-]{1,20}$")   # virtio-blk serials are at most 20 bytes
FS_TARGET_RE = re.compile(r"^[A-Za-z0-9_.-]{1,31}$")  # 9p mount tag: 31 bytes
METADATA_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
# XML 1.0 cannot carry these at all, and none belongs in a kernel command
# line, an SMBIOS string or a path: reject rather than escape.
CONTROL_RE = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

SYSINFO_SYSTEM_FIELDS = ("manufacturer", "product", "version", "serial", "sku", "family")
CPU_MODES = ("host-passthrough", "host-model", "maximum")
VIRT_TYPES = ("kvm", "qemu")
IMAGE_FORMATS = ("qcow2", "raw")
FS_DRIVERS = ("9p", "virtiofs")

SPEC_KEYS = (
    "name", "virt_type", "memory_kib", "vcpus", "cpu_mode", "acpi", "hpet",
    "kernel", "initrd", "cmdline", "boot_dev", "sysinfo",
    "interfaces", "disks", "filesystems", "console_log",
    "metadata", "base_image", "tmp_disk_size",
)

_UNITS = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4}
_MEMORY_UNITS = {"b": 1, "bytes": 1, "kib": 1024, "k": 1024, "kb": 1000, "mib": 1024 ** 2, "m": 1024 ** 2,
                 "mb": 1000 ** 2, "gib": 1024 ** 3, "g": 1024 ** 3, "gb": 1000 ** 3, "tib": 1024 ** 4,
                 "t": 1024 ** 4, "tb": 1000 ** 4}


# ----------------------------------------------------------------- validation
def check_text(value, what, allow_empty=False):
    """A string that may safely become XML text: no control characters."""
    if value is None:
        raise InvalidInput("%s is required" % what)
    value = str(value)
    if not value and not allow_empty:
        raise InvalidInput("%s must not be empty" % what)
    bad = CONTROL_RE.search(value)
    if bad:
        raise InvalidInput("%s contains the control character %r" % (what, bad.group(0)), value=value)
    return value


def check_name(name):
    name = check_text(name, "name")
    if not DOMAIN_NAME_RE.match(name):
        raise InvalidInput(
            "invalid domain name %r: use 1-64 letters, digits, '_', '.', '+' or '-', starting with a "
            "letter or digit" % name, name=name)
    return name


def check_path(path, what, must_exist=False, inside=None):
    """An absolute path; with inside, it must resolve into that directory."""
    path = check_text(path, what)
    if not os.path.isabs(path):
        raise InvalidInput("%s must be an absolute path, got %r" % (what, path), path=path)
    path = os.path.normpath(path)
    if inside:
        real, root = os.path.realpath(path), os.path.realpath(inside)
        if os.path.commonpath([real, root]) != root:
            raise InvalidInput("%s %s is outside the allowed image directory %s" % (what, path, inside),
                               path=path, image_dir=inside)
    if must_exist and not os.path.isfile(path):
        raise InvalidInput("%s %s does not exist (or is not a file)" % (what, path), path=path)
    return path


def parse_size(value, what="size"):
    """'512M', '2G', '1024' (bytes) or an int -> bytes (binary units)."""
    if isinstance(value, bool):
        raise InvalidInput("%s must be a size such as 512M, got %r" % (what, value))
    if isinstance(value, int):
        size = value
    else:
        match = re.match(r"^\s*(\d+)\s*([kmgt]?)(i?b)?\s*$", str(value).lower())
        if not match:
            raise InvalidInput("%s must be a size such as 512M or 2G, got %r" % (what, value))
        size = int(match.group(1)) * _UNITS[match.group(2)]
    if size <= 0:
        raise InvalidInput("%s must be positive, got %r" % (what, value))
    return size


def _positive_int(value, what):
    if isinstance(value, bool):
        raise InvalidInput("%s must be a positive integer, got %r" % (what, value))
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput("%s must be a positive integer, got %r" % (what, value)) from None
    if number < 1:
        raise InvalidInput("%s must be a positive integer, got %r" % (what, value))
    return number


def check_sysinfo(sysinfo):
    if not sysinfo:
        return None
    if not isinstance(sysinfo, dict):
        raise InvalidInput("sysinfo must be a mapping of SMBIOS system fields (and oem_strings)")
    system = {}
    oem = []
    for key, value in sysinfo.items():
        if key == "oem_strings":
            if not isinstance(value, (list, tuple)):
                raise InvalidInput("sysinfo.oem_strings must be a list of strings")
            oem = [check_text(item, "sysinfo.oem_strings entry") for item in value]
        elif key in SYSINFO_SYSTEM_FIELDS:
            if value is not None:
                system[key] = check_text(value, "sysinfo.%s" % key)
        else:
            raise InvalidInput("unknown sysinfo field %r (known: %s, oem_strings)"
                               % (key, ", ".join(SYSINFO_SYSTEM_FIELDS)))
    if not system and not oem:
        return None
    return {"system": system, "oem_strings": oem}


def check_metadata(metadata):
    result = {}
    for key, value in (metadata or {}).items():
        key = check_text(key, "metadata key")
        if not METADATA_KEY_RE.match(key):
            raise InvalidInput("invalid metadata key %r (letters, digits, '_', '.', '-')" % key)
        if isinstance(value, (dict, list, tuple)):
            raise InvalidInput("metadata.%s must be a scalar" % key)
        result[key] = check_text("" if value is None else value, "metadata.%s" % key, allow_empty=True)
    return result


def check_filesystems(filesystems):
    result = []
    targets = set()
    for index, fs in enumerate(filesystems or []):
        what = "filesystems[%d]" % index
        driver = fs.get("driver") or "9p"
        if driver not in FS_DRIVERS:
            raise InvalidInput("%s.driver must be one of %s" % (what, ", ".join(FS_DRIVERS)))
        target = check_text(fs.get("target"), what + ".target")
        if not FS_TARGET_RE.match(target):
            raise InvalidInput("%s.target %r: use up to 31 letters, digits, '_', '.', '-'" % (what, target))
        if target in targets:
            raise InvalidInput("%s.target %r is used twice" % (what, target))
        targets.add(target)
        readonly = bool(fs.get("readonly"))
        if readonly and driver == "virtiofs":
            raise InvalidInput("%s: libvirt 9 cannot export a virtiofs share read-only; use driver 9p" % what)
        source = check_path(fs.get("source"), what + ".source")
        result.append({"driver": driver, "source": source, "target": target, "readonly": readonly})
    return result


# --------------------------------------------------------------- desired spec
def guest_files(name, state_dir):
    """The per-guest files the module creates and removes, named after the guest."""
    return {
        "overlay": os.path.join(state_dir, name + ".qcow2"),
        "tmp_disk": os.path.join(state_dir, name + ".tmp.raw"),
        "console_log": os.path.join(state_dir, name + ".console.log"),
    }


def desired_spec(params, check_files=True):
    """Module parameters -> a validated spec (raises InvalidInput).

    params keys: name, state_dir, virt_type, memory (MiB), vcpus, cpu_mode, acpi,
    mac, bridge, network, image, image_format, image_dir, kernel, initrd,
    cmdline, sysinfo, filesystems, tmp_disk ({size, serial}), console_log, metadata.
    """
    name = check_name(params["name"])
    state_dir = check_path(params["state_dir"], "state_dir")
    files = guest_files(name, state_dir)
    virt_type = params.get("virt_type") or "kvm"
    if virt_type not in VIRT_TYPES:
        raise InvalidInput("virt_type must be one of %s" % ", ".join(VIRT_TYPES))
    cpu_mode = params.get("cpu_mode")
    if cpu_mode is not None and cpu_mode not in CPU_MODES:
        raise InvalidInput("cpu_mode must be one of %s" % ", ".join(CPU_MODES))
    image_dir = params.get("image_dir")
    if image_dir:
        image_dir = check_path(image_dir, "image_dir")

    interfaces = []
    if params.get("bridge") and params.get("network"):
        raise InvalidInput("give either bridge or network, not both")
    if params.get("bridge") or params.get("network"):
        if params.get("bridge"):
            kind, source = "bridge", check_text(params["bridge"], "bridge")
            if not BRIDGE_RE.match(source):
                raise InvalidInput("invalid bridge name %r" % source)
        else:
            kind, source = "network", check_text(params["network"], "network")
            if not NETWORK_RE.match(source):
                raise InvalidInput("invalid libvirt network name %r" % source)
        mac = host_mac(params["mac"]) if params.get("mac") else None
        interfaces.append({"type": kind, "source": source, "mac": mac, "model": "virtio"})
    elif params.get("mac"):
        raise InvalidInput("mac needs a bridge or a network to attach the interface to")

    disks = []
    base_image = None
    if params.get("image"):
        base_image = check_path(params["image"], "image", must_exist=check_files, inside=image_dir)
        fmt = params.get("image_format") or "qcow2"
        if fmt not in IMAGE_FORMATS:
            raise InvalidInput("image_format must be one of %s" % ", ".join(IMAGE_FORMATS))
        disks.append({"file": files["overlay"], "format": "qcow2", "target": "vda", "bus": "virtio",
                      "cache": "unsafe", "serial": None, "readonly": False})
    kernel = initrd = cmdline = None
    if params.get("kernel"):
        kernel = check_path(params["kernel"], "kernel", must_exist=check_files, inside=image_dir)
        if params.get("initrd"):
            initrd = check_path(params["initrd"], "initrd", must_exist=check_files, inside=image_dir)
        if params.get("cmdline"):
            cmdline = check_text(params["cmdline"], "cmdline")
    elif params.get("initrd") or params.get("cmdline"):
        raise InvalidInput("initrd and cmdline need a kernel (direct kernel boot)")
    if not kernel and not base_image:
        raise InvalidInput("give an image (disk boot through an overlay) or a kernel (direct kernel boot)")

    tmp_disk_size = None
    tmp = params.get("tmp_disk")
    if tmp:
        tmp_disk_size = parse_size(tmp.get("size"), "tmp_disk.size")
        serial = check_text(tmp.get("serial") or "tmpdisk", "tmp_disk.serial")
        if not SERIAL_RE.match(serial):
            raise InvalidInput("tmp_disk.serial %r: up to 20 letters, digits, '_', '.', '-'" % serial)
        disks.append({"file": files["tmp_disk"], "format": "raw", "target": "vdb" if disks else "vda",
                      "bus": "virtio", "cache": "unsafe", "serial": serial, "readonly": False})

    return {
        "name": name,
        "virt_type": virt_type,
        "memory_kib": _positive_int(params.get("memory", 512), "memory") * 1024,
        "vcpus": _positive_int(params.get("vcpus", 1), "vcpus"),
        "cpu_mode": cpu_mode,
        "acpi": bool(params.get("acpi", True)),
        # Under TCG on a busy host the guest's TSC calibration goes wrong and its clock runs
        # fast (munge then rejects credentials as rewound): give TCG guests an HPET.
        "hpet": virt_type == "qemu",
        "kernel": kernel,
        "initrd": initrd,
        "cmdline": cmdline,
        "boot_dev": None if kernel else "hd",
        "sysinfo": check_sysinfo(params.get("sysinfo")),
        "interfaces": interfaces,
        "disks": disks,
        "filesystems": check_filesystems(params.get("filesystems")),
        "console_log": files["console_log"] if params.get("console_log", True) else None,
        "metadata": check_metadata(params.get("metadata")),
        "base_image": base_image,
        "tmp_disk_size": tmp_disk_size,
    }


# ------------------------------------------------------------------- building
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
    domain = ET.Element("domain", type=spec["virt_type"])
    _sub(domain, "name", spec["name"])
    if uuid:
        _sub(domain, "uuid", uuid)
    metadata = _sub(domain, "metadata")
    metadata.append(guest_metadata_element(spec))
    _sub(domain, "memory", spec["memory_kib"], unit="KiB")
    _sub(domain, "vcpu", spec["vcpus"])
    if spec.get("sysinfo"):
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
    _sub(domain, "on_poweroff", "destroy")
    _sub(domain, "on_reboot", "restart")
    _sub(domain, "on_crash", "destroy")
    devices = _sub(domain, "devices")
    for disk in spec.get("disks") or []:
        element = _sub(devices, "disk", type="file", device="disk")
        _sub(element, "driver", name="qemu", type=disk["format"], cache=disk.get("cache"))
        _sub(element, "source", file=disk["file"])
        _sub(element, "target", dev=disk["target"], bus=disk["bus"])
        if disk.get("serial"):
            _sub(element, "serial", disk["serial"])
        if disk.get("readonly"):
            _sub(element, "readonly")
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
    for nic in spec.get("interfaces") or []:
        element = _sub(devices, "interface", type=nic["type"])
        if nic["type"] == "bridge":
            _sub(element, "source", bridge=nic["source"])
        else:
            _sub(element, "source", network=nic["source"])
        if nic.get("mac"):
            _sub(element, "mac", address=nic["mac"])
        _sub(element, "model", type=nic.get("model") or "virtio")
    if spec.get("console_log"):
        serial = _sub(devices, "serial", type="file")
        _sub(serial, "source", path=spec["console_log"])
    else:
        serial = _sub(devices, "serial", type="pty")
    _sub(serial, "target", port="0")
    _sub(devices, "controller", type="usb", model="none")
    _sub(devices, "memballoon", model="none")
    return domain


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


# ----------------------------------------------------------------- extraction
def _text(element, path):
    found = element.find(path)
    return found.text if found is not None and found.text is not None else None


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


def extract_spec(xml_text):
    """Any domain XML (live, inactive, or ours) -> the spec of what we manage."""
    domain = parse_domain(xml_text) if isinstance(xml_text, str) else xml_text
    ours = extract_guest_metadata(domain) or {"metadata": {}, "base_image": None, "tmp_disk_size": None}
    sysinfo = None
    smbios = domain.find("sysinfo[@type='smbios']")
    if smbios is not None:
        system = {e.get("name"): e.text or "" for e in smbios.findall("system/entry")
                  if e.get("name") in SYSINFO_SYSTEM_FIELDS}
        oem = [e.text or "" for e in smbios.findall("oemStrings/entry")]
        if system or oem:
            sysinfo = {"system": system, "oem_strings": oem}
    os_el = domain.find("os")
    boot = os_el.find("boot") if os_el is not None else None
    cpu = domain.find("cpu")
    cpu_mode = cpu.get("mode") if cpu is not None else None
    if cpu_mode not in CPU_MODES:
        cpu_mode = None  # 'custom' with a model is what libvirt fills in when none was asked for
    disks = []
    for disk in domain.findall("devices/disk"):
        if disk.get("device", "disk") != "disk":
            continue
        driver = disk.find("driver")
        source = disk.find("source")
        target = disk.find("target")
        disks.append({
            "file": source.get("file") if source is not None else None,
            "format": driver.get("type") if driver is not None else None,
            "target": target.get("dev") if target is not None else None,
            "bus": target.get("bus") if target is not None else None,
            "cache": driver.get("cache") if driver is not None else None,
            "serial": _text(disk, "serial"),
            "readonly": disk.find("readonly") is not None,
        })
    filesystems = []
    for fs in domain.findall("devices/filesystem"):
        driver = fs.find("driver")
        source = fs.find("source")
        target = fs.find("target")
        filesystems.append({
            "driver": "virtiofs" if driver is not None and driver.get("type") == "virtiofs" else "9p",
            "source": source.get("dir") if source is not None else None,
            "target": target.get("dir") if target is not None else None,
            "readonly": fs.find("readonly") is not None,
        })
    interfaces = []
    for nic in domain.findall("devices/interface"):
        source = nic.find("source")
        mac = nic.find("mac")
        model = nic.find("model")
        kind = nic.get("type")
        interfaces.append({
            "type": kind,
            "source": (source.get(kind) if source is not None else None),
            "mac": mac.get("address").lower() if mac is not None and mac.get("address") else None,
            "model": model.get("type") if model is not None else None,
        })
    console_log = None
    serial = domain.find("devices/serial")
    if serial is not None and serial.get("type") == "file":
        source = serial.find("source")
        console_log = source.get("path") if source is not None else None
    vcpu = _text(domain, "vcpu")
    return {
        "name": _text(domain, "name"),
        "virt_type": domain.get("type"),
        "memory_kib": _memory_kib(domain.find("memory")),
        "vcpus": int(vcpu) if vcpu else None,
        "cpu_mode": cpu_mode,
        "acpi": domain.find("features/acpi") is not None,
        "hpet": any(t.get("name") == "hpet" and t.get("present") == "yes" for t in domain.findall("clock/timer")),
        "kernel": _text(domain, "os/kernel"),
        "initrd": _text(domain, "os/initrd"),
        "cmdline": _text(domain, "os/cmdline"),
        # libvirt adds <boot dev='hd'/> even for a direct kernel boot, where it means nothing
        "boot_dev": boot.get("dev") if boot is not None and _text(domain, "os/kernel") is None else None,
        "sysinfo": sysinfo,
        "interfaces": interfaces,
        "disks": disks,
        "filesystems": filesystems,
        "console_log": console_log,
        "metadata": ours["metadata"],
        "base_image": ours["base_image"],
        "tmp_disk_size": ours["tmp_disk_size"],
    }


def fill_generated(desired, current):
    """Take over what libvirt generates when we leave it open (a NIC's MAC when none was given)."""
    if not current:
        return desired
    result = dict(desired)
    nics = []
    for index, nic in enumerate(desired["interfaces"]):
        if nic["mac"] is None and index < len(current["interfaces"]):
            nic = dict(nic, mac=current["interfaces"][index]["mac"])
        nics.append(nic)
    result["interfaces"] = nics
    return result
