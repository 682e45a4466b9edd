# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt_guest and libvirt_guest_info against the lab's libvirtd, with real TCG guests."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import pathlib
import shutil
import os
import subprocess
import time
import xml.etree.ElementTree as ET

from .conftest import CACHE, LAB_DIR, MARKER, STATE_DIR, URI, fast_guest, run_module, virsh

IMAGES = os.path.join(LAB_DIR, "t7-images")
NASTY = "x'\"<&>]]></cmdline><devices><disk type='file'><source file='/etc/shadow'/></disk></devices>"


def files_of(host):
    """The guest's files in the state folder; none while the module has not created the folder yet."""
    if not os.path.isdir(STATE_DIR):
        return []
    return sorted(name for name in os.listdir(STATE_DIR) if name.startswith(host + "."))


def test_matrix(guest):
    host = guest("vm-deb12-005")
    args = fast_guest(host, wait_for=dict(console=MARKER, address="10.77.1.5"), timeout=120)

    check = run_module("libvirt_guest", args, check=True)
    assert check["changed"] and check["actions"] == ["create_tmp_disk", "define", "start"], check
    assert virsh("dominfo", host).returncode != 0 and files_of(host) == []
    assert check["diff"]["before"] == "" and "<name>vm-deb12-005</name>" in check["diff"]["after"]

    real = run_module("libvirt_guest", args)
    assert real["changed"] and real["actions"] == check["actions"] and real["state"] == "running", real
    assert real["addresses"] == ["10.77.1.5"]
    with open(os.path.join(STATE_DIR, host + ".console.log")) as handle:
        console = handle.read()
    assert "%s host=%s" % (MARKER, host) in console and "ip=10.77.1.5/16" in console

    start = time.monotonic()
    repeat = run_module("libvirt_guest", args)
    took = time.monotonic() - start
    assert not repeat["changed"] and repeat["actions"] == [] and "diff" not in repeat, repeat
    assert took < 2.0, took   # a whole module process; the module's own work is ~0.01 s

    info = run_module("libvirt_guest_info", dict(uri=URI, name=[host]))
    [entry] = info["guests"]
    assert entry["state"] == "running" and entry["macs"] == ["52:54:00:77:01:05"]
    assert entry["metadata"] == {"image": "deb12", "test": "t7"} and 0 < entry["uptime"] < 300

    running_mod = run_module("libvirt_guest", dict(args, memory=320, wait_for=None))
    assert running_mod["changed"] and running_mod["actions"] == ["define"] and running_mod["restart_needed"]
    assert running_mod["changes"] == ["memory_kib: 256 MiB -> 320 MiB"]

    off = run_module("libvirt_guest", dict(args, memory=320, state="destroyed", wait_for=None))
    assert off["actions"] == ["destroy"] and off["state"] == "shutoff"

    check_mod = run_module("libvirt_guest", dict(args, memory=384, state="destroyed", wait_for=None), check=True)
    assert check_mod["actions"] == ["define"] and not check_mod["restart_needed"]
    assert "327680" in check_mod["diff"]["before"] and "393216" in check_mod["diff"]["after"]
    mod = run_module("libvirt_guest", dict(args, memory=384, state="destroyed", wait_for=None))
    assert mod["actions"] == ["define"] and mod["changes"] == ["memory_kib: 320 MiB -> 384 MiB"]
    assert "393216" in virsh("dumpxml", "--inactive", host, check=True).stdout
    again = run_module("libvirt_guest", dict(args, memory=384, state="destroyed", wait_for=None))
    assert not again["changed"]

    restarted = run_module("libvirt_guest", dict(args, memory=384))
    assert restarted["actions"] == ["start"] and restarted["state"] == "running", restarted

    check_gone = run_module("libvirt_guest", dict(name=host, uri=URI, state_dir=STATE_DIR, state="absent"),
                            check=True)
    assert check_gone["actions"] == ["destroy", "undefine", "remove_tmp_disk", "remove_console_log"]
    assert virsh("domstate", host).stdout.strip() == "running"
    gone = run_module("libvirt_guest", dict(name=host, uri=URI, state_dir=STATE_DIR, state="absent"))
    assert gone["changed"] and gone["actions"] == check_gone["actions"] and gone["state"] == "absent"
    assert virsh("dominfo", host).returncode != 0 and files_of(host) == []
    gone_again = run_module("libvirt_guest", dict(name=host, uri=URI, state_dir=STATE_DIR, state="absent"))
    assert not gone_again["changed"] and gone_again["actions"] == []


