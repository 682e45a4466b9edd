# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The spec of a guest: what libvirt_guest manages, validated.

A guest is described by a *spec*, a plain dict of the things this collection
manages (SPEC_KEYS).  desired_spec(params) turns module parameters into one,
rejecting what XML cannot carry (control characters) or what libvirt would
misread; domain_build.py renders a spec as domain XML and domain_read.py reads
one back from any domain XML, so a live definition and the desired one are
compared as two normalized specs.

Everything here is pure apart from the existence checks of image files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.addresses import host_mac
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.guest_files import (
    TMP_DISK_FILESYSTEMS,
    guest_files,
)

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
    "metadata", "base_image", "tmp_disk_size", "rng",
)

# The virtio RNG every guest gets unless rng=false: without an entropy source a guest's CRNG is ready only
# after seconds of boot (8.6 s in a TCG lab guest), and getrandom() callers such as munged block until then.
# The host's /dev/urandom never blocks; the rate only bounds the host CPU a guest can spend in QEMU reading
# it (the guest's CRNG needs 32 bytes to start).
RNG_DEVICE = {"model": "virtio", "backend": "random", "source": "/dev/urandom", "rate_bytes": 1024,
              "rate_period_ms": 1000}

_UNITS = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4}

# Images, kernels and initrds must resolve into the image directory. Without image_dir this one
# applies: there is no "no check", so a path such as /img/../../etc/passwd can never back an overlay.
DEFAULT_IMAGE_DIR = "/var/lib/hpc-slurm-vm/images"


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
    given, path = path, os.path.normpath(path)
    if inside:
        # realpath: '..' and symlinks resolved, as qemu-img and qemu will open the file
        real, root = os.path.realpath(path), os.path.realpath(inside)
        if os.path.commonpath([real, root]) != root:
            shown = given if real == given else "%s (resolves to %s)" % (given, real)
            raise InvalidInput("%s %s is outside the allowed image directory %s; put it there, or set image_dir "
                               "(a site sets it once with slurm_vm_image_dir)" % (what, shown, inside),
                               path=given, resolved=real, image_dir=inside)
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
def desired_spec(params, check_files=True):
    """Module parameters -> a validated spec (raises InvalidInput).

    params keys: name, state_dir, virt_type, memory (MiB), vcpus, cpu_mode, acpi,
    mac, bridge, network, image, image_format, image_dir, kernel, initrd,
    cmdline, sysinfo, filesystems, tmp_disk ({size, serial, filesystem}), console_log, metadata, rng
    (default true: a virtio RNG fed by the host's /dev/urandom, RNG_DEVICE).
    image, kernel and initrd must resolve into image_dir (DEFAULT_IMAGE_DIR when unset).
    tmp_disk.filesystem is checked here but, like image_format, is not part of the spec: it says how
    the file is made when it is created and is never compared with an existing guest (tmp_disk_filesystem()).
    """
    name = check_name(params["name"])
    files = guest_files(name, check_path(params["state_dir"], "state_dir"))
    virt_type, cpu_mode = _check_machine(params)
    image_dir = check_path(params.get("image_dir") or DEFAULT_IMAGE_DIR, "image_dir")
    interfaces = _interfaces(params)
    base_image, disks = _boot_disk(params, files, image_dir, check_files)
    kernel, initrd, cmdline = _direct_kernel(params, image_dir, check_files)
    if not kernel and not base_image:
        raise InvalidInput("give an image (disk boot through an overlay) or a kernel (direct kernel boot)")
    tmp_disk_size = _tmp_disk(params, files, disks)
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
        "rng": _rng_devices(params),
    }


def _check_machine(params):
    """(virt_type, cpu_mode), each one of the known values."""
    virt_type = params.get("virt_type") or "kvm"
    if virt_type not in VIRT_TYPES:
        raise InvalidInput("virt_type must be one of %s" % ", ".join(VIRT_TYPES))
    cpu_mode = params.get("cpu_mode")
    if cpu_mode is not None and cpu_mode not in CPU_MODES:
        raise InvalidInput("cpu_mode must be one of %s" % ", ".join(CPU_MODES))
    return virt_type, cpu_mode


