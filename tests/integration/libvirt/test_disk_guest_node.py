# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The disk-image guest (no Slurm in the image) becomes a VM-cluster node through its bundle.

vm-disk-002 is booted by libvirt_guest the way role spawn boots a VM: its reserved
address (dnsmasq hostsdir file), vm.hostname= and vm.fetch=<bundle URL>?token=<its
token> on the kernel command line, the hostname in SMBIOS too, a raw /tmp disk with
serial tmpdisk. The image's hpcvm-bundle.service fetches the bundle from the lab's
provisioning server (role boot_provision, image setting slurm_binaries), which carries
slurmd, its plugins and munge; the gate passes, the FUTURE node turns IDLE, and a batch
job runs on it. Afterwards the domain, the reservation and the node's registration are
gone (the node is FUTURE again).

The SMBIOS boot also covers the plain disk-image boot (it was test_disk_image.py, merged to
boot the image once less): libvirt_guest waits for the image's HPCVM-DISK-READY marker and
the reserved address, the guest runs the image's own kernel, a repeat changes nothing, and
state=absent removes the domain and its files but never the base image.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import signal
import subprocess
import tarfile
import time

import pytest
import yaml

from ansible_collections.hpc.slurm_vm.plugins.module_utils.provision import bundle as boot_bundle
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table

from ..conftest import wait_until
from .conftest import LAB_DIR, REPO, STATE_DIR, URI, run_module, virsh

HOST = "vm-disk-002"
DISK_CACHE = os.environ.get("HPCVM_DISK_CACHE", "/var/cache/hpcvm-lab/disk")
BUILD = os.path.join(REPO, "lab", "guest", "build-disk-image")
HOSTSD = os.path.join(LAB_DIR, "dnsmasq", "hosts.d")
RESERVATION = os.path.join(HOSTSD, "hpc-slurm-vm-" + HOST)
BUNDLE = os.path.join(LAB_DIR, "provision", "vm", HOST, "bundle.tar.gz")
INVENTORY = os.path.join(REPO, "inventories", "lab", "group_vars", "all")
MARKER = "HPCVM-DISK-READY"


def hup_dnsmasq():
    with open(os.path.join(LAB_DIR, "run", "dnsmasq.pid")) as handle:
        os.kill(int(handle.read().strip()), signal.SIGHUP)


def leftovers():
    return sorted(name for name in os.listdir(STATE_DIR) if name.startswith(HOST + ".")) \
        if os.path.isdir(STATE_DIR) else []


def state(lab):
    return lab.node("vm", HOST).get("State", "")


def console():
    path = os.path.join(STATE_DIR, HOST + ".console.log")
    if not os.path.exists(path):
        return ""
    with open(path, errors="replace") as handle:
        return handle.read()


def return_to_pool(lab):
    if state(lab).split("+")[0] != "FUTURE":
        lab.run(["scontrol", "update", "nodename=" + HOST, "state=down", "reason=disk guest test cleanup"],
                check=False)
        lab.run(["scontrol", "update", "nodename=" + HOST, "state=future"], check=False)


