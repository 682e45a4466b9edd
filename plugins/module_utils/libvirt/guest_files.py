# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The files beside a guest: where they live, and creating and removing them.

guest_files(name, state_dir) names a guest's overlay, tmp disk and console log.
GuestFiles creates and removes them (the qcow2 overlay through qemu-img, run as
an argv list by an injected runner; the sparse raw tmp disk, made an ext4
filesystem by mkfs.ext4 on request; the console log), and console_tail/read_console
read the console log.  Typed errors, no fail_json.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.errors import DiskSpaceError, GuestFileError

CONSOLE_TAIL_LINES = 20
TMP_DISK_FILESYSTEMS = ("none", "ext4")
# A scratch /tmp: no label, no journal, no reserved blocks, root's root directory (the guest
# chmods it 1777); lazy init and nodiscard keep the sparse file sparse and mkfs at milliseconds.
MKFS_EXT4_OPTIONS = ("-q", "-F", "-m", "0", "-O", "^has_journal",
                     "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard,root_owner=0:0")


def guest_files(name, state_dir):
    """The per-guest files the module creates and removes, named after the guest."""
    return {
        "overlay": os.path.join(state_dir, name + ".qcow2"),
        "tmp_disk": os.path.join(state_dir, name + ".tmp.raw"),
        "console_log": os.path.join(state_dir, name + ".console.log"),
    }


def read_console(path, offset):
    """The console log from byte offset on: (text, new offset); starts over when the log was truncated."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < offset:   # truncated by a restart
                offset = 0
            handle.seek(offset)
            data = handle.read()
    except OSError:
        return "", offset
    return data.decode("utf-8", "replace"), offset + len(data)


def console_tail(path, lines=CONSOLE_TAIL_LINES):
    """The last lines of a console log (empty when there is none)."""
    if not path:
        return []
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 16384))
            data = handle.read().decode("utf-8", "replace")
    except OSError:
        return []
    return [line.rstrip("\r") for line in data.splitlines() if line.strip()][-lines:]


class GuestFiles(object):
    """The files beside a guest. runner(argv) -> (rc, stdout, stderr) runs qemu-img and mkfs.ext4.

    mkfs_ext4: the path of mkfs.ext4, or None when it was not found (asking for an ext4 tmp disk then fails).
    """

    def __init__(self, runner, qemu_img="qemu-img", mkfs_ext4="mkfs.ext4"):
        self.runner = runner
        self.qemu_img = qemu_img
        self.mkfs_ext4 = mkfs_ext4

    @staticmethod
    def size(path):
        try:
            return os.stat(path).st_size
        except OSError:
            return None

    def exists(self, path):
        return self.size(path) is not None

    @staticmethod
    def free_bytes(directory):
        while directory and not os.path.isdir(directory):
            directory = os.path.dirname(directory)
        st = os.statvfs(directory or "/")
        return st.f_bavail * st.f_frsize

    def check_space(self, path, size):
        free = self.free_bytes(os.path.dirname(path))
        if size > free:
            raise DiskSpaceError(
                "tmp disk %s of %d MiB does not fit: %d MiB free in %s" % (
                    path, size // 1024 ** 2, free // 1024 ** 2, os.path.dirname(path)),
                path=path, size=size, free=free)

    @staticmethod
    def _mkdir(path):
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            try:
                os.makedirs(directory, 0o755)
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise GuestFileError("cannot create %s: %s" % (directory, exc)) from None

    def create_overlay(self, path, base, base_format="qcow2"):
        """A copy-on-write qcow2 on top of base (qemu-img create -b base -F fmt)."""
        self._mkdir(path)
        self.remove(path)
        argv = [self.qemu_img, "create", "-q", "-f", "qcow2", "-b", base, "-F", base_format, path]
        rc, out, err = self.runner(argv)
        if rc != 0:
            self.remove(path)
            raise GuestFileError("qemu-img could not create the overlay %s on %s: %s" % (
                path, base, (err or out).strip()), cmd=argv, rc=rc, stdout=out, stderr=err)

    def check_filesystem_tool(self, path, filesystem):
        """Raise before anything is made when the tool for filesystem (other than none) is missing."""
        if filesystem != "none" and not self.mkfs_ext4:
            raise GuestFileError("cannot make an ext4 filesystem on the tmp disk %s: mkfs.ext4 was not found "
                                 "(install e2fsprogs, or use tmp_disk.filesystem none)" % path, path=path)

    def create_tmp_disk(self, path, size, filesystem="none"):
        """A sparse raw file of size bytes, found by the guest by its serial.

        filesystem none leaves it empty (the guest formats it); ext4 makes a scratch ext4 filesystem
        on it here, so the guest only mounts it. A file that fails half-way is removed.
        """
        if filesystem not in TMP_DISK_FILESYSTEMS:
            raise GuestFileError("unknown tmp disk filesystem %r (known: %s)" % (
                filesystem, ", ".join(TMP_DISK_FILESYSTEMS)), path=path)
        self.check_filesystem_tool(path, filesystem)
        self._mkdir(path)
        self.check_space(path, size)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.ftruncate(fd, size)
            finally:
                os.close(fd)
        except OSError as exc:
            self.remove(path)
            raise GuestFileError("cannot create tmp disk %s: %s" % (path, exc), path=path) from None
        if filesystem == "ext4":
            self._make_ext4(path)

    def _make_ext4(self, path):
        argv = [self.mkfs_ext4] + list(MKFS_EXT4_OPTIONS) + [path]
        rc, out, err = self.runner(argv)
        if rc != 0:
            self.remove(path)
            raise GuestFileError("mkfs.ext4 could not make a filesystem on the tmp disk %s (rc %s): %s" % (
                path, rc, (err or out).strip()), path=path, cmd=argv, rc=rc, stdout=out, stderr=err)

    def reset_console_log(self, path):
        """Empty the console log before a start, so a wait sees this boot only."""
        if self.exists(path):
            try:
                with open(path, "r+b") as handle:
                    handle.truncate(0)
            except OSError as exc:
                raise GuestFileError("cannot truncate console log %s: %s" % (path, exc), path=path) from None

    @staticmethod
    def remove(path):
        try:
            os.unlink(path)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return False
            raise GuestFileError("cannot remove %s: %s" % (path, exc), path=path) from None
        return True
