# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guests' dnsmasq serves reservations from its hostsdir, and nothing else.

A real DHCP exchange: busybox udhcpc in a network namespace of the test's own,
attached to the lab bridge by a veth, with the MAC the image table gives a pool host.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import time
import uuid

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table

from .conftest import defined_domains

HOST = "vm-deb12-004"   # ours; no guest of that name may run meanwhile (test_guest.py does not use it)

UDHCPC_SCRIPT = """#!/bin/sh
[ "$1" = bound ] && echo "ip=$ip mask=$mask hostname=$hostname domain=$domain router=$router dns=$dns" >> "$EVENTS"
exit 0
"""


@pytest.fixture
def client_ns(lab):
    """A namespace with eth0 on the lab bridge (the peer sits in the lab netns)."""
    suffix = uuid.uuid4().hex[:6]
    ns, veth = "hpcvm-dhcpt-" + suffix, "vdt" + suffix
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns], check=True)
        subprocess.run(["ip", "link", "set", veth, "master", lab.env["LAB_BRIDGE"], "up"], check=True)
        yield ns
    finally:
        subprocess.run(["ip", "link", "del", veth], check=False)
        subprocess.run(["ip", "netns", "del", ns], check=False)


def _dhcp(lab, ns, mac, tries=4):
    work = lab.scratch("dhcp")
    script = os.path.join(work, "udhcpc.sh")
    with open(script, "w") as handle:
        handle.write(UDHCPC_SCRIPT)
    os.chmod(script, 0o700)
    events = os.path.join(work, "events")
    enter = ["nsenter", "--net=/run/netns/" + ns]
    subprocess.run(enter + ["ip", "link", "set", "eth0", "down"], check=True)
    subprocess.run(enter + ["ip", "link", "set", "eth0", "address", mac], check=True)
    subprocess.run(enter + ["ip", "link", "set", "eth0", "up"], check=True)
    proc = subprocess.run(enter + ["busybox", "udhcpc", "-f", "-q", "-n", "-t", str(tries), "-T", "1",
                                   "-i", "eth0", "-s", script],
                          env=dict(os.environ, EVENTS=events), capture_output=True, text=True, timeout=30, check=False)
    lease = {}
    if os.path.exists(events):
        with open(events) as handle:
            last = handle.read().strip().splitlines()[-1]
        lease = dict(word.split("=", 1) for word in last.split())
    return proc, lease


def _reservation_file(lab, host):
    return os.path.join(lab.dir, "dnsmasq", "hosts.d", "hpc-slurm-vm-" + host)


def test_a_client_gets_its_reservation_from_the_hostsdir(lab, images, client_ns):
    assert HOST not in defined_domains(HOST), "%s runs as a guest; its MAC would be on the bridge twice" % HOST
    image = image_table.image_of_host(images, HOST)
    mac, ip = image_table.vm_mac(image, HOST), image_table.vm_ip(image, HOST)
    path = _reservation_file(lab, HOST)
    assert not os.path.exists(path), "a reservation for %s is left over: %s" % (HOST, path)
    staging = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".new")   # dnsmasq skips dot files
    with open(staging, "w") as handle:
        handle.write("%s,%s,%s\n" % (mac, ip, HOST))
    os.rename(staging, path)
    try:
        started = time.monotonic()
        proc, lease = _dhcp(lab, client_ns, mac)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert lease.get("ip") == ip
        assert lease.get("hostname") == HOST
        assert lease.get("domain") == lab.domain
        assert lease.get("dns") == lab.gateway
        assert lease.get("router", "") == "", "the guests must get no default route"
        assert lease.get("mask") == lab.env["LAB_SUBNET"].split("/")[1]
        assert time.monotonic() - started < 10
        with open(os.path.join(lab.dir, "dnsmasq", "dnsmasq.leases")) as handle:
            assert any(line.split()[1:4] == [mac, ip, HOST] for line in handle)
    finally:
        os.remove(path)
        with open(os.path.join(lab.dir, "run", "dnsmasq.pid")) as handle:
            os.kill(int(handle.read().strip()), 1)   # SIGHUP: dnsmasq forgets removed host files


def test_a_client_without_a_reservation_gets_no_address(lab, client_ns):
    proc, lease = _dhcp(lab, client_ns, "52:54:00:77:0f:%02x" % uuid.uuid4().bytes[0], tries=2)
    assert proc.returncode != 0
    assert lease == {}