@pytest.fixture(scope="module")
def disk_image():
    """The image make lab-disk-image built (the mirror is out of the lab namespace's reach)."""
    proc = subprocess.run([BUILD, "--cached"], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, "build-disk-image failed:\n%s\n%s" % (proc.stdout, proc.stderr[-3000:])
    image, kernel, initrd = proc.stdout.split()
    for path in (image, kernel, initrd):
        assert os.path.getsize(path) > 0, path
    return dict(image=image, kernel=kernel, initrd=initrd)


@pytest.fixture(scope="module")
def bundles(lab):
    """The provisioning server is up, and vm-disk-002's bundle carries the Slurm binaries."""
    proc = subprocess.run([os.path.join(REPO, "lab", "provision"), "up"], capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with tarfile.open(BUNDLE) as tar:
        names = tar.getnames()
    assert "./slurm-vm.tar.gz" in names and "./start.sh" in names, names
    return lab


@pytest.fixture
def node(libvirtd, bundles, lab):
    """Take vm-disk-002 (FUTURE, no domain); give it its DHCP reservation; release it all afterwards."""
    with open(os.path.join(INVENTORY, "images.yml")) as handle:
        images = image_table.normalize_table(yaml.safe_load(handle)["slurm_vm_images"])
    with open(os.path.join(INVENTORY, "scheduler.yml")) as handle:
        boot = yaml.safe_load(handle)["slurm_vm_boot"]["disk"]   # what role spawn boots the image with
    image = image_table.image_of_host(images, HOST)
    assert state(lab).split("+")[0] == "FUTURE", "%s is in use: %s" % (HOST, state(lab))
    run_module("libvirt_guest", dict(name=HOST, uri=URI, state_dir=STATE_DIR, state="absent"))
    mac, ip = image_table.vm_mac(image, HOST), image_table.vm_ip(image, HOST)
    assert (image["name"], mac, ip) == ("disk", "52:54:00:77:02:02", "10.77.2.2")
    tmp = os.path.join(HOSTSD, ".hpc-slurm-vm-%s.new" % HOST)
    with open(tmp, "w") as handle:
        handle.write("%s,%s,%s\n" % (mac, ip, HOST))
    os.rename(tmp, RESERVATION)
    hup_dnsmasq()
    jobs = []
    yield dict(mac=mac, ip=ip, image=image, boot=boot, jobs=jobs)
    lab.scancel("vm", *jobs)
    gone = run_module("libvirt_guest", dict(name=HOST, uri=URI, state_dir=STATE_DIR, state="absent"))
    if os.path.exists(RESERVATION):
        os.unlink(RESERVATION)
        hup_dnsmasq()
    return_to_pool(lab)
    assert not gone.get("failed"), gone
    assert virsh("dominfo", HOST).returncode != 0, "domain %s is still defined" % HOST
    assert not os.path.exists(RESERVATION)
    wait_until(lambda: state(lab).startswith("FUTURE"), 20, what="%s back to FUTURE" % HOST)


def boot_args(lab, disk_image, node, via):
    """libvirt_guest arguments: the bundle URL and token on the kernel command line, as role
    spawn passes them (URL?token=), or in SMBIOS OEM strings (the token sent as a header)."""
    token = boot_bundle.vm_token(HOST, lab.secret("boot-token"))
    url = "http://%s:8443/vm/%s/bundle.tar.gz" % (lab.gateway, HOST)
    args = dict(
        name=HOST, uri=URI, state_dir=STATE_DIR, virt_type="qemu", memory=node["image"]["memory_mb"],
        vcpus=node["image"]["vcpus"], mac=node["mac"], bridge=node["image"]["network"]["bridge"],
        image=disk_image["image"], image_dir=DISK_CACHE, kernel=disk_image["kernel"], initrd=disk_image["initrd"],
        cmdline=node["boot"]["cmdline"], sysinfo=dict(serial="hostname=" + HOST),
        tmp_disk=dict(size=node["boot"]["tmp_disk_size"], serial="tmpdisk"),
        metadata=dict(image="disk", test="disk-guest-node"), timeout=300)
    if via == "cmdline":
        args["cmdline"] += " vm.hostname=%s vm.fetch=%s?token=%s vm.tmpdisk=tmpdisk" % (HOST, url, token)
    else:   # the hostname from the SMBIOS serial, the rest from OEM strings; the module waits for the marker
        args["sysinfo"]["oem_strings"] = ["vm.fetch=" + url, "vm.token=" + token, "vm.tmpdisk=tmpdisk"]
        args["wait_for"] = dict(console=MARKER, address=node["ip"])
    return args


def check_the_boot_waited_for_the_marker(disk_image, node, args, result, seconds):
    """libvirt_guest returned once the console showed the marker with the reserved address; the guest runs the
    image's own kernel; its files are there; a repeat changes nothing."""
    assert "define" in result["actions"] and "start" in result["actions"], result["actions"]
    lines = [line for line in console().splitlines() if MARKER in line]
    assert lines, console()[-3000:]
    match = re.search(r"host=(\S+) ip=([0-9.]+)/\d+ kernel=(\S+)", lines[-1])
    assert match, lines[-1]
    assert match.group(1) == HOST
    assert match.group(2) == node["ip"]
    # its own kernel, not the fast guest's PVH vmlinux: the release matches the image's vmlinuz
    assert os.path.basename(os.path.realpath(disk_image["kernel"])) == "vmlinuz-" + match.group(3)
    print("%s: define+start to %s in %.1f s (%s)" % (HOST, MARKER, seconds, lines[-1].strip()))
    assert set(leftovers()) >= {HOST + ".qcow2", HOST + ".tmp.raw", HOST + ".console.log"}, leftovers()
    again = run_module("libvirt_guest", dict(args, wait_for=None))
    assert not again.get("failed") and not again["changed"], again


def timeline(out):
    """Guest uptimes of the boot's milestones, from the console."""
    marks = {}
    for name, pattern in (("network", r"HPCVM-DISK-READY .*uptime=([0-9.]+)"),
                          ("fetch", r"\[hpcvm-bundle ([0-9.]+)\] fetching"),
                          ("bundle", r"\[hpcvm-bundle ([0-9.]+)\] HPCVM-BUNDLE-FETCHED"),
                          ("binaries", r"\[hpcvm-boot ([0-9.]+)\] Slurm binaries"),
                          ("gate", r"\[hpcvm-boot ([0-9.]+)\] running the readiness gate")):
        match = re.search(pattern, out)
        if match:
            marks[name] = float(match.group(1))
    return " ".join("%s=%.1f" % item for item in sorted(marks.items(), key=lambda item: item[1]))


@pytest.mark.parametrize("via", ["cmdline", "smbios"])
def test_disk_guest_fetches_its_bundle_passes_the_gate_and_runs_a_job(lab, disk_image, node, via):
    args = boot_args(lab, disk_image, node, via)
    started = time.monotonic()
    for key in ("image", "kernel", "initrd"):   # the inventory boots the image the lab builds
        assert node["boot"][key] == disk_image[key], key
    result = run_module("libvirt_guest", args, timeout=420)
    assert not result.get("failed"), result
    assert result["changed"] and result["state"] == "running", result
    if via == "smbios":
        check_the_boot_waited_for_the_marker(disk_image, node, args, result, time.monotonic() - started)

    def registered():
        out = console()
        assert "HPCVM-BOOT-FAILED" not in out and "HPCVM-GATE-FAIL" not in out, out[-3000:]
        return state(lab).startswith("IDLE")
    wait_until(registered, 420, interval=0.5, what="%s IDLE" % HOST)
    idle = time.monotonic() - started
    out = console()
    fetched = re.search(r"HPCVM-BUNDLE-FETCHED host=(\S+)", out)
    assert fetched and fetched.group(1) == HOST, out[-3000:]
    assert "Slurm binaries from the bundle in /run/hpc-slurm-vm/slurm-vm" in out, out[-3000:]
    assert "HPCVM-GATE-PASS host=%s image=disk" % HOST in out, out[-3000:]
    assert "HPCVM-DISK-READY host=%s ip=%s/" % (HOST, node["ip"]) in out, out[-3000:]
    print("%s (%s): virsh start to IDLE in %.1f s; guest uptime at %s" % (HOST, via, idle, timeline(out)))

    # a batch job of the VM cluster runs on it; its output goes to the guest's console
    job = lab.sbatch("vm", "-w", HOST, "-t", "2", "-o", "/dev/ttyS0", "--wrap", "echo HPCVM-JOB-OUT $(hostname)")
    node["jobs"].append(job)
    queued = time.monotonic()
    wait_until(lambda: lab.job("vm", job).get("JobState") in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"),
               120, interval=0.5, what="job %s to end" % job)
    info = lab.job("vm", job)
    assert info["JobState"] == "COMPLETED" and info["NodeList"] == HOST, info
    wait_until(lambda: "HPCVM-JOB-OUT %s" % HOST in console(), 10, what="the job's output on the console")
    print("%s: job %s ran in %.1f s after submission" % (HOST, job, time.monotonic() - queued))

    if via == "smbios":   # removed: the domain and its files, never the base image (the fixture checks again)
        gone = run_module("libvirt_guest", dict(name=HOST, uri=URI, state_dir=STATE_DIR, state="absent"))
        assert not gone.get("failed") and gone["changed"] and gone["state"] == "absent", gone
        assert virsh("dominfo", HOST).returncode != 0, "domain %s is still defined" % HOST
        assert leftovers() == [], leftovers()
        assert os.path.getsize(disk_image["image"]) > 0, "the base image must survive the guest's removal"
