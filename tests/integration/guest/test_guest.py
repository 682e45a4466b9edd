# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real fast guests (TCG) on the lab bridge: boot, DHCP, ping, and joining the VM cluster."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import subprocess
import xml.etree.ElementTree as ET  # noqa: S405 - the XML comes from the lab's libvirtd

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table

from ..conftest import wait_until
from .conftest import URI, console


def _leases(lab):
    with open(os.path.join(lab.dir, "dnsmasq", "dnsmasq.leases")) as handle:
        return [line.split()[1:4] for line in handle if line.strip()]


def _domain(host):
    proc = subprocess.run(["virsh", "-q", "-c", URI, "dumpxml", "--inactive", host], capture_output=True, text=True,
                          timeout=60, check=True)
    return ET.fromstring(proc.stdout)  # noqa: S314


def test_a_fast_guest_boots_gets_its_reserved_ip_and_answers_ping(lab, images, guests):
    host = "vm-deb12-001"
    image = image_table.image_of_host(images, host)
    mac, ip = image_table.vm_mac(image, host), image_table.vm_ip(image, host)
    guests.reserve(host)
    boot = guests.start(host, wait="marker", timeout=300)[host]
    out = console(host)
    # the domain libvirt_guest defined: size, NIC and boot settings from the lab inventory
    root = _domain(host)
    assert root.get("type") == "qemu"
    assert root.findtext("name") == host
    assert root.find("memory").get("unit") == "KiB" and int(root.findtext("memory")) == image["memory_mb"] * 1024
    assert root.findtext("vcpu") == str(image["vcpus"])
    assert root.find("devices/interface/mac").get("address") == mac
    assert root.find("devices/interface/source").get("bridge") == image["network"]["bridge"]
    assert root.findtext("devices/disk/serial") == "tmpdisk"
    cmdline = root.findtext("os/cmdline").split()
    assert "vm.hostname=" + host in cmdline and "vm.tmpdisk=tmpdisk" in cmdline
    assert [w for w in cmdline if w.startswith("vm.fetch=")][0].startswith(
        "vm.fetch=http://%s:8443/vm/%s/bundle.tar.gz?token=" % (lab.gateway, host))
    ns = "{urn:hpc.slurm_vm:1}"
    meta = {e.get("key"): e.text for e in root.findall("metadata/%sguest/%smeta" % (ns, ns))}
    assert meta["image"] == image["name"] == "deb12"
    shares = {fs.find("target").get("dir"): fs for fs in root.findall("devices/filesystem")}
    assert shares["hostroot"].find("readonly") is not None and shares["hostroot"].get("multidevs") == "remap"
    # stage 1: hostname from the kernel command line, address from the reservation
    match = re.search(r"HPCVM-STAGE1-DONE host=(\S+) ip=(\S+) mac=(\S+)", out)
    assert match, out[-2000:]
    assert match.groups() == (host, ip + "/" + lab.env["LAB_SUBNET"].split("/")[1], mac)
    assert re.search(r"tmpdisk /dev/vd\w+ -> /tmp", out), "the /tmp disk was not found by its serial"
    assert "HPCVM-BOOT host=%s image=deb12" % host in out, "the boot bundle's start.sh did not run"
    assert "HPCVM-GATE-PASS host=%s image=deb12" % host in out, "the readiness gate did not pass"
    assert [mac, ip, host] in _leases(lab)
    ping = subprocess.run(["busybox", "ping", "-c", "2", "-W", "2", ip], capture_output=True, text=True,
                          timeout=20, check=False)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert " 0% packet loss" in ping.stdout
    assert boot < 300   # generous: TCG on a 2-core machine shared with other work
    print("%s: gate passed %.1f s after the start of lab_guest.yml" % (host, boot))


def test_a_guest_joins_the_vm_cluster_and_runs_a_pending_job(lab, images, guests):
    host = "vm-deb12-002"
    gres = image_table.image_of_host(images, host)["gres"]
    # FUTURE, possibly +NOT_RESPONDING: a ping still in flight when the last guest went away
    assert lab.node("vm", host).get("State", "").split("+")[0] == "FUTURE", "the pool node must start FUTURE"
    reservation = guests.reserve(host)
    # the job's output goes to the guest's console, which the host reads (role spawn shares no job folder)
    job = lab.sbatch("vm", "--reservation=" + reservation, "--gres=%s:1" % gres, "-t", "5", "-o", "/dev/ttyS0",
                     "--wrap", "echo HPCVM-JOB-OUT hostname=$(hostname) tmp=$(stat -f -c %T /tmp)")
    wait_until(lambda: lab.job("vm", job).get("Reason") not in (None, "None"), 15, what="a pending reason")
    assert lab.job("vm", job)["JobState"] == "PENDING"
    idle = guests.start(host, wait="idle", timeout=300)[host]
    wait_until(lambda: lab.job("vm", job).get("JobState") == "COMPLETED", 180, what="job %s completed" % job)
    info = lab.job("vm", job)
    assert info["NodeList"] == host
    wait_until(lambda: "HPCVM-JOB-OUT " in console(host), 10, what="the job's output")
    line = re.search(r"HPCVM-JOB-OUT (.*)", console(host)).group(1)
    assert line.split() == ["hostname=" + host, "tmp=ext2/ext3"]
    assert idle < 300
    print("%s: registered %.1f s after the start of lab_guest.yml" % (host, idle))
