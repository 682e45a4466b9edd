# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for dhcp_host against the lab's real DHCP servers (lab/dhcp).

Each backend has its own test link, address range and MAC range (see lab/dhcp):
kea_pgsql 10.78.0.10-19 / 52:54:00:78:01:xx, kea_api .20-.29 / :02:xx (both Kea, link
dc-kea), dnsmasq .70-.79 / :03:xx (dc-dnsm), omapi .140-.149 / :04:xx (dc-isc).
Modules run as real processes (module file + args on stdin), as Ansible runs them.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
LAB_DIR = os.environ.get("HPCVM_LAB_DIR", "/tmp/hpcvm-lab")
CLIENT_NS = "hpcvm-dhcpcli"


def secret(name):
    with open(os.path.join(LAB_DIR, "secrets", name + ".secret")) as handle:
        return handle.read().strip()


def backend_params(name):
    if name == "kea_pgsql":
        return dict(backend="kea_pgsql", pgsql_host=os.path.join(LAB_DIR, "run", "pg"),
                    pgsql_password=secret("kea-pgsql"), subnet_id=1, subnet="10.78.0.0/26")
    if name == "kea_api":
        return dict(backend="kea_api", kea_api_url="http://127.0.0.1:8000/", kea_api_user="hpcvm",
                    kea_api_password=secret("kea-api"), subnet_id=1, subnet="10.78.0.0/26")
    if name == "dnsmasq":
        base = os.path.join(LAB_DIR, "dhcptest", "dnsmasq")
        return dict(backend="dnsmasq", dnsmasq_hostsdir=os.path.join(base, "hosts.d"),
                    dnsmasq_pid_file=os.path.join(base, "dnsmasq.pid"), subnet="10.78.0.64/26")
    if name == "omapi":
        return dict(backend="omapi", omapi_host="10.78.1.2", omapi_port=7911, omapi_key_name="omapi_key",
                    omapi_key=secret("dhcpd-omapi"), subnet="10.78.0.128/26")
    raise ValueError(name)


# backend -> (client interface, first reserved IP, MAC prefix)
TOPOLOGY = {
    "kea_pgsql": ("dc-kea", "10.78.0.10", "52:54:00:78:01"),
    "kea_api": ("dc-kea", "10.78.0.20", "52:54:00:78:02"),
    "dnsmasq": ("dc-dnsm", "10.78.0.70", "52:54:00:78:03"),
    "omapi": ("dc-isc", "10.78.0.140", "52:54:00:78:04"),
}
# backend -> the server's dynamic pool, first and last address (lab/dhcp: Kea pool, dnsmasq dhcp-range, dhcpd
# range): a client without a reservation gets one of these, so an answer from the server is told from silence.
DYNAMIC_POOL = {
    "kea_pgsql": ("10.78.0.40", "10.78.0.60"),
    "kea_api": ("10.78.0.40", "10.78.0.60"),
    "dnsmasq": ("10.78.0.100", "10.78.0.120"),
    "omapi": ("10.78.0.180", "10.78.0.190"),
}


def in_dynamic_pool(backend, ip):
    first, last = (ipaddress.IPv4Address(address) for address in DYNAMIC_POOL[backend])
    return first <= ipaddress.IPv4Address(ip) <= last


def host(backend, index, ip_offset=0):
    _iface, first, mac_prefix = TOPOLOGY[backend]
    base = first.rsplit(".", 1)
    return dict(hostname="t-%s-%02d" % (backend.replace("_", ""), index), mac="%s:%02x" % (mac_prefix, index),
                ip="%s.%d" % (base[0], int(base[1]) + index + ip_offset))


def run_module(name, args, check=False):
    """Run plugins/modules/<name>.py as Ansible would (args on stdin); return its JSON result."""
    payload = {"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=check, _ansible_diff=True)}
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, ".cache", "collections"), LC_ALL="C")
    proc = subprocess.run([sys.executable, "-m", "ansible_collections.hpc.slurm_vm.plugins.modules." + name],
                          input=json.dumps(payload), capture_output=True, text=True, env=env, timeout=120, check=False)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("module %s printed no JSON (rc %d):\n%s\n%s"
                             % (name, proc.returncode, proc.stdout, proc.stderr)) from None


def dhcp_exchange(iface, mac, scratch, tries=3, timeout=3):
    """One DHCP exchange from netns hpcvm-dhcpcli on iface with this MAC: (ip, hostname), or None when udhcpc
    ran and no server answered ("no lease, failing"). A client that could not run raises: unknown is not None.

    Each DISCOVER waits `timeout` seconds (busybox's default, -T 3 -t 3): dnsmasq pings an address of its
    dynamic range before it offers it and answers no DHCP for those 3 seconds (captured in the lab: offer
    3.0 s after the first DISCOVER), so a 1 s wait gave up on a server that was answering.
    """
    ns = ["nsenter", "--net=/run/netns/%s" % CLIENT_NS]
    for argv in (["ip", "link", "set", iface, "down"], ["ip", "link", "set", iface, "address", mac],
                 ["ip", "addr", "flush", "dev", iface], ["ip", "link", "set", iface, "up"]):
        subprocess.run(ns + argv, check=True, timeout=10)
    events = os.path.join(scratch, "events-%s" % iface)
    script = os.path.join(scratch, "udhcpc-%s.sh" % iface)
    with open(script, "w") as handle:
        handle.write('#!/bin/sh\n[ "$1" = bound ] && echo "$ip $hostname" > "%s"\nexit 0\n' % events)
    os.chmod(script, 0o700)
    if os.path.exists(events):
        os.unlink(events)
    # -f foreground, -q quit once bound, -n fail without lease; udhcpc asks for option 12 (hostname)
    proc = subprocess.run(ns + ["busybox", "udhcpc", "-f", "-q", "-n", "-t", str(tries), "-T", str(timeout),
                                "-i", iface, "-s", script],
                          capture_output=True, text=True, timeout=tries * timeout + 30, check=False)
    if not os.path.exists(events):
        output = proc.stdout + proc.stderr
        if proc.returncode == 1 and "no lease" in output:
            return None
        raise AssertionError("udhcpc on %s did not run to an answer or a timeout (rc %d):\n%s"
                             % (iface, proc.returncode, output))
    with open(events) as handle:
        words = handle.read().split()
    return (words[0], words[1] if len(words) > 1 else None) if words else None


@pytest.fixture(scope="session")
def dhcpd_running():
    """ISC dhcpd is on demand: start it if it is not running."""
    subprocess.run([os.path.join(REPO, "lab", "dhcp"), "up", "--with-dhcpd"], check=True, capture_output=True,
                   timeout=120)


@pytest.fixture
def scratch(lab):
    return lab.scratch("dhcp")
