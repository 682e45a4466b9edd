# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base image versions (base_image.py) on real files: a small qcow2 made by qemu-img, hashed for real,
the checksum cache on disk (also under concurrent writers), the refusal of a base overwritten in place,
and the version's round trip through the domain metadata."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import multiprocessing
import os
import shutil
import stat
import subprocess

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import base_image as bi
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.domain_build import build_domain_xml
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.domain_read import extract_spec
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.errors import BaseImageChanged, GuestFileError

QEMU_IMG = shutil.which("qemu-img")
pytestmark = pytest.mark.skipif(QEMU_IMG is None, reason="qemu-img (qemu-utils) is not installed")


def make_qcow2(path, size="8M", data=None):
    """A real qcow2 by qemu-img; data written into it (through qemu-io) makes its content differ."""
    subprocess.run([QEMU_IMG, "create", "-q", "-f", "qcow2", str(path), size], check=True)
    if data is not None:
        raw = path.with_suffix(".raw")
        raw.write_bytes(data)
        subprocess.run([QEMU_IMG, "convert", "-q", "-f", "raw", "-O", "qcow2", str(raw), str(path)], check=True)
        raw.unlink()
    return path


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def base(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    return make_qcow2(images / "disk.qcow2", data=os.urandom(3 * 1024 * 1024))


@pytest.fixture
def vms(tmp_path):
    return tmp_path / "vms"


def overwrite_in_place(path, content):
    """New content at the same path and inode, as `cp new.qcow2 disk.qcow2` does."""
    inode = path.stat().st_ino
    with open(str(path), "r+b") as handle:
        handle.truncate(0)
        handle.write(content)
    assert path.stat().st_ino == inode


def test_the_checksum_is_the_files_streamed_in_chunks(base, monkeypatch):
    monkeypatch.setattr(bi, "CHUNK", 50000)   # many chunks, and a last short one
    digest, st = bi.sha256_file(str(base))
    assert digest == sha(base) and st.st_size == base.stat().st_size and st.st_size % 50000


def test_a_base_is_hashed_once_per_version_per_hypervisor(base, vms):
    first = bi.Sha256Cache(str(vms))
    facts = bi.base_facts(str(base), None, first)
    assert facts == {"path": str(base), "size": base.stat().st_size, "mtime": base.stat().st_mtime_ns / 1e9,
                     "sha256": sha(base), "hashed": True}
    assert not vms.exists()   # nothing written before flush (a refused task leaves nothing)
    assert first.flush() and first.hashed == [str(base)]
    cache_file = vms / bi.CACHE_FILE
    assert stat.S_IMODE(cache_file.stat().st_mode) == 0o600
    [entry] = json.loads(cache_file.read_text())["entries"].values()
    assert entry["sha256"] == sha(base) and entry["inode"] == base.stat().st_ino
    assert entry["mtime_ns"] == base.stat().st_mtime_ns and entry["size"] == base.stat().st_size

    # the next guest on this hypervisor (another process, another cache object): no read of the file
    second = bi.Sha256Cache(str(vms))
    again = bi.base_facts(str(base), None, second)
    assert again == dict(facts, hashed=False) and second.hashed == [] and not second.flush()


def test_a_recorded_version_with_the_files_path_size_and_mtime_is_trusted(base, vms, monkeypatch):
    record = bi.check_base_record({"path": str(base), "size": base.stat().st_size,
                                   "mtime": base.stat().st_mtime_ns / 1e9, "sha256": sha(base).upper()})
    monkeypatch.setattr(bi, "sha256_file", lambda path: pytest.fail("hashed %s despite the record" % path))
    facts = bi.base_facts(str(base), record, bi.Sha256Cache(str(vms)))
    assert facts["sha256"] == sha(base) and facts["hashed"] is False
    bi.check_record(facts, record, "disk")


def test_a_touched_base_with_the_same_content_passes_after_one_hash(base, vms):
    record = bi.base_facts(str(base))
    os.utime(str(base), ns=(base.stat().st_atime_ns, base.stat().st_mtime_ns + 5 * 10 ** 9))
    cache = bi.Sha256Cache(str(vms))
    facts = bi.base_facts(str(base), bi.check_base_record(record), cache)
    assert facts["hashed"] and facts["sha256"] == record["sha256"] and facts["mtime"] != record["mtime"]
    bi.check_record(facts, record, "disk")


def test_a_base_overwritten_in_place_is_refused_with_the_image_and_both_versions(base, vms):
    record = bi.check_base_record(bi.base_facts(str(base)))
    cache = bi.Sha256Cache(str(vms))
    bi.base_facts(str(base), None, cache)
    cache.flush()
    overwrite_in_place(base, make_qcow2(base.parent / "new.qcow2", data=os.urandom(2 * 1024 * 1024)).read_bytes())
    later = bi.Sha256Cache(str(vms))
    facts = bi.base_facts(str(base), record, later)
    assert facts["hashed"] and facts["sha256"] == sha(base) != record["sha256"]   # the cache knew the old version only
    with pytest.raises(BaseImageChanged) as caught:
        bi.check_record(facts, record, "disk")
    msg = caught.value.message
    assert msg.startswith("image disk: the base image %s was changed in place: its recorded version is sha256 %s "
                          "(%d bytes, mtime " % (base, record["sha256"], record["size"])), msg
    assert "the file now is sha256 %s (%d bytes" % (facts["sha256"], facts["size"]) in msg
    assert "give a new version a new file name" in msg and "slurm_vm_images.<image>.version" in msg
    result = caught.value.to_result()
    assert result["error"] == "BaseImageChanged" and result["image"] == "disk" and result["path"] == str(base)
    assert result["recorded"]["sha256"] == record["sha256"] and result["current"]["sha256"] == facts["sha256"]


def test_a_file_replaced_while_it_is_read_is_read_again(base, monkeypatch):
    original = os.fstat
    calls = []

    def fstat(fd):
        st = original(fd)
        calls.append(st)
        if len(calls) == 2:   # the first read's 'after': pretend the file changed meanwhile
            return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid,
                                   st.st_size + 1, st.st_atime, st.st_mtime, st.st_ctime))
        return st
    monkeypatch.setattr(bi.os, "fstat", fstat)
    assert bi.sha256_file(str(base))[0] == sha(base) and len(calls) == 4

    def growing(fd):   # a file that never holds still
        st = original(fd)
        calls.append(st)
        return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid,
                               st.st_size + len(calls), st.st_atime, st.st_mtime, st.st_ctime))
    monkeypatch.setattr(bi.os, "fstat", growing)
    with pytest.raises(GuestFileError, match="changed while it was read"):
        bi.sha256_file(str(base))


