# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real fast guests (TCG) on the lab bridge: boot, DHCP, ping, and joining the VM cluster."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import subprocess
import time

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table

from ..conftest import wait_until


def _leases(lab):
    with open(os.path.join(lab.dir, "dnsmasq", "dnsmasq.leases")) as handle:
        return [line.split()[1:4] for line in handle if line.strip()]


def test_a_fast_guest_boots_gets_its_reserved_ip_and_answers_ping(lab, images, guests):
    host = "vm-deb12-001"
    image = image_table.image_of_host(images, host)
    mac, ip = image_table.vm_mac(image, host), image_table.vm_ip(image, host)
    guests.reserve(host)
    started = time.monotonic()
    proc = guests.start(host, wait="marker", timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr + guests.console(host)[-2000:]
    boot = time.monotonic() - started
    console = guests.console(host)
    # stage 1: hostname from the kernel command line, address from the reservation
    match = re.search(r"HPCVM-STAGE1-DONE host=(\S+) ip=(\S+) mac=(\S+)", console)
    assert match, console[-2000:]
    assert match.groups() == (host, ip + "/" + lab.env["LAB_SUBNET"].split("/")[1], mac)
    assert re.search(r"tmpdisk /dev/vd\w+ -> /tmp", console), "the /tmp disk was not found by its serial"
    assert "HPCVM-STAGE2 host=%s" % host in console, "the boot tarball's start.sh did not run"
    assert [mac, ip, host] in _leases(lab)
    ping = subprocess.run(["busybox", "ping", "-c", "2", "-W", "2", ip], capture_output=True, text=True,
                          timeout=20, check=False)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert " 0% packet loss" in ping.stdout
    assert boot < 300   # generous: TCG on a 2-core machine shared with other work


def test_a_guest_joins_the_vm_cluster_and_runs_a_pending_job(lab, images, guests):
    host = "vm-deb12-002"
    gres = image_table.image_of_host(images, host)["gres"]
    # FUTURE, possibly +NOT_RESPONDING: a ping still in flight when the last guest went away
    assert lab.node("vm", host).get("State", "").split("+")[0] == "FUTURE", "the pool node must start FUTURE"
    reservation = guests.reserve(host)
    out_dir = lab.scratch("guest-job")
    os.chmod(out_dir, 0o1777)  # noqa: S103 - the guest writes through 9p as the qemu user
    out = os.path.join(out_dir, "out.txt")
    job = lab.sbatch("vm", "--reservation=" + reservation, "--gres=%s:1" % gres, "-t", "5", "-o", out,
                     "--wrap", "echo hostname=$(hostname) tmp=$(stat -f -c %T /tmp)")
    wait_until(lambda: lab.job("vm", job).get("Reason") not in (None, "None"), 15, what="a pending reason")
    assert lab.job("vm", job)["JobState"] == "PENDING"
    started = time.monotonic()
    proc = guests.start(host, wait="idle", timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr + guests.console(host)[-2000:]
    idle = time.monotonic() - started
    wait_until(lambda: lab.job("vm", job).get("JobState") == "COMPLETED", 180, what="job %s completed" % job)
    info = lab.job("vm", job)
    assert info["NodeList"] == host
    wait_until(lambda: os.path.exists(out) and os.path.getsize(out) > 0, 10, what="the job's output")
    with open(out) as handle:
        assert handle.read().split() == ["hostname=" + host, "tmp=ext2/ext3"]
    assert idle < 300
