# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt_guest and libvirt_guest_info with base image versions, against libvirt's real test:///default
driver and real files: a qcow2 made by qemu-img, overlays made by qemu-img, real hashing. A base
overwritten in place is refused before anything is created; the version lands in the metadata and
comes back from the _info module with base_changed."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import shutil
import subprocess

import pytest

libvirt = pytest.importorskip("libvirt")

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput  # noqa: E402
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import base_image as bi  # noqa: E402
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import client as lc  # noqa: E402
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import guest_files as gf  # noqa: E402
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.errors import BaseImageChanged  # noqa: E402
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.run import (  # noqa: E402
    ensure_guest,
    guest_base_versions,
)
from ansible_collections.hpc.slurm_vm.plugins.modules import libvirt_guest, libvirt_guest_info  # noqa: E402

QEMU_IMG = shutil.which("qemu-img")
pytestmark = pytest.mark.skipif(QEMU_IMG is None, reason="qemu-img (qemu-utils) is not installed")
NAMES = ("t7-base", "t7-base-2", "t7-kernel")


def _clean():
    c = lc.LibvirtClient("test:///default")
    c.destroy("test")
    for name in NAMES:
        c.destroy(name)
        c.undefine(name)
    c.close()


@pytest.fixture(autouse=True)
def clean_test_driver():
    _clean()
    yield
    _clean()


@pytest.fixture
def client():
    c = lc.LibvirtClient("test:///default")
    yield c
    c.close()


class QemuImg(object):
    """The real qemu-img, with its calls recorded."""

    def __init__(self):
        self.calls = []

    def __call__(self, argv):
        self.calls.append(list(argv))
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        return done.returncode, done.stdout, done.stderr


