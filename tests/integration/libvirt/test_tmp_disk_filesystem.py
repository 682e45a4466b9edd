# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt_guest's tmp_disk.filesystem against the lab's libvirtd: the host's mkfs.ext4 makes the guest's
/tmp filesystem when the file is created, a TCG guest mounts it as it is, and none leaves the file empty.
Checked with the real e2fsprogs tools on the file (dumpe2fs, blkid) and the raw superblock bytes."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess

from .conftest import MARKER, STATE_DIR, URI, fast_guest, run_module

EXT4_MAGIC_OFFSET = 1024 + 56   # s_magic, little-endian 0xEF53


def tool(name):
    found = shutil.which(name) or next((p for p in ("/usr/sbin/" + name, "/sbin/" + name) if os.access(p, os.X_OK)),
                                       None)
    assert found, "%s (e2fsprogs / util-linux) is needed on the lab host" % name
    return found


def magic(path):
    with open(path, "rb") as handle:
        handle.seek(EXT4_MAGIC_OFFSET)
        return handle.read(2)


def superblock(path):
    """dumpe2fs -h of the file: {field: value}."""
    out = subprocess.run([tool("dumpe2fs"), "-h", path], capture_output=True, text=True, check=True).stdout
    fields = {}
    for line in out.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def test_ext4_tmp_disk_is_made_on_the_host_and_mounted_by_the_guest(guest):
    host = guest("vm-deb12-006")
    tmp = os.path.join(STATE_DIR, host + ".tmp.raw")
    args = fast_guest(host, state="defined", tmp_disk=dict(size="64M", serial="hpcvm-tmp", filesystem="ext4"))

    check = run_module("libvirt_guest", args, check=True)
    assert check["actions"] == ["create_tmp_disk", "define"] and not os.path.exists(tmp), check
    made = run_module("libvirt_guest", args)
    assert made["actions"] == ["create_tmp_disk", "define"], made
    print("timings.tmp_disk (sparse file + mkfs.ext4, 64 MiB): %.3f s" % made["timings"]["tmp_disk"])
    assert made["timings"]["tmp_disk"] < 1.0
    fs = superblock(tmp)
    assert fs["Filesystem magic number"] == "0xEF53" and fs["Filesystem volume name"] == "<none>"
    assert "has_journal" not in fs["Filesystem features"].split() and fs["Reserved block count"] == "0"
    assert fs["Last mount time"] == "n/a" and os.stat(tmp).st_size == 64 * 1024 ** 2
    blkid = subprocess.run([tool("blkid"), "-p", "-o", "export", tmp], capture_output=True, text=True, check=True)
    assert "TYPE=ext4" in blkid.stdout.splitlines()

    # the guest mounts it as it is (its init formats only what it cannot mount): same filesystem, mounted once
    started = run_module("libvirt_guest", dict(args, state="running", wait_for=dict(console=MARKER), timeout=120))
    assert started["actions"] == ["start"], started
    with open(os.path.join(STATE_DIR, host + ".console.log")) as handle:
        console = handle.read()
    assert "-> /tmp (" in console and "cannot mount" not in console
    after = superblock(tmp)
    assert after["Filesystem UUID"] == fs["Filesystem UUID"] and after["Last mount time"] != "n/a", after

    # the option alone changes nothing on an existing guest, running or off: never reformatted
    for state, actions in (("running", []), ("destroyed", ["destroy"]), ("destroyed", [])):
        unchanged = run_module("libvirt_guest", dict(args, state=state, tmp_disk=dict(args["tmp_disk"],
                                                                                      filesystem="none")))
        assert unchanged["actions"] == actions and unchanged["changes"] == [], unchanged
        assert superblock(tmp)["Filesystem UUID"] == fs["Filesystem UUID"]
    gone = run_module("libvirt_guest", dict(name=host, uri=URI, state_dir=STATE_DIR, state="absent"))
    assert gone["changed"] and not os.path.exists(tmp)


def test_none_leaves_the_tmp_disk_unformatted(guest):
    host = guest("t7-tmpfs")
    tmp = os.path.join(STATE_DIR, host + ".tmp.raw")
    for tmp_disk in (dict(size="64M", filesystem="none"), dict(size="64M")):
        made = run_module("libvirt_guest", fast_guest(host, state="defined", tmp_disk=tmp_disk))
        assert made["actions"] == ["create_tmp_disk", "define"], made
        assert os.stat(tmp).st_size == 64 * 1024 ** 2 and os.stat(tmp).st_blocks == 0
        assert magic(tmp) == b"\0\0"
        assert subprocess.run([tool("blkid"), "-p", tmp], capture_output=True, check=False).returncode == 2
        run_module("libvirt_guest", dict(name=host, uri=URI, state_dir=STATE_DIR, state="absent"))
