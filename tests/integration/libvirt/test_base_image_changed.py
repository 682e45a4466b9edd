# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base image versions against the lab's real libvirtd (issue 18): a base image overwritten in place.

A throwaway base image (a real qcow2 made by qemu-img, in a folder of this test) backs a running guest
t7-base-1, whose version is recorded as libvirt_guest returned it. A second guest of that version is
then made from the record without reading the file. The base is overwritten in place (new content,
same path and inode); the next libvirt_guest with the record fails with the image's name and leaves
no overlay, tmp disk or domain, and libvirt_guest_info reports base_changed for the running guest.
Everything is removed afterwards, and the lab's own disk image is only read (check mode): the time
to hash it once, and none the second time, is printed.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
import time

import pytest

from .conftest import LAB_DIR, STATE_DIR, URI, run_module, virsh

IMAGE = "t7img"
NAMES = ("t7-base-1", "t7-base-2")
DISK_IMAGE = os.path.join(os.environ.get("HPCVM_DISK_CACHE", "/var/cache/hpcvm-lab/disk"), "disk.qcow2")
CACHE_FILE = ".base-sha256.json"


def remove(name):
    result = run_module("libvirt_guest", dict(name=name, uri=URI, state_dir=STATE_DIR, state="absent"))
    assert not result.get("failed"), result


def leftovers(name):
    return sorted(entry for entry in os.listdir(STATE_DIR) if entry.startswith(name + ".")) \
        if os.path.isdir(STATE_DIR) else []


@pytest.fixture
def base_dir(libvirtd):
    """A folder with a real qcow2 base image; the guests and the folder are removed afterwards."""
    for name in NAMES:
        remove(name)
    root = tempfile.mkdtemp(prefix="t7-base-image-", dir=LAB_DIR)
    os.chmod(root, 0o755)  # noqa: S103 - qemu (user libvirt-qemu) opens the base image through it
    base = os.path.join(root, "base.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", base, "64M"], check=True, timeout=60)
    try:
        yield root, base
    finally:
        for name in NAMES:
            remove(name)
        shutil.rmtree(root)


def guest(name, root, base, **extra):
    args = dict(name=name, uri=URI, state_dir=STATE_DIR, virt_type="qemu", memory=64, vcpus=1, image=base,
                image_dir=root, tmp_disk=dict(size="16M", serial="hpcvm-tmp"), acpi=False, rng=False,
                metadata=dict(image=IMAGE, test="base-image"), image_version="it-1")
    args.update(extra)
    return args


def sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def test_a_base_overwritten_in_place_is_refused_and_flagged(base_dir):
    root, base = base_dir
    first = run_module("libvirt_guest", guest("t7-base-1", root, base))
    assert not first.get("failed") and first["state"] == "running", first
    assert first["base"]["hashed"] is True and first["base"]["sha256"] == sha256(base), first["base"]
    record = {key: first["base"][key] for key in ("path", "size", "mtime", "sha256")}
    assert stat.S_IMODE(os.stat(os.path.join(STATE_DIR, CACHE_FILE)).st_mode) == 0o600

    # the next guest of that version: trusted from the record, the file is not read
    second = run_module("libvirt_guest", guest("t7-base-2", root, base, base_record=record))
    assert not second.get("failed") and second["base"] == dict(first["base"], hashed=False), second
    remove("t7-base-2")

    info = run_module("libvirt_guest_info", dict(uri=URI, state_dir=STATE_DIR, name=["t7-base-1"]))
    [seen] = info["guests"]
    assert (seen["image_version"], seen["base"], seen["base_changed"]) == ("it-1", record, False), seen

    # the admin copies a new image over the old one: same path and inode, new content
    inode = os.stat(base).st_ino
    new = os.path.join(root, "new.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", new, "128M"], check=True, timeout=60)
    with open(new, "rb") as source, open(base, "r+b") as target:
        target.truncate(0)
        target.write(source.read() + b"\0" * 65536)
    os.unlink(new)
    assert os.stat(base).st_ino == inode and sha256(base) != record["sha256"]

    for check_mode in (True, False):
        refused = run_module("libvirt_guest", guest("t7-base-2", root, base, base_record=record), check=check_mode)
        assert refused.get("failed") and refused["error"] == "BaseImageChanged" and not refused["changed"], refused
        assert refused["msg"].startswith("image %s: the base image %s was changed in place: its recorded version is "
                                         "sha256 %s" % (IMAGE, base, record["sha256"])), refused["msg"]
        assert "the file now is sha256 %s" % sha256(base) in refused["msg"], refused["msg"]
        assert virsh("dominfo", "t7-base-2").returncode != 0, "a domain was created on the changed base"
        assert leftovers("t7-base-2") == [], leftovers("t7-base-2")
    print("refused: %s" % refused["msg"])

    info = run_module("libvirt_guest_info", dict(uri=URI, state_dir=STATE_DIR, name=["t7-base-1"]))
    [seen] = info["guests"]
    assert seen["state"] == "running" and seen["base_changed"] is True, seen
    assert seen["base_changed_reason"].startswith(
        "image %s: the base image %s under this guest's overlay was changed in place" % (IMAGE, base)), seen
    print("flagged: %s" % seen["base_changed_reason"])


@pytest.mark.skipif(not os.path.exists(DISK_IMAGE), reason="no lab disk image (make lab-disk-image)")
def test_hashing_the_lab_disk_image_once(libvirtd, tmp_path):
    """Check mode only: the lab's disk image is read, nothing is created. A fresh checksum cache hashes the
    file; the cache then knows it (the cache is written by a real run; here we fill it as one would)."""
    from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import base_image

    state_dir = str(tmp_path / "vms")
    args = dict(name="t7-base-hash", uri=URI, state_dir=state_dir, virt_type="qemu", memory=256,
                image=DISK_IMAGE, image_dir=os.path.dirname(DISK_IMAGE), metadata=dict(image="disk"))
    started = time.monotonic()
    result = run_module("libvirt_guest", args, check=True)
    wall = time.monotonic() - started
    assert not result.get("failed") and result["base"]["hashed"] is True, result.get("msg", result)
    assert result["base"]["sha256"] == sha256(DISK_IMAGE) and not os.path.exists(state_dir)
    cache = base_image.Sha256Cache(state_dir)
    cache.sha256(DISK_IMAGE)
    assert cache.flush()
    again = run_module("libvirt_guest", args, check=True)
    assert again["base"]["hashed"] is False and again["base"]["sha256"] == result["base"]["sha256"], again
    print("lab disk image %s (%.1f MiB): hashed in %.3f s (module timings.base; task %.2f s), from the cache in "
          "%.3f s" % (DISK_IMAGE, result["base"]["size"] / 1048576.0, result["timings"]["base"], wall,
                      again["timings"]["base"]))