@pytest.fixture
def env(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    base = images / "disk.qcow2"
    subprocess.run([QEMU_IMG, "create", "-q", "-f", "qcow2", str(base), "16M"], check=True)
    (images / "vmlinux").write_bytes(b"kernel")
    return dict(images=images, base=base, state_dir=tmp_path / "vms", runner=QemuImg())


def params(env, **extra):
    args = dict(name="t7-base", state_dir=str(env["state_dir"]), virt_type="qemu", memory=256, vcpus=1,
                image=str(env["base"]), image_dir=str(env["images"]), tmp_disk=dict(size="16M", serial="hpcvm-tmp"),
                metadata=dict(image="disk"), image_version="2026.11-a1b2c3d4", state="running")
    args.update(extra)
    return args


def files(env):
    return gf.GuestFiles(env["runner"], qemu_img=QEMU_IMG)


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record_of(base_result):
    return {key: base_result[key] for key in ("path", "size", "mtime", "sha256")}


def overwrite_in_place(path, size="32M"):
    """A new qcow2 copied over the base at the same path (same inode): new content, new size and mtime."""
    new = path.parent / "new.qcow2"
    subprocess.run([QEMU_IMG, "create", "-q", "-f", "qcow2", str(new), size], check=True)
    inode = path.stat().st_ino
    with open(str(path), "r+b") as handle:
        handle.truncate(0)
        handle.write(new.read_bytes() + b"\0" * 4096)
    new.unlink()
    assert path.stat().st_ino == inode


def guest_files_left(env):
    if not env["state_dir"].exists():
        return []
    return sorted(name for name in os.listdir(str(env["state_dir"])) if not name.startswith(".base-sha256"))


def test_first_guest_hashes_records_the_version_and_the_next_trusts_it(client, env):
    check = ensure_guest(params(env), client, files(env), check_mode=True)
    assert check["base"] == {"path": str(env["base"]), "size": env["base"].stat().st_size,
                             "mtime": env["base"].stat().st_mtime_ns / 1e9, "sha256": sha(env["base"]),
                             "hashed": True}
    assert not env["state_dir"].exists() and client.lookup("t7-base") is None   # check mode wrote nothing

    first = ensure_guest(params(env), client, files(env))
    assert first["base"] == check["base"] and first["actions"][0] == "create_overlay"
    meta = client.current("t7-base")["spec"]["metadata"]
    assert meta == {"image": "disk", "image_version": "2026.11-a1b2c3d4", "base_path": str(env["base"]),
                    "base_size": str(env["base"].stat().st_size), "base_mtime": repr(first["base"]["mtime"]),
                    "base_sha256": sha(env["base"])}
    assert not ensure_guest(params(env), client, files(env))["changed"]   # idempotent, version and all

    # a second VM of that version: the scheduler hands back what base said; the file is not read
    second = ensure_guest(params(env, name="t7-base-2", base_record=record_of(first["base"])), client, files(env))
    assert second["base"] == dict(first["base"], hashed=False) and second["state"] == "running"
    # without the record, the hypervisor's checksum cache knows the file: not read either
    third = ensure_guest(params(env, name="t7-base-2", state="absent"), client, files(env))
    assert third["base"] is None
    fourth = ensure_guest(params(env, name="t7-base-2"), client, files(env))
    assert fourth["base"]["hashed"] is False and fourth["base"]["sha256"] == sha(env["base"])


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_base_overwritten_in_place_is_refused_and_nothing_is_created(client, env, check_mode):
    first = ensure_guest(params(env), client, files(env))
    record = record_of(first["base"])
    before = sha(env["base"])
    overwrite_in_place(env["base"])
    env["runner"].calls.clear()
    with pytest.raises(BaseImageChanged) as caught:
        ensure_guest(params(env, name="t7-base-2", base_record=record), client, files(env), check_mode=check_mode)
    msg = caught.value.message
    assert msg.startswith("image disk: the base image %s was changed in place: its recorded version is sha256 %s"
                          % (env["base"], before)), msg
    assert "the file now is sha256 %s" % sha(env["base"]) in msg and "new version" in msg
    assert client.lookup("t7-base-2") is None and env["runner"].calls == []
    assert guest_files_left(env) == ["t7-base.qcow2", "t7-base.tmp.raw"]   # the first guest's only

    # the running guest on the old content: libvirt_guest_info says so, with the image's name
    guests = guest_base_versions(client.list_guests(), bi.Sha256Cache(str(env["state_dir"])))
    [guest] = [g for g in guests if g["name"] == "t7-base"]
    assert guest["image_version"] == "2026.11-a1b2c3d4" and guest["base"]["sha256"] == before
    assert guest["base_changed"] is True
    assert guest["base_changed_reason"].startswith("image disk: the base image %s under this guest's overlay was "
                                                   "changed in place" % env["base"])
    # re-applying the existing guest (its own recorded version) is refused the same way; stopping it is not
    with pytest.raises(BaseImageChanged):
        ensure_guest(params(env), client, files(env), check_mode=True)
    stopped = ensure_guest(params(env, state="destroyed"), client, files(env))
    assert stopped["state"] == "shutoff" and client.current("t7-base")["spec"]["metadata"]["base_sha256"] == before
    assert ensure_guest(params(env, state="absent"), client, files(env))["state"] == "absent"


def test_a_touched_base_with_the_same_content_is_not_a_change(client, env):
    first = ensure_guest(params(env), client, files(env))
    st = env["base"].stat()
    os.utime(str(env["base"]), ns=(st.st_atime_ns, st.st_mtime_ns + 3 * 10 ** 9))
    second = ensure_guest(params(env, name="t7-base-2", base_record=record_of(first["base"])), client, files(env))
    assert second["base"]["hashed"] is True and second["base"]["sha256"] == first["base"]["sha256"]
    cache = bi.Sha256Cache(str(env["state_dir"]))
    guests = guest_base_versions(client.list_guests(), cache)
    assert [(g["name"], g["base_changed"]) for g in guests] == [("t7-base", False), ("t7-base-2", False)]
    assert cache.hashed == []   # the second guest's spawn left the touched file's checksum in the cache


def test_a_direct_kernel_guest_has_no_base_but_its_version(client, env):
    result = ensure_guest(params(env, name="t7-kernel", image=None, kernel=str(env["images"] / "vmlinux")), client,
                          files(env))
    assert result["base"] is None and "base" not in result["timings"]
    [guest] = guest_base_versions(client.list_guests(names=["t7-kernel"]), bi.Sha256Cache(None))
    assert guest["image_version"] == "2026.11-a1b2c3d4" and guest["base"] is None
    assert guest["base_changed"] is None and guest["base_changed_reason"] is None


def test_a_base_that_is_gone_is_reported(client, env):
    ensure_guest(params(env), client, files(env))
    env["base"].unlink()
    [guest] = guest_base_versions(client.list_guests(), bi.Sha256Cache(str(env["state_dir"])))
    assert guest["base_changed"] is True and "overlay is gone" in guest["base_changed_reason"]


@pytest.mark.parametrize("extra, message", [
    (dict(metadata=dict(image="disk", base_sha256="0" * 64)), "metadata.base_sha256 is set by the module"),
    (dict(metadata=dict(image="disk", image_version="old")), "metadata.image_version 'old' and image_version"),
    (dict(base_record=dict(path="/x", size=1, mtime=1.0, sha256="nothex")), "base_record.sha256 must be 64 hex"),
])
def test_conflicting_or_malformed_version_input_is_refused_first(client, env, extra, message):
    with pytest.raises(InvalidInput) as caught:
        ensure_guest(params(env, **extra), client, files(env))
    assert caught.value.message.startswith(message)
    assert client.lookup("t7-base") is None and guest_files_left(env) == []


def test_modules_take_and_return_the_version(run_module, env, client):
    assert client.lookup("t7-base") is None   # an open connection keeps the test driver's domains between modules
    args = dict(params(env), uri="test:///default")
    kind, first = run_module(libvirt_guest.main, args)
    assert kind == "exit" and first["base"]["hashed"] is True
    kind, result = run_module(libvirt_guest_info.main, dict(uri="test:///default", state_dir=str(env["state_dir"])))
    [guest] = [g for g in result["guests"] if g["name"] == "t7-base"]
    assert guest["base_changed"] is False and guest["image_version"] == "2026.11-a1b2c3d4"
    assert guest["base"] == record_of(first["base"])

    overwrite_in_place(env["base"])
    for check_mode in (True, False):
        kind, result = run_module(libvirt_guest.main, dict(args, name="t7-base-2", base_record=record_of(first["base"]),
                                                           _ansible_check_mode=check_mode))
        assert kind == "fail" and result["error"] == "BaseImageChanged" and result["changed"] is False
        assert result["image"] == "disk" and result["msg"].startswith("image disk: the base image")
    assert client.lookup("t7-base-2") is None
    kind, result = run_module(libvirt_guest_info.main, dict(uri="test:///default", state_dir=str(env["state_dir"]),
                                                            _ansible_check_mode=True))
    assert [g["base_changed"] for g in result["guests"] if g["name"] == "t7-base"] == [True]