def test_wait_for_timeout_fails_with_the_console_lines(guest):
    host = guest("vm-deb12-006")
    result = run_module("libvirt_guest", fast_guest(host, wait_for=dict(console="NEVER-PRINTED"), timeout=25))
    assert result.get("failed") and result["error"] == "WaitTimeout", result
    assert "timed out after 25s waiting for console marker 'NEVER-PRINTED'" in result["msg"]
    assert result["changed"] and result["actions"] == ["create_tmp_disk", "define", "start"]
    assert any("hpcvm-init" in line or MARKER in line for line in result["console_tail"]), result["console_tail"]
    # a slow guest is not rolled back: it stays for the next run (or the reconciler)
    assert virsh("domstate", host).stdout.strip() == "running"


def test_absent_cleans_files_when_the_domain_is_already_gone(guest):
    host = guest("vm-deb12-006")
    assert run_module("libvirt_guest", fast_guest(host, state="defined"))["changed"]
    open(os.path.join(STATE_DIR, host + ".console.log"), "w").close()
    virsh("undefine", host, check=True)    # gone behind the module's back
    gone = run_module("libvirt_guest", dict(name=host, uri=URI, state_dir=STATE_DIR, state="absent"))
    assert gone["actions"] == ["remove_tmp_disk", "remove_console_log"] and files_of(host) == []


def test_xml_metacharacters_reach_libvirt_as_text(guest, tmp_path):
    host = guest("t7-esc")
    metadata = {"image": NASTY, "owner": "<b>&amp;'\""}
    args = fast_guest(host, state="defined", cmdline="console=ttyS0 " + NASTY,
                      sysinfo=dict(serial="hostname=" + NASTY, oem_strings=[NASTY]), metadata=metadata)
    result = run_module("libvirt_guest", args)
    assert result["changed"] and result["actions"] == ["create_tmp_disk", "define"], result
    root = ET.fromstring(virsh("dumpxml", "--inactive", host, check=True).stdout)  # noqa: S314 - our libvirtd
    assert root.find("name").text == host
    assert root.find("os/cmdline").text == "console=ttyS0 " + NASTY
    assert root.find("sysinfo/system/entry[@name='serial']").text == "hostname=" + NASTY
    assert [e.text for e in root.findall("sysinfo/oemStrings/entry")] == [NASTY]
    assert [d.find("source").get("file") for d in root.findall("devices/disk")] == [
        os.path.join(STATE_DIR, host + ".tmp.raw")]
    info = run_module("libvirt_guest_info", dict(uri=URI, name=[host]))
    assert info["guests"][0]["metadata"] == metadata
    assert not run_module("libvirt_guest", args)["changed"]   # and it compares equal afterwards


