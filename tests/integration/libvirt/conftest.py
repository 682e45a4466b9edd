# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for libvirt_guest against the lab's libvirtd (TCG guests on br-hpcvm).

Guests: vm-deb12-005 / -006 (MAC 52:54:00:77:01:05/06, 10.77.1.5/6, from the image
table) and throwaway t7-* names. Each guest gets a DHCP reservation (dnsmasq hostsdir
file) and a tiny boot tarball whose start.sh prints T7-GUEST-READY on the console. The
tarballs are served by this session's own HTTP server on the lab gateway (BOOT_PORT),
from a temporary directory; the server, the reservations and the domains are removed
afterwards.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import os
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
LAB_DIR = os.environ.get("HPCVM_LAB_DIR", "/tmp/hpcvm-lab")
STATE_DIR = os.path.join(LAB_DIR, "vms")
CACHE = os.environ.get("HPCVM_IMAGE_CACHE", "/var/cache/hpcvm-lab/guest")
URI = "qemu:///system"
MARKER = "T7-GUEST-READY"
GUESTS = {"vm-deb12-005": ("52:54:00:77:01:05", "10.77.1.5"), "vm-deb12-006": ("52:54:00:77:01:06", "10.77.1.6")}
GATEWAY = "10.77.0.1"
BOOT_PORT = 8089
BOOT_URL = "http://%s:%d/" % (GATEWAY, BOOT_PORT)
START_SH = b'#!/bin/sh\necho "T7-GUEST-READY host=$(hostname)" > /dev/ttyS0\nexec sleep infinity\n'


def run_module(name, args, check=False, timeout=300):
    """Run plugins/modules/<name>.py as Ansible would (args on stdin); return its JSON result."""
    payload = {"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=check, _ansible_diff=True)}
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, ".cache", "collections"), LC_ALL="C")
    proc = subprocess.run([sys.executable, "-m", "ansible_collections.hpc.slurm_vm.plugins.modules." + name],
                          input=json.dumps(payload), capture_output=True, text=True, env=env, timeout=timeout,
                          check=False)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("module %s printed no JSON (rc %d):\n%s\n%s"
                             % (name, proc.returncode, proc.stdout, proc.stderr)) from None


def virsh(*args, check=False):
    return subprocess.run(["virsh", "-q", "-c", URI] + list(args), capture_output=True, text=True, timeout=60,
                          check=check)


def fast_guest(host, **extra):
    """libvirt_guest arguments for the lab's fast guest (Debian kernel, host root over 9p); its kernel and
    initrd are in CACHE, the image directory it gives (libvirt_guest refuses boot files outside it)."""
    mac, _ip = GUESTS.get(host, ("52:54:00:77:01:fe", None))
    args = dict(
        name=host, uri=URI, state_dir=STATE_DIR, virt_type="qemu", memory=256, vcpus=1, mac=mac, bridge="br-hpcvm",
        image_dir=CACHE, kernel=os.path.join(CACHE, "vmlinux"), initrd=os.path.join(CACHE, "initrd.gz"),
        cmdline="console=ttyS0 quiet panic=-1 acpi=off vm.hostname=%s vm.tmpdisk=hpcvm-tmp "
                "vm.fetch=%st7-%s.tar.gz" % (host, BOOT_URL, host),
        filesystems=[dict(source="/", target="hostroot", readonly=True)],
        tmp_disk=dict(size="256M", serial="hpcvm-tmp"), metadata=dict(image="deb12", test="t7"))
    args.update(extra)
    return args


def remove_guest(host):
    virsh("destroy", host)
    virsh("undefine", host)
    for suffix in (".qcow2", ".tmp.raw", ".console.log"):
        path = os.path.join(STATE_DIR, host + suffix)
        if os.path.exists(path):
            os.unlink(path)


@pytest.fixture(scope="session")
def libvirtd(lab):
    if virsh("version").returncode != 0:
        pytest.fail("the lab's libvirtd does not answer at %s (lab/vmlayer up)" % URI, pytrace=False)
    if not os.path.exists(os.path.join(CACHE, "vmlinux")):
        pytest.fail("no guest kernel in %s (make lab-images)" % CACHE, pytrace=False)
    return lab


def _answers(url):
    try:
        with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - BOOT_URL, a constant http:// URL
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def boot_dir(libvirtd, tmp_path_factory):
    """A directory served over HTTP on the lab gateway for this session; the server is ours and stopped by PID."""
    root = tmp_path_factory.mktemp("t7-boot")
    proc = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", GATEWAY, "--directory", str(root),
                             str(BOOT_PORT)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not _answers(BOOT_URL):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the test boot server on %s did not start (rc %s)" % (BOOT_URL, proc.poll()),
                            pytrace=False)
            time.sleep(0.1)
        yield str(root)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def guest(libvirtd, boot_dir):
    """guest(host) -> the host's reservation + boot tarball in place; cleaned up afterwards."""
    made = []

    def prepare(host):
        made.append(host)
        remove_guest(host)
        if host in GUESTS:
            mac, ip = GUESTS[host]
            hostsd = os.path.join(LAB_DIR, "dnsmasq", "hosts.d")
            with open(os.path.join(hostsd, ".hpc-slurm-vm-%s.new" % host), "w") as handle:
                handle.write("%s,%s,%s\n" % (mac, ip, host))
            os.rename(os.path.join(hostsd, ".hpc-slurm-vm-%s.new" % host),
                      os.path.join(hostsd, "hpc-slurm-vm-%s" % host))
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            info = tarfile.TarInfo("start.sh")
            info.mode = 0o755
            info.size = len(START_SH)
            tar.addfile(info, io.BytesIO(START_SH))
        with open(os.path.join(boot_dir, "t7-%s.tar.gz" % host), "wb") as handle:
            handle.write(buf.getvalue())
        return host

    yield prepare
    for host in made:
        remove_guest(host)
        for path in (os.path.join(boot_dir, "t7-%s.tar.gz" % host),
                     os.path.join(LAB_DIR, "dnsmasq", "hosts.d", "hpc-slurm-vm-%s" % host)):
            if os.path.exists(path):
                os.unlink(path)