def test_check_mode_hashes_but_never_writes_the_cache(base, vms):
    cache = bi.Sha256Cache(str(vms), writable=False)
    assert bi.base_facts(str(base), None, cache)["hashed"] and not cache.flush() and not vms.exists()


def test_a_damaged_cache_file_is_ignored_and_rewritten(base, vms):
    vms.mkdir()
    (vms / bi.CACHE_FILE).write_text("{not json")
    cache = bi.Sha256Cache(str(vms))
    assert bi.base_facts(str(base), None, cache)["hashed"] and cache.flush()
    assert len(json.loads((vms / bi.CACHE_FILE).read_text())["entries"]) == 1


def test_the_cache_forgets_files_that_changed_or_went(tmp_path, vms):
    files = [make_qcow2(tmp_path / ("b%d.qcow2" % index)) for index in range(3)]
    cache = bi.Sha256Cache(str(vms))
    for path in files:
        cache.sha256(str(path))
    cache.flush()
    files[0].unlink()
    os.utime(str(files[1]), ns=(0, files[1].stat().st_mtime_ns + 10 ** 9))
    later = bi.Sha256Cache(str(vms))
    later.sha256(str(files[2]))
    later.pending = {"x": {"path": str(files[2]), "size": 0, "mtime_ns": 0, "inode": 0, "sha256": "0" * 64}}
    later.flush()
    entries = json.loads((vms / bi.CACHE_FILE).read_text())["entries"]
    assert [entry["path"] for entry in entries.values()] == [str(files[2])]