def test_overlay_on_a_disk_image(guest, tmp_path):
    host = guest("t7-ovl")
    # qemu runs as libvirt-qemu: the image must be readable for it (pytest's tmp dirs are 0700)
    images = tmp_path / "images"
    images.mkdir()
    shutil.rmtree(IMAGES, ignore_errors=True)
    os.makedirs(IMAGES, 0o755)
    images = pathlib.Path(IMAGES)
    base = images / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "64M"], check=True)
    # image, kernel and initrd in one image directory (a symlink out of it would be refused: copies)
    for name in ("vmlinux", "initrd.gz"):
        shutil.copyfile(os.path.join(CACHE, name), str(images / name))
    args = fast_guest(host, state="defined", image=str(base), tmp_disk=None, image_dir=str(images),
                      kernel=str(images / "vmlinux"), initrd=str(images / "initrd.gz"))
    result = run_module("libvirt_guest", args)
    assert result.get("actions") == ["create_overlay", "define"], result
    overlay = os.path.join(STATE_DIR, host + ".qcow2")
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", "-U", overlay], capture_output=True,
                                     text=True, check=True).stdout)
    assert info["backing-filename"] == str(base) and info["format"] == "qcow2"
    started = run_module("libvirt_guest", dict(args, state="running"))
    assert started.get("actions") == ["start"], started.get("msg")
    # a new base image is applied only while the guest is off
    other = images / "other.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(other), "64M"], check=True)
    busy = run_module("libvirt_guest", dict(args, state="running", image=str(other)))
    assert not busy["changed"] and busy["restart_needed"] and busy["warnings"]
    swapped = run_module("libvirt_guest", dict(args, state="destroyed", image=str(other)))
    assert swapped["actions"] == ["destroy"]
    swapped = run_module("libvirt_guest", dict(args, state="destroyed", image=str(other)))
    assert swapped["actions"] == ["remove_overlay", "create_overlay", "define"], swapped
    gone = run_module("libvirt_guest", dict(name=host, uri=URI, state_dir=STATE_DIR, state="absent"))
    assert "remove_overlay" in gone["actions"] and files_of(host) == []
    assert os.path.exists(str(base)) and os.path.exists(str(other))   # the images are only read
    shutil.rmtree(IMAGES)


def test_bad_input_leaves_nothing(guest, tmp_path):
    host = guest("t7-bad")
    cases = [
        (dict(mac="52:54:00:77:01"), "invalid MAC address"),
        (dict(mac="01:00:5e:00:00:01"), "multicast"),
        # common/addresses.py's host_mac, shared with dhcp_host: all zero and mixed separators passed before
        (dict(mac="00:00:00:00:00:00"), "all-zero"),
        (dict(mac="ff:ff:ff:ff:ff:ff"), "broadcast address"),
        (dict(mac="52:54-00:77:01:05"), "invalid MAC address"),
        (dict(kernel="/var/cache/hpcvm-lab/guest/no-such-vmlinux"), "does not exist"),
        (dict(image="/etc/passwd", image_dir=str(tmp_path)), "outside the allowed image directory"),
        # without image_dir this backed an overlay by /etc/passwd; now the default directory confines
        (dict(image="/img/../../etc/passwd", image_format="raw", image_dir=None),
         "image /img/../../etc/passwd (resolves to /etc/passwd) is outside the allowed image directory "
         "/var/lib/hpc-slurm-vm/images"),
        (dict(image=os.path.join(CACHE, "..", "..", "..", "etc", "passwd"), image_format="raw"),
         "is outside the allowed image directory %s" % CACHE),
        (dict(initrd="/etc/passwd"), "initrd /etc/passwd is outside the allowed image directory"),
        # (the kernel may be a symlink: the message then names what it resolves to as well)
        (dict(image_dir=None), "is outside the allowed image directory /var/lib/hpc-slurm-vm/images;"),
        (dict(timeout=-5), "timeout must be 0 or more seconds, got -5"),
        (dict(shutdown_timeout=-1), "shutdown_timeout must be 0 or more seconds, got -1"),
        (dict(memory=-256), "memory must be a positive integer"),
        (dict(vcpus=0), "vcpus must be a positive integer"),
        (dict(tmp_disk=dict(size="100000T")), "does not fit"),
        (dict(uri="qemu:///system?socket=/nonexistent/libvirt-sock"), "cannot connect to libvirt"),
        (dict(uri="nosuchdriver:///x"), "cannot connect to libvirt"),
    ]
    for extra, message in cases:
        result = run_module("libvirt_guest", fast_guest(host, **extra))
        assert result.get("failed") and message in result["msg"], (extra, result)
        assert not result["changed"]
        assert virsh("dominfo", host).returncode != 0 and files_of(host) == [], extra
    for name in ("t7-<x>", "t7-a&b", "t7-it's"):
        result = run_module("libvirt_guest", fast_guest(name))
        assert result.get("failed") and "invalid domain name" in result["msg"], result
        assert virsh("dominfo", name).returncode != 0
