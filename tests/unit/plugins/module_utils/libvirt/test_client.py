# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""LibvirtClient, GuestFiles and ensure_guest against libvirt's real test:///default
driver (in-memory, one connection per test), plus both modules' main()."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import shutil
import subprocess

import pytest

libvirt = pytest.importorskip("libvirt")

from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import base_image  # noqa: E402
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import client as lc  # noqa: E402
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import errors as le  # noqa: E402
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import guest_files as gf  # noqa: E402
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput  # noqa: E402
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.run import ensure_guest  # noqa: E402
from ansible_collections.hpc.slurm_vm.plugins.modules import libvirt_guest, libvirt_guest_info  # noqa: E402


class Runner(object):
    """Records argv; 'creates' the overlay like qemu-img would."""

    def __init__(self, rc=0, err=""):
        self.calls = []
        self.rc = rc
        self.err = err

    def __call__(self, argv):
        self.calls.append(list(argv))
        if self.rc == 0:
            with open(argv[-1], "wb") as handle:
                handle.write(b"QFI\xfb")
        return self.rc, "", self.err


def _clean_test_driver():
    # test:///default is one in-memory hypervisor per process, shared by every connection
    c = lc.LibvirtClient("test:///default")
    c.destroy("test")   # the driver's sample domain: keep it out of the way
    for name in ("t7-unit", "t7-foreign"):
        c.destroy(name)
        c.undefine(name)
    c.close()


@pytest.fixture(autouse=True)
def clean_test_driver():
    _clean_test_driver()
    yield
    _clean_test_driver()


@pytest.fixture
def client():
    c = lc.LibvirtClient("test:///default")
    yield c
    c.close()


