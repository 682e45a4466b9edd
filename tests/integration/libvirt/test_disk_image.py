# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's disk-image guest (lab/guest/build-disk-image) booted by libvirt_guest.

Pool node vm-disk-002 (MAC and IP from the image table): a minimal Debian 12 on a qcow2
overlay, booted with the image's own kernel and initrd under TCG. It names itself from
SMBIOS, gets its reserved address by DHCP and prints HPCVM-DISK-READY on the console.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import signal
import subprocess
import time

import pytest
import yaml

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table

from .conftest import LAB_DIR, REPO, STATE_DIR, URI, run_module, virsh

HOST = "vm-disk-002"
DISK_CACHE = os.environ.get("HPCVM_DISK_CACHE", "/var/cache/hpcvm-lab/disk")
BUILD = os.path.join(REPO, "lab", "guest", "build-disk-image")
MARKER = "HPCVM-DISK-READY"
HOSTSD = os.path.join(LAB_DIR, "dnsmasq", "hosts.d")
RESERVATION = os.path.join(HOSTSD, "hpc-slurm-vm-" + HOST)


def hup_dnsmasq():
    with open(os.path.join(LAB_DIR, "run", "dnsmasq.pid")) as handle:
        os.kill(int(handle.read().strip()), signal.SIGHUP)


def leftovers():
    return sorted(name for name in os.listdir(STATE_DIR) if name.startswith(HOST + ".")) \
        if os.path.isdir(STATE_DIR) else []


@pytest.fixture(scope="module")
def disk_image():
    """The image make lab-disk-image built (never built here: no route out); return its paths."""
    proc = subprocess.run([BUILD, "--cached"], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, "build-disk-image failed:\n%s\n%s" % (proc.stdout, proc.stderr[-3000:])
    image, kernel, initrd = proc.stdout.split()
    for path in (image, kernel, initrd):
        assert os.path.getsize(path) > 0, path
    return dict(image=image, kernel=kernel, initrd=initrd)


@pytest.fixture
def reserved(libvirtd):
    """vm-disk-002's DHCP reservation (dnsmasq hostsdir file + SIGHUP); removed afterwards."""
    with open(os.path.join(REPO, "inventories", "lab", "group_vars", "all", "images.yml")) as handle:
        images = image_table.normalize_table(yaml.safe_load(handle)["slurm_vm_images"])
    image = image_table.image_of_host(images, HOST)
    mac, ip = image_table.vm_mac(image, HOST), image_table.vm_ip(image, HOST)
    assert (image["name"], mac, ip) == ("disk", "52:54:00:77:02:02", "10.77.2.2")
    run_module("libvirt_guest", dict(name=HOST, uri=URI, state_dir=STATE_DIR, state="absent"))
    tmp = os.path.join(HOSTSD, ".hpc-slurm-vm-%s.new" % HOST)
    with open(tmp, "w") as handle:
        handle.write("%s,%s,%s\n" % (mac, ip, HOST))
    os.rename(tmp, RESERVATION)
    hup_dnsmasq()
    yield dict(mac=mac, ip=ip, memory=image["memory_mb"], vcpus=image["vcpus"], bridge=image["network"]["bridge"])
    run_module("libvirt_guest", dict(name=HOST, uri=URI, state_dir=STATE_DIR, state="absent"))
    if os.path.exists(RESERVATION):
        os.unlink(RESERVATION)
        hup_dnsmasq()


def test_disk_image_boots_to_marker_and_is_removed(disk_image, reserved):
    args = dict(
        name=HOST, uri=URI, state_dir=STATE_DIR, virt_type="qemu", memory=reserved["memory"],
        vcpus=reserved["vcpus"], mac=reserved["mac"], bridge=reserved["bridge"],
        image=disk_image["image"], image_dir=DISK_CACHE, kernel=disk_image["kernel"], initrd=disk_image["initrd"],
        cmdline="root=/dev/vda ro console=ttyS0 net.ifnames=0 clocksource=hpet quiet",
        sysinfo=dict(serial="hostname=" + HOST), tmp_disk=dict(size="64M", serial="hpcvm-tmp"),
        metadata=dict(image="disk", test="disk-image"),
        wait_for=dict(console=MARKER, address=reserved["ip"]), timeout=300)
    started = time.monotonic()
    result = run_module("libvirt_guest", args, timeout=420)
    boot = time.monotonic() - started
    assert not result.get("failed"), result
    assert result["changed"] and result["state"] == "running", result
    assert "define" in result["actions"] and "start" in result["actions"], result["actions"]
    with open(os.path.join(STATE_DIR, HOST + ".console.log"), errors="replace") as handle:
        console = handle.read()
    lines = [line for line in console.splitlines() if MARKER in line]
    assert lines, console[-3000:]
    match = re.search(r"host=(\S+) ip=([0-9.]+)/\d+ kernel=(\S+)", lines[-1])
    assert match, lines[-1]
    assert match.group(1) == HOST
    assert match.group(2) == reserved["ip"]
    # its own kernel, not the fast guest's PVH vmlinux: the release matches the image's vmlinuz
    assert os.path.basename(os.path.realpath(disk_image["kernel"])) == "vmlinuz-" + match.group(3)
    print("%s: define+start to %s in %.1f s (%s)" % (HOST, MARKER, boot, lines[-1].strip()))
    assert set(leftovers()) >= {HOST + ".qcow2", HOST + ".tmp.raw", HOST + ".console.log"}, leftovers()

    # a repeat changes nothing
    again = run_module("libvirt_guest", dict(args, wait_for=None))
    assert not again.get("failed") and not again["changed"], again

    gone = run_module("libvirt_guest", dict(name=HOST, uri=URI, state_dir=STATE_DIR, state="absent"))
    assert not gone.get("failed") and gone["changed"] and gone["state"] == "absent", gone
    assert virsh("dominfo", HOST).returncode != 0, "domain %s is still defined" % HOST
    assert leftovers() == [], leftovers()
    assert os.path.getsize(disk_image["image"]) > 0, "the base image must survive the guest's removal"

    os.unlink(RESERVATION)
    hup_dnsmasq()
    assert not os.path.exists(RESERVATION)