def _interfaces(params):
    """The one NIC, on a bridge or a libvirt network, or none."""
    if params.get("bridge") and params.get("network"):
        raise InvalidInput("give either bridge or network, not both")
    if not (params.get("bridge") or params.get("network")):
        if params.get("mac"):
            raise InvalidInput("mac needs a bridge or a network to attach the interface to")
        return []
    if params.get("bridge"):
        kind, source = "bridge", check_text(params["bridge"], "bridge")
        if not BRIDGE_RE.match(source):
            raise InvalidInput("invalid bridge name %r" % source)
    else:
        kind, source = "network", check_text(params["network"], "network")
        if not NETWORK_RE.match(source):
            raise InvalidInput("invalid libvirt network name %r" % source)
    mac = host_mac(params["mac"]) if params.get("mac") else None
    return [{"type": kind, "source": source, "mac": mac, "model": "virtio"}]


def _boot_disk(params, files, image_dir, check_files):
    """(base_image, [overlay disk]) for a disk boot, (None, []) without an image."""
    if not params.get("image"):
        return None, []
    base_image = check_path(params["image"], "image", must_exist=check_files, inside=image_dir)
    fmt = params.get("image_format") or "qcow2"
    if fmt not in IMAGE_FORMATS:
        raise InvalidInput("image_format must be one of %s" % ", ".join(IMAGE_FORMATS))
    return base_image, [{"file": files["overlay"], "format": "qcow2", "target": "vda", "bus": "virtio",
                         "cache": "unsafe", "serial": None, "readonly": False}]


def _direct_kernel(params, image_dir, check_files):
    """(kernel, initrd, cmdline) for a direct kernel boot, all None without a kernel."""
    if not params.get("kernel"):
        if params.get("initrd") or params.get("cmdline"):
            raise InvalidInput("initrd and cmdline need a kernel (direct kernel boot)")
        return None, None, None
    kernel = check_path(params["kernel"], "kernel", must_exist=check_files, inside=image_dir)
    initrd = cmdline = None
    if params.get("initrd"):
        initrd = check_path(params["initrd"], "initrd", must_exist=check_files, inside=image_dir)
    if params.get("cmdline"):
        cmdline = check_text(params["cmdline"], "cmdline")
    return kernel, initrd, cmdline


def _tmp_disk(params, files, disks):
    """The tmp disk's size in bytes (None without one); appends its disk to disks."""
    tmp = params.get("tmp_disk")
    if not tmp:
        return None
    size = parse_size(tmp.get("size"), "tmp_disk.size")
    tmp_disk_filesystem(params)
    serial = check_text(tmp.get("serial") or "tmpdisk", "tmp_disk.serial")
    if not SERIAL_RE.match(serial):
        raise InvalidInput("tmp_disk.serial %r: up to 20 letters, digits, '_', '.', '-'" % serial)
    disks.append({"file": files["tmp_disk"], "format": "raw", "target": "vdb" if disks else "vda",
                  "bus": "virtio", "cache": "unsafe", "serial": serial, "readonly": False})
    return size


def _rng_devices(params):
    """[RNG_DEVICE], or [] for rng=false; unset means true."""
    rng = params.get("rng")
    if rng is None:
        rng = True
    if not isinstance(rng, bool):
        raise InvalidInput("rng must be true or false, got %r" % (rng,))
    return [dict(RNG_DEVICE)] if rng else []


def tmp_disk_filesystem(params):
    """The filesystem a tmp disk gets when it is created: none (the guest formats it) or ext4; None without one.

    An existing tmp disk is never reformatted, so this is not in the spec and a change of it alone changes nothing.
    """
    tmp = params.get("tmp_disk")
    if not tmp:
        return None
    filesystem = tmp.get("filesystem") or "none"
    if filesystem not in TMP_DISK_FILESYSTEMS:
        choices = ", ".join(TMP_DISK_FILESYSTEMS)
        raise InvalidInput("tmp_disk.filesystem must be one of %s, got %r" % (choices, filesystem))
    return filesystem


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
