# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""guest_files: the names of a guest's files, reading its console log, and the tmp disk's filesystem."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess

import pytest
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import errors as le
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import guest_files as gf


def test_files_are_named_after_the_guest():
    assert gf.guest_files("vm-deb12-005", "/d") == {
        "overlay": "/d/vm-deb12-005.qcow2", "tmp_disk": "/d/vm-deb12-005.tmp.raw",
        "console_log": "/d/vm-deb12-005.console.log"}


def test_console_tail_of_missing_file():
    assert gf.console_tail("/nonexistent/console.log") == [] and gf.console_tail(None) == []


# ------------------------------------------------------------ tmp disk filesystem
FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
MKFS_EXT4 = shutil.which("mkfs.ext4") or next(
    (p for p in ("/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4") if os.access(p, os.X_OK)), None)
needs_mkfs = pytest.mark.skipif(MKFS_EXT4 is None, reason="mkfs.ext4 (e2fsprogs) is not installed")
EXT4_MAGIC_OFFSET = 1024 + 56   # s_magic in the superblock, little-endian 0xEF53


def ext4_magic(path):
    with open(path, "rb") as handle:
        handle.seek(EXT4_MAGIC_OFFSET)
        return handle.read(2)


def run_argv(argv):
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout, done.stderr


class Recorder(object):
    """A runner that records argv and answers with a fixed (rc, stdout, stderr)."""

    def __init__(self, rc=0, out="", err=""):
        self.calls = []
        self.answer = (rc, out, err)

    def __call__(self, argv):
        self.calls.append(list(argv))
        return self.answer


def test_ext4_tmp_disk_runs_mkfs_ext4_as_an_argv_list(tmp_path):
    runner = Recorder()
    path = str(tmp_path / "vms" / "vm-deb12-005.tmp.raw")
    gf.GuestFiles(runner, mkfs_ext4="/usr/sbin/mkfs.ext4").create_tmp_disk(path, 16 * 1024 ** 2, "ext4")
    assert runner.calls == [["/usr/sbin/mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal", "-E",
                             "lazy_itable_init=1,lazy_journal_init=1,nodiscard,root_owner=0:0", path]]
    assert os.stat(path).st_size == 16 * 1024 ** 2


@pytest.mark.parametrize("filesystem", [None, "none"])
def test_a_tmp_disk_without_filesystem_runs_nothing(tmp_path, filesystem):
    runner = Recorder()
    path = str(tmp_path / "t.tmp.raw")
    files = gf.GuestFiles(runner, mkfs_ext4=None)   # not needed, so not missed
    if filesystem is None:
        files.create_tmp_disk(path, 1024 ** 2)
    else:
        files.create_tmp_disk(path, 1024 ** 2, filesystem)
    assert runner.calls == [] and os.stat(path).st_size == 1024 ** 2 and ext4_magic(path) == b"\0\0"


def test_a_failed_mkfs_removes_the_half_made_file(tmp_path):
    with open(os.path.join(FIXTURES, "mkfs_ext4_too_small.stderr")) as handle:
        stderr = handle.read()   # mkfs.ext4 1.47.0 on an 8 KiB file
    path = str(tmp_path / "t.tmp.raw")
    with pytest.raises(le.GuestFileError) as caught:
        gf.GuestFiles(Recorder(rc=1, err=stderr)).create_tmp_disk(path, 8192, "ext4")
    assert caught.value.message == (
        "mkfs.ext4 could not make a filesystem on the tmp disk %s (rc 1): mk2.raw: Not enough space to build "
        "proposed filesystem while setting up superblock" % path)
    assert caught.value.details["stderr"] == stderr and caught.value.details["cmd"][0] == "mkfs.ext4"
    assert os.listdir(str(tmp_path)) == []


def test_a_missing_mkfs_fails_before_the_file_is_made(tmp_path):
    runner = Recorder()
    path = str(tmp_path / "vms" / "t.tmp.raw")
    with pytest.raises(le.GuestFileError) as caught:
        gf.GuestFiles(runner, mkfs_ext4=None).create_tmp_disk(path, 1024 ** 2, "ext4")
    assert caught.value.message == ("cannot make an ext4 filesystem on the tmp disk %s: mkfs.ext4 was not found "
                                    "(install e2fsprogs, or use tmp_disk.filesystem none)" % path)
    assert runner.calls == [] and os.listdir(str(tmp_path)) == []


def test_an_unknown_filesystem_is_refused(tmp_path):
    with pytest.raises(le.GuestFileError, match="unknown tmp disk filesystem 'xfs'"):
        gf.GuestFiles(Recorder()).create_tmp_disk(str(tmp_path / "t.tmp.raw"), 1024 ** 2, "xfs")
    assert os.listdir(str(tmp_path)) == []


@needs_mkfs
def test_real_mkfs_ext4_makes_a_sparse_scratch_filesystem(tmp_path):
    path = str(tmp_path / "t.tmp.raw")
    gf.GuestFiles(run_argv, mkfs_ext4=MKFS_EXT4).create_tmp_disk(path, 64 * 1024 ** 2, "ext4")
    assert ext4_magic(path) == b"\x53\xef"
    assert os.stat(path).st_size == 64 * 1024 ** 2
    assert os.stat(path).st_blocks * 512 < 4 * 1024 ** 2    # still sparse: lazy init, no discard, no journal
    dumpe2fs = shutil.which("dumpe2fs") or "/usr/sbin/dumpe2fs"
    if os.access(dumpe2fs, os.X_OK):
        rc, out, _err = run_argv([dumpe2fs, "-h", path])
        features = [line for line in out.splitlines() if line.startswith("Filesystem features:")][0]
        assert rc == 0 and "has_journal" not in features and "extent" in features
        assert "Filesystem volume name:   <none>" in out and "Reserved block count:     0" in out


@needs_mkfs
def test_real_mkfs_ext4_that_fails_leaves_no_file(tmp_path):
    path = str(tmp_path / "t.tmp.raw")
    with pytest.raises(le.GuestFileError, match="Not enough space to build proposed filesystem"):
        gf.GuestFiles(run_argv, mkfs_ext4=MKFS_EXT4).create_tmp_disk(path, 8192, "ext4")
    assert os.listdir(str(tmp_path)) == []
