# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for the boot_provision tests: client namespaces on the lab bridge, tokens, reports."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import subprocess

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
GATE = os.path.join(REPO, "roles", "boot_provision", "files", "readiness-gate.sh")
STANDIN = os.path.join(os.path.dirname(__file__), "guest_standin.sh")
PORT = 8443
# The one pool VM these tests may impersonate (others are used by other tests).
VM = "vm-disk-004"
VM_IP = "10.77.2.4"
OTHER_VM = "vm-disk-003"
STRANGER_IP = "10.77.9.250"   # in the lab subnet, reserved for no VM


def sh(argv, check=True, timeout=60, **kwargs):
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (rc %d): %s%s" % (argv, proc.returncode, proc.stdout, proc.stderr))
    return proc


def veth_name(ns):
    return "vbp" + hashlib.md5(ns.encode()).hexdigest()[:10]  # noqa: S324 - a name, not security


class ClientNamespace(object):
    """A network namespace on the lab bridge with one address (run inside the lab netns)."""

    def __init__(self, name, ip, bridge):
        self.name, self.ip, self.bridge = name, ip, bridge
        self.veth = veth_name(name)

    def __enter__(self):
        self.close()
        sh(["ip", "netns", "add", self.name])
        sh(["ip", "link", "add", self.veth, "type", "veth", "peer", "name", "eth0", "netns", self.name])
        sh(["ip", "link", "set", self.veth, "master", self.bridge, "up"])
        sh(["ip", "-n", self.name, "link", "set", "lo", "up"])
        sh(["ip", "-n", self.name, "addr", "add", self.ip + "/16", "dev", "eth0"])
        sh(["ip", "-n", self.name, "link", "set", "eth0", "up"])
        return self

    def run(self, argv, **kwargs):
        return sh(["nsenter", "--net=/run/netns/" + self.name] + list(argv), check=False, **kwargs)

    def popen(self, argv, **kwargs):
        return subprocess.Popen(["nsenter", "--net=/run/netns/" + self.name] + list(argv), **kwargs)

    def close(self):
        sh(["ip", "link", "del", self.veth], check=False)
        if os.path.exists("/run/netns/" + self.name):
            sh(["ip", "netns", "del", self.name], check=False)

    def __exit__(self, *exc):
        self.close()


def manifest_tokens(lab_dir):
    """{host: token} from the manifest the role wrote (root-only)."""
    tokens = {}
    with open(os.path.join(lab_dir, "provision", "stage", "manifest.tsv")) as handle:
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if fields[0] == "vm":
                tokens[fields[1]] = fields[3]
    return tokens


def reports(lab_dir, host):
    """The gate reports the server logged for host, oldest first, each {received, ip, vm, report: {...}}."""
    path = os.path.join(lab_dir, "provision", "reports", host + ".log")
    if not os.path.exists(path):
        return []
    entries = []
    with open(path) as handle:
        for line in handle:
            entry = json.loads(line)
            entry["report"] = json.loads(entry["report"])
            entries.append(entry)
    return entries