@pytest.fixture
def env(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for name in ("base.qcow2", "vmlinux"):
        (images / name).write_bytes(b"x")
    return dict(images=images, state_dir=tmp_path / "vms")


def guest_files_left(env):
    """The files in the VM folder, but the base images' checksum cache (kept across guests on purpose)."""
    return sorted(name for name in os.listdir(str(env["state_dir"]))
                  if name not in (base_image.CACHE_FILE, base_image.LOCK_FILE))


def params(env, **extra):
    base = dict(name="t7-unit", state_dir=str(env["state_dir"]), virt_type="qemu", memory=256, vcpus=1,
                mac="52:54:00:77:01:05", bridge="br-hpcvm", image=str(env["images"] / "base.qcow2"),
                image_dir=str(env["images"]), tmp_disk=dict(size="16M", serial="hpcvm-tmp"),
                metadata=dict(image="deb12"), state="running")
    base.update(extra)
    return base


def test_matrix_check_real_repeat_modify_absent(client, env):
    runner = Runner()
    files = gf.GuestFiles(runner)
    overlay = env["state_dir"] / "t7-unit.qcow2"
    tmp = env["state_dir"] / "t7-unit.tmp.raw"

    check = ensure_guest(params(env), client, files, check_mode=True)
    assert check["changed"] and check["actions"] == ["create_overlay", "create_tmp_disk", "define", "start"]
    assert client.lookup("t7-unit") is None and not overlay.exists() and runner.calls == []
    assert check["diff"]["before"] == "" and "<name>t7-unit</name>" in check["diff"]["after"]

    real = ensure_guest(params(env), client, files)
    assert real["changed"] and real["actions"] == check["actions"] and real["state"] == "running"
    assert runner.calls == [["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(env["images"] / "base.qcow2"),
                             "-F", "qcow2", str(overlay)]]
    assert overlay.exists() and tmp.stat().st_size == 16 * 1024 ** 2 and tmp.stat().st_blocks == 0  # sparse

    again = ensure_guest(params(env), client, files)
    assert not again["changed"] and again["actions"] == [] and "diff" not in again

    check_mod = ensure_guest(params(env, memory=512), client, files, check_mode=True)
    assert check_mod["changes"] == ["memory_kib: 256 MiB -> 512 MiB"] and check_mod["restart_needed"]
    assert "262144" in check_mod["diff"]["before"] and "524288" in check_mod["diff"]["after"]
    mod = ensure_guest(params(env, memory=512), client, files)
    assert mod["actions"] == ["define"] and mod["restart_needed"]
    assert client.current("t7-unit")["spec"]["memory_kib"] == 524288
    assert not ensure_guest(params(env, memory=512), client, files)["changed"]

    meta = ensure_guest(params(env, memory=512, metadata=dict(image="deb12", hostjob="9")), client, files)
    assert meta["actions"] == ["set_metadata"] and not meta["restart_needed"]
    [guest] = client.list_guests()
    base = env["images"] / "base.qcow2"
    assert guest["metadata"] == {"image": "deb12", "hostjob": "9", "base_path": str(base), "base_size": "1",
                                 "base_mtime": repr(base.stat().st_mtime_ns / 1e9),
                                 "base_sha256": hashlib.sha256(b"x").hexdigest()}
    assert guest["uptime"] is not None
    assert guest["macs"] == ["52:54:00:77:01:05"] and guest["state"] == "running"

    gone = ensure_guest(params(env, state="absent"), client, files)
    assert gone["actions"] == ["destroy", "undefine", "remove_overlay", "remove_tmp_disk"]
    assert client.lookup("t7-unit") is None and not overlay.exists() and not tmp.exists()
    again = ensure_guest(params(env, state="absent"), client, files)
    assert not again["changed"] and again["state"] == "absent"


def test_absent_removes_files_of_a_guest_already_gone(client, env):
    env["state_dir"].mkdir()
    for suffix in (".qcow2", ".tmp.raw", ".console.log"):
        (env["state_dir"] / ("t7-unit" + suffix)).write_bytes(b"x")
    result = ensure_guest(params(env, state="absent"), client, gf.GuestFiles(Runner()))
    assert result["actions"] == ["remove_overlay", "remove_tmp_disk", "remove_console_log"]
    assert guest_files_left(env) == []


def test_states(client, env):
    files = gf.GuestFiles(Runner())
    assert ensure_guest(params(env, state="defined"), client, files)["state"] == "shutoff"
    assert ensure_guest(params(env), client, files)["state"] == "running"
    destroyed = ensure_guest(params(env, state="destroyed"), client, files)
    assert destroyed["actions"] == ["destroy"] and destroyed["state"] == "shutoff"
    ensure_guest(params(env), client, files)
    client.conn.lookupByName("t7-unit").suspend()
    assert ensure_guest(params(env), client, files)["actions"] == ["resume"]
    # the test driver powers off at once on an ACPI request
    shut = ensure_guest(params(env, state="shutdown", shutdown_timeout=5), client, files)
    assert shut["actions"] == ["shutdown"] and shut["state"] == "shutoff"
    ensure_guest(params(env, state="absent"), client, files)


def test_transient(client, env):
    files = gf.GuestFiles(Runner())
    result = ensure_guest(params(env, persistent=False), client, files)
    assert result["actions"][-1] == "create_transient"
    assert client.current("t7-unit")["persistent"] is False
    with pytest.raises(InvalidInput, match="transient"):
        ensure_guest(params(env, persistent=False, state="defined"), client, files)
    assert ensure_guest(params(env, state="absent"), client, files)["actions"][0] == "destroy"
    assert client.lookup("t7-unit") is None


def test_failed_start_rolls_back_a_new_guest(client, env, monkeypatch):
    def broken(name):
        raise le.DomainOperationFailed("starting %s failed: qemu said no" % name)
    monkeypatch.setattr(client, "start", broken)
    with pytest.raises(le.DomainOperationFailed, match="qemu said no"):
        ensure_guest(params(env), client, gf.GuestFiles(Runner()))
    assert client.lookup("t7-unit") is None
    assert guest_files_left(env) == []


def test_failed_overlay_leaves_nothing(client, env):
    with pytest.raises(le.GuestFileError, match="backing file"):
        ensure_guest(params(env), client, gf.GuestFiles(Runner(rc=1, err="Could not open backing file")))
    assert client.lookup("t7-unit") is None and guest_files_left(env) == []


def test_tmp_disk_larger_than_free_space(client, env):
    with pytest.raises(le.DiskSpaceError, match="does not fit"):
        ensure_guest(params(env, tmp_disk=dict(size="1000000T")), client, gf.GuestFiles(Runner()))
    assert client.lookup("t7-unit") is None


def test_wait_for_timeout_fails_with_console_lines(client, env):
    files = gf.GuestFiles(Runner())
    ensure_guest(params(env), client, files)
    console = env["state_dir"] / "t7-unit.console.log"
    console.write_text("".join("boot line %d\n" % i for i in range(40)))
    with pytest.raises(le.WaitTimeout) as caught:
        ensure_guest(params(env, wait_for=dict(console="NEVER"), timeout=0.3), client, files)
    details = caught.value.to_result()
    assert "timed out after 0.3s waiting for console marker 'NEVER'" in details["msg"]
    assert details["console_tail"] == ["boot line %d" % i for i in range(20, 40)]
    assert details["changed"] is False and details["state"] == "running"
    console.write_text("...\nVM-READY host=t7-unit\n")
    assert ensure_guest(params(env, wait_for=dict(console="VM-READY")), client, files)["timings"]["wait"] < 1
    ensure_guest(params(env, state="absent"), client, files)


def test_zero_means_do_not_wait(client, env, monkeypatch):
    files = gf.GuestFiles(Runner())
    ensure_guest(params(env), client, files)
    # timeout 0: the conditions are checked once (it used to become 300 s)
    with pytest.raises(le.WaitTimeout, match="timed out after 0s waiting for console marker 'NEVER'"):
        ensure_guest(params(env, wait_for=dict(console="NEVER"), timeout=0), client, files)
    graces = []
    shutdown = client.shutdown
    monkeypatch.setattr(client, "shutdown", lambda name, grace: graces.append(grace) or shutdown(name, grace))
    assert ensure_guest(params(env, state="shutdown", shutdown_timeout=0), client, files)["state"] == "shutoff"
    assert graces == [0]
    ensure_guest(params(env, state="absent"), client, files)


def test_wait_stops_early_when_the_guest_dies(client, env):
    files = gf.GuestFiles(Runner())
    ensure_guest(params(env), client, files)
    client.destroy("t7-unit")
    with pytest.raises(le.WaitTimeout, match="stopped"):
        client.wait_for("t7-unit", console_log=str(env["state_dir"] / "t7-unit.console.log"), marker="X", timeout=5)
    ensure_guest(params(env, state="absent"), client, files)


# A domain some other tool defined: no <metadata> of ours.
FOREIGN_XML = ("<domain type='test'><name>t7-foreign</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
               "<os><type>hvm</type></os></domain>")


def _foreign(client, env, running):
    """Define (and maybe start) the foreign domain, with files of its name in state_dir; its XML as it is."""
    dom = client.conn.defineXML(FOREIGN_XML)
    if running:
        dom.create()
    env["state_dir"].mkdir()
    for suffix in (".qcow2", ".tmp.raw", ".console.log"):
        (env["state_dir"] / ("t7-foreign" + suffix)).write_bytes(b"not ours")
    return dom.XMLDesc(0)


@pytest.mark.parametrize("running", [False, True])
@pytest.mark.parametrize("state", ["absent", "running", "defined", "shutdown", "destroyed"])
def test_a_domain_that_is_not_ours_is_left_alone_unless_force(client, env, state, running):
    before = _foreign(client, env, running)
    files = gf.GuestFiles(Runner())
    args = params(env, name="t7-foreign", state=state, shutdown_timeout=1)
    verb = "remove" if state == "absent" else "change"
    for check_mode in (True, False):
        refusal = ("refusing to %s domain t7-foreign: it is not ours "
                   r"\(no urn:hpc.slurm_vm:1 metadata\); force=true" % verb)
        with pytest.raises(le.DomainNotOwned, match=refusal):
            ensure_guest(args, client, files, check_mode=check_mode)
        assert client.conn.lookupByName("t7-foreign").XMLDesc(0) == before
        assert sorted(guest_files_left(env)) == [
            "t7-foreign.console.log", "t7-foreign.qcow2", "t7-foreign.tmp.raw"]
    assert client.current("t7-foreign")["ours"] is False
    forced = ensure_guest(dict(args, force=True), client, files)
    if state == "absent":
        assert forced["actions"][-3:] == ["remove_overlay", "remove_tmp_disk", "remove_console_log"]
        assert client.lookup("t7-foreign") is None and guest_files_left(env) == []
    elif running:
        # force lifts the refusal only: a running guest's files are not rebuilt under it (plan.py), it warns
        assert forced["actions"] == {"shutdown": ["shutdown"], "destroyed": ["destroy"]}.get(state, [])
        assert forced["restart_needed"] and "nothing was changed" in forced["warnings"][0]
    else:
        assert forced["actions"][-2:] == (["define", "start"] if state == "running" else ["create_tmp_disk", "define"])
        assert client.current("t7-foreign")["ours"] is True   # redefined as ours: no force needed any more
        assert not ensure_guest(args, client, files)["changed"]


def test_unknown_uri():
    with pytest.raises(le.LibvirtConnectionError, match="cannot connect to libvirt at bogus:///x"):
        lc.LibvirtClient("bogus:///x").current("a")


def test_probe_address_checks_the_neighbor_mac(tmp_path):
    table = tmp_path / "arp"
    table.write_text("IP address HW type Flags HW address Mask Device\n"
                     "127.0.0.1 0x1 0x2 52:54:00:77:01:05 * lo\n")
    # loopback port 9 (discard) is closed here: refused means "up"
    assert lc.LibvirtClient.probe_address("127.0.0.1", "52:54:00:77:01:05", port=9, arp_table=str(table))
    assert not lc.LibvirtClient.probe_address("127.0.0.1", "52:54:00:77:01:06", port=9, arp_table=str(table))


# --------------------------------------------------------------------- modules
def test_module_check_mode_and_bad_input(run_module, env):
    kind, result = run_module(libvirt_guest.main, dict(params(env), uri="test:///default",
                                                       _ansible_check_mode=True))
    assert kind == "exit" and result["changed"] and result["actions"][-1] == "start"
    kind, result = run_module(libvirt_guest.main, dict(params(env, mac="52:54:00:77:01"), uri="test:///default"))
    assert kind == "fail" and "invalid MAC" in result["msg"] and result["error"] == "InvalidInput"
    kind, result = run_module(libvirt_guest.main, dict(params(env, name="t7-<&'>"), uri="test:///default"))
    assert kind == "fail" and "invalid domain name" in result["msg"]
    kind, result = run_module(libvirt_guest.main, dict(params(env), uri="bogus:///x"))
    assert kind == "fail" and result["error"] == "LibvirtConnectionError"
    for option, value in (("timeout", -5), ("shutdown_timeout", -1)):
        kind, result = run_module(libvirt_guest.main, dict(params(env), uri="test:///default", **{option: value}))
        assert kind == "fail" and result["msg"] == "%s must be 0 or more seconds, got %d" % (option, value)


def test_module_refuses_a_domain_that_is_not_ours(run_module, env, client):
    _foreign(client, env, running=True)
    for check_mode in (True, False):
        kind, result = run_module(libvirt_guest.main, dict(name="t7-foreign", uri="test:///default", state="absent",
                                                           state_dir=str(env["state_dir"]),
                                                           _ansible_check_mode=check_mode))
        assert kind == "fail" and result["error"] == "DomainNotOwned" and result["changed"] is False
        assert result["msg"] == ("refusing to remove domain t7-foreign: it is not ours (no urn:hpc.slurm_vm:1 "
                                 "metadata); force=true removes it")
        assert result["name"] == "t7-foreign" and result["ours"] is False and result["state"] == "running"
    kind, result = run_module(libvirt_guest_info.main, dict(uri="test:///default", all=True, name=["t7-foreign"]))
    assert [(g["name"], g["ours"]) for g in result["guests"]] == [("t7-foreign", False)]
    kind, result = run_module(libvirt_guest.main, dict(name="t7-foreign", uri="test:///default", state="absent",
                                                       state_dir=str(env["state_dir"]), force=True))
    assert kind == "exit" and result["actions"][:2] == ["destroy", "undefine"]


def test_module_real_run(run_module, env):
    kind, result = run_module(libvirt_guest.main, dict(params(env, image=None, image_dir=str(env["images"]),
                                                              kernel=str(env["images"] / "vmlinux")),
                                                       uri="test:///default"))
    assert kind == "exit" and result["actions"] == ["create_tmp_disk", "define", "start"]
    assert result["state"] == "running" and result["timings"]["start"] >= 0


@pytest.mark.parametrize("check_mode", [True, False])
def test_module_confines_images_to_the_default_directory(run_module, env, check_mode):
    """Without image_dir the images must be in /var/lib/hpc-slurm-vm/images: never "no check"."""
    unset = dict(params(env, image="/img/../../etc/passwd", image_format="raw"), uri="test:///default",
                 _ansible_check_mode=check_mode)
    del unset["image_dir"]
    for args in (unset, dict(unset, image_dir=None)):
        kind, result = run_module(libvirt_guest.main, args)
        assert kind == "fail" and result["error"] == "InvalidInput" and not result["changed"]
        assert result["msg"] == ("image /img/../../etc/passwd (resolves to /etc/passwd) is outside the allowed image "
                                 "directory /var/lib/hpc-slurm-vm/images; put it there, or set image_dir (a site "
                                 "sets it once with slurm_vm_image_dir)")
        assert (result["path"], result["resolved"]) == ("/img/../../etc/passwd", "/etc/passwd")
    kind, result = run_module(libvirt_guest.main, dict(unset, image=None, kernel=str(env["images"] / "vmlinux")))
    assert kind == "fail" and result["msg"].startswith("kernel %s is outside the allowed image directory "
                                                       "/var/lib/hpc-slurm-vm/images" % (env["images"] / "vmlinux"))
    assert lc.LibvirtClient("test:///default").lookup("t7-unit") is None and not env["state_dir"].exists()


def test_info_module(run_module):
    kind, result = run_module(libvirt_guest_info.main, dict(uri="test:///default"))
    assert kind == "exit" and result["guests"] == []          # the sample domain is not ours
    kind, result = run_module(libvirt_guest_info.main, dict(uri="test:///default", all=True))
    assert [(g["name"], g["ours"], g["macs"]) for g in result["guests"]] == [("test", False, ["aa:bb:cc:dd:ee:ff"])]
    kind, result = run_module(libvirt_guest_info.main, dict(uri="bogus:///x"))
    assert kind == "fail" and "cannot connect" in result["msg"]


# ------------------------------------------------------------ tmp disk filesystem
MKFS_EXT4 = shutil.which("mkfs.ext4") or next(
    (p for p in ("/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4") if os.access(p, os.X_OK)), None)
EXT4_MAGIC_OFFSET = 1024 + 56


def ext4_magic(path):
    with open(str(path), "rb") as handle:
        handle.seek(EXT4_MAGIC_OFFSET)
        return handle.read(2)


class MkfsRunner(Runner):
    """qemu-img as Runner fakes it; mkfs.ext4 for real."""

    def __call__(self, argv):
        if argv[0] != MKFS_EXT4:
            return Runner.__call__(self, argv)
        self.calls.append(list(argv))
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        return done.returncode, done.stdout, done.stderr


@pytest.mark.skipif(MKFS_EXT4 is None, reason="mkfs.ext4 (e2fsprogs) is not installed")
def test_ext4_tmp_disk_is_made_once_and_never_reformatted(client, env):
    runner = MkfsRunner()
    files = gf.GuestFiles(runner, mkfs_ext4=MKFS_EXT4)
    tmp = env["state_dir"] / "t7-unit.tmp.raw"
    ext4 = dict(size="16M", serial="hpcvm-tmp", filesystem="ext4")

    check = ensure_guest(params(env, tmp_disk=ext4), client, files, check_mode=True)
    plain = ensure_guest(params(env), client, files, check_mode=True)
    assert check["actions"] == ["create_overlay", "create_tmp_disk", "define", "start"] == plain["actions"]
    assert check["diff"] == plain["diff"] and runner.calls == [] and not tmp.exists()

    real = ensure_guest(params(env, tmp_disk=ext4), client, files)
    assert real["actions"] == check["actions"] and real["timings"]["tmp_disk"] >= 0
    assert runner.calls[1] == [MKFS_EXT4, "-q", "-F", "-m", "0", "-O", "^has_journal", "-E",
                               "lazy_itable_init=1,lazy_journal_init=1,nodiscard,root_owner=0:0", str(tmp)]
    assert ext4_magic(tmp) == b"\x53\xef" and tmp.stat().st_size == 16 * 1024 ** 2

    # the option alone changes nothing on an existing guest, in check mode or not, running or off
    for state in ("running", "destroyed"):
        for check_mode in (True, False):
            none = ensure_guest(params(env, state=state, tmp_disk=dict(ext4, filesystem="none")), client, files,
                                check_mode=check_mode)
            assert none["actions"] == (["destroy"] if state == "destroyed" else []) and not none["changes"]
            if not check_mode:
                assert ext4_magic(tmp) == b"\x53\xef"
    assert len(runner.calls) == 2

    # a new size makes a new file, with the filesystem asked for now
    resized = ensure_guest(params(env, state="destroyed", tmp_disk=dict(size="32M", filesystem="none")), client, files)
    assert resized["actions"] == ["remove_tmp_disk", "create_tmp_disk", "define"]
    assert ext4_magic(tmp) == b"\0\0" and len(runner.calls) == 2
    ensure_guest(params(env, state="absent"), client, files)


def test_ext4_tmp_disk_without_mkfs_fails_before_any_change(client, env):
    runner = Runner()
    files = gf.GuestFiles(runner, mkfs_ext4=None)
    args = params(env, tmp_disk=dict(size="16M", filesystem="ext4"))
    assert ensure_guest(args, client, files, check_mode=True)["actions"][1] == "create_tmp_disk"
    with pytest.raises(le.GuestFileError, match="mkfs.ext4 was not found"):
        ensure_guest(args, client, files)
    assert runner.calls == [] and client.lookup("t7-unit") is None and not env["state_dir"].exists()


def test_failed_mkfs_rolls_back_a_new_guest(client, env):
    class FailingMkfs(Runner):
        def __call__(self, argv):
            if argv[0] == "mkfs.ext4":
                self.calls.append(list(argv))
                return 1, "", "t7-unit.tmp.raw: Not enough space to build proposed filesystem\n"
            return Runner.__call__(self, argv)

    runner = FailingMkfs()
    with pytest.raises(le.GuestFileError, match="t7-unit.tmp.raw.*Not enough space"):
        ensure_guest(params(env, tmp_disk=dict(size="8K", filesystem="ext4")), client, gf.GuestFiles(runner))
    assert [argv[0] for argv in runner.calls] == ["qemu-img", "mkfs.ext4"]
    assert client.lookup("t7-unit") is None and guest_files_left(env) == []


def test_module_takes_the_filesystem_option(run_module, env):
    kind, result = run_module(libvirt_guest.main, dict(params(env, tmp_disk=dict(size="16M", filesystem="xfs")),
                                                       uri="test:///default", _ansible_check_mode=True))
    assert kind == "fail" and "filesystem" in result["msg"] and "xfs" in result["msg"]
    kind, result = run_module(libvirt_guest.main, dict(params(env, tmp_disk=dict(size="16M", filesystem="ext4")),
                                                       uri="test:///default", _ansible_check_mode=True))
    assert kind == "exit" and result["actions"] == ["create_overlay", "create_tmp_disk", "define", "start"]