def test_a_cache_that_cannot_be_written_warns_and_the_checksum_stands(base, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    cache = bi.Sha256Cache(str(blocker / "vms"))
    assert bi.base_facts(str(base), None, cache)["sha256"] == sha(base)
    assert not cache.flush() and "the checksum cache is not kept: cannot create" in cache.warnings[0]


def _hash_and_flush(args):
    directory, path = args
    cache = bi.Sha256Cache(directory)
    digest = cache.sha256(path)[0]
    cache.flush()
    return digest


def test_concurrent_spawns_on_one_hypervisor_keep_every_entry(tmp_path, vms):
    paths = [str(make_qcow2(tmp_path / ("c%02d.qcow2" % index), size="%dM" % (index + 1))) for index in range(12)]
    with multiprocessing.get_context("fork").Pool(6) as pool:
        digests = pool.map(_hash_and_flush, [(str(vms), path) for path in paths] * 2)
    data = json.loads((vms / bi.CACHE_FILE).read_text())
    assert sorted(entry["path"] for entry in data["entries"].values()) == paths
    assert {entry["path"]: entry["sha256"] for entry in data["entries"].values()} == dict(zip(paths, digests[:12]))
    assert sorted(os.listdir(str(vms))) == [bi.CACHE_FILE, bi.LOCK_FILE]   # no temporary file left


@pytest.mark.parametrize("record, message", [
    ({"path": "/i/d.qcow2", "size": 1, "mtime": 2.0}, "base_record lacks sha256"),
    ({"path": "d.qcow2", "size": 1, "mtime": 2.0, "sha256": "a" * 64}, "base_record.path must be an absolute path"),
    ({"path": "/i/d.qcow2", "size": 1, "mtime": 2.0, "sha256": "xyz"}, "base_record.sha256 must be 64 hex digits"),
    ({"path": "/i/d.qcow2", "size": "big", "mtime": 2.0, "sha256": "a" * 64}, "base_record: size must be a whole"),
    ({"path": "/i/d.qcow2", "size": 1.5, "mtime": 2.0, "sha256": "a" * 64}, "base_record.size must be a whole"),
    ({"path": "/i/d.qcow2", "size": -1, "mtime": 2.0, "sha256": "a" * 64}, "base_record.size must be a whole"),
    ("abc", "base_record must be a mapping"),
])
def test_a_malformed_record_is_refused(record, message):
    with pytest.raises(InvalidInput) as caught:
        bi.check_base_record(record)
    assert caught.value.message.startswith(message)


def test_the_version_round_trips_through_the_domain_metadata(base, tmp_path):
    facts = bi.base_facts(str(base))
    spec = {"name": "vm-disk-001", "virt_type": "qemu", "memory_kib": 262144, "vcpus": 1,
            "metadata": dict(bi.base_metadata(facts), image="disk", image_version="2026.11-a1b2c3d4"),
            "base_image": str(base), "disks": [], "interfaces": [], "filesystems": []}
    read = extract_spec(build_domain_xml(spec))["metadata"]
    assert read["image_version"] == "2026.11-a1b2c3d4"
    recorded = bi.recorded_base(read)
    assert recorded == {"path": str(base), "size": facts["size"], "mtime": facts["mtime"], "sha256": facts["sha256"]}
    assert bi.same_stat(recorded, str(base), base.stat())
    assert bi.recorded_base({"base_path": str(base)}) is None and bi.recorded_base(None) is None


def test_base_change_of_a_running_guest(base, vms, monkeypatch):
    recorded = bi.check_base_record(bi.base_facts(str(base)))
    cache = bi.Sha256Cache(str(vms))
    assert bi.base_change(None, cache, "disk") == (None, None)
    assert bi.base_change(recorded, cache, "disk") == (False, None) and cache.hashed == []

    os.utime(str(base), ns=(0, base.stat().st_mtime_ns + 10 ** 9))   # touched: hashed once, unchanged
    assert bi.base_change(recorded, cache, "disk") == (False, None)
    assert bi.base_change(recorded, cache, "disk") == (False, None) and cache.hashed == [str(base)]

    overwrite_in_place(base, b"QFI\xfb" + os.urandom(4096))
    changed, reason = bi.base_change(recorded, cache, "disk")
    assert changed is True and reason.startswith(
        "image disk: the base image %s under this guest's overlay was changed in place: the guest was created on "
        "sha256 %s" % (base, recorded["sha256"])), reason
    assert "the file now is sha256 %s (4100 bytes" % sha(base) in reason

    base.unlink()
    changed, reason = bi.base_change(recorded, cache, "disk")
    assert changed is True and reason.startswith("image disk: the base image %s under this guest's overlay is gone"
                                                 % base), reason
