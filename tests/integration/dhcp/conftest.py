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


# backend -> (client interface, first reserved IP, MAC prefix, dynamic pool prefix)
TOPOLOGY = {
    "kea_pgsql": ("dc-kea", "10.78.0.10", "52:54:00:78:01"),
    "kea_api": ("dc-kea", "10.78.0.20", "52:54:00:78:02"),
    "dnsmasq": ("dc-dnsm", "10.78.0.70", "52:54:00:78:03"),
    "omapi": ("dc-isc", "10.78.0.140", "52:54:00:78:04"),
}


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


def dhcp_exchange(iface, mac, scratch, tries=3):
    """One DHCP exchange from netns hpcvm-dhcpcli on iface with this MAC: (ip, hostname) or None."""
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
    subprocess.run(ns + ["busybox", "udhcpc", "-f", "-q", "-n", "-t", str(tries), "-T", "1", "-i", iface, "-s", script],
                   capture_output=True, timeout=30, check=False)
    if not os.path.exists(events):
        return None
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
