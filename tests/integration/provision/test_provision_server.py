# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's provisioning server (nginx configured by role boot_provision): a VM's
bundle only to its reserved IP with its token; anything else 403."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tarfile
import uuid

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.provision.bundle import vm_token

from .helpers import OTHER_VM, PORT, STRANGER_IP, VM, VM_IP, ClientNamespace, manifest_tokens, reports, sh


@pytest.fixture(scope="module")
def server(lab):
    proc = sh([os.path.join(os.path.dirname(__file__), "..", "..", "..", "lab", "provision"), "status"], check=False)
    assert proc.returncode == 0, "the provisioning server is down: %s%s" % (proc.stdout, proc.stderr)
    return "http://%s:%d" % (lab.gateway, PORT)


@pytest.fixture(scope="module")
def tokens(lab):
    return manifest_tokens(lab.dir)


@pytest.fixture(scope="module")
def vm_ns(lab):
    with ClientNamespace("hpcvm-bp-vm", VM_IP, lab.env["LAB_BRIDGE"]) as ns:
        yield ns


@pytest.fixture(scope="module")
def stranger_ns(lab):
    with ClientNamespace("hpcvm-bp-x", STRANGER_IP, lab.env["LAB_BRIDGE"]) as ns:
        yield ns


def fetch(ns, url, headers=(), method="GET", data=None, out=None):
    argv = ["curl", "-s", "-m", "5", "-X", method, "-o", out or "/dev/null", "-w", "%{http_code}"]
    for h in headers:
        argv += ["-H", h]
    if data is not None:
        argv += ["--data-binary", data]
    proc = ns.run(argv + [url]) if ns is not None else sh(argv + [url], check=False)
    return int(proc.stdout.strip() or 0)


def test_tokens_are_the_hmac_of_the_hostname(lab, tokens):
    with open(os.path.join(lab.dir, "secrets", "boot-token.secret")) as handle:
        secret = handle.read().strip()
    assert len(tokens) == 14  # every pool host of inventories/lab's images
    for host, token in tokens.items():
        assert token == vm_token(host, secret)
    assert len(set(tokens.values())) == len(tokens)


def test_right_ip_right_token_gets_its_bundle(lab, server, tokens, vm_ns):
    path = lab.scratch("bp-fetch") + "/bundle.tar.gz"
    url = "%s/vm/%s/bundle.tar.gz" % (server, VM)
    assert fetch(vm_ns, url + "?token=" + tokens[VM], out=path) == 200
    assert fetch(vm_ns, url, headers=["X-HPCVM-Token: " + tokens[VM]]) == 200
    with tarfile.open(path) as tar:
        names = set(tar.getnames())
        for name in ("./start.sh", "./readiness-gate.sh", "./gate.conf", "./bundle.env", "./etc/slurm.conf",
                     "./etc/slurm_vm_pool.conf", "./etc/cgroup.conf", "./etc/munge.key", "./etc/slurm.local.conf"):
            assert name in names
        key = tar.extractfile("./etc/munge.key").read()
        assert tar.getmember("./etc/munge.key").mode & 0o077 == 0
        local = tar.extractfile("./etc/slurm.local.conf").read().decode()
        conf = tar.extractfile("./etc/slurm.conf").read().decode()
        env = tar.extractfile("./bundle.env").read().decode()
    # the VM cluster's key, never the host cluster's
    with open(os.path.join(lab.dir, "secrets", "munge-vm.key"), "rb") as handle:
        assert key == handle.read()
    with open(os.path.join(lab.dir, "secrets", "munge-host.key"), "rb") as handle:
        assert key != handle.read()
    # selection by filename: DISK (prio 10) beats LAB_VMS (prio 5) for vm-disk-004
    assert "slurm.local.conf.10.n_DISK" in local
    assert "Include /run/hpc-slurm-vm/etc/slurm_vm_pool.conf" in conf
    assert "Include /run/hpc-slurm-vm/etc/slurm.local.conf" in conf
    assert "ClusterName=labvm" in conf
    assert "BUNDLE_HOST='%s'" % VM in env and tokens[VM] in env


def test_bundles_of_the_two_images_differ_in_selection(lab):
    with tarfile.open(os.path.join(lab.dir, "provision", "vm", "vm-deb12-001", "bundle.tar.gz")) as tar:
        assert "n_LAB_VMS" in tar.extractfile("./etc/slurm.local.conf").read().decode()
        assert "./etc/plugstack.conf" in tar.getnames()


@pytest.mark.parametrize("case", ["wrong token", "no token", "empty token", "token of another VM"])
def test_right_ip_without_its_token_gets_403(server, tokens, vm_ns, case):
    url = "%s/vm/%s/bundle.tar.gz" % (server, VM)
    token = {"wrong token": uuid.uuid4().hex, "no token": None, "empty token": "",
             "token of another VM": tokens[OTHER_VM]}[case]
    if token is None:
        assert fetch(vm_ns, url) == 403
    else:
        assert fetch(vm_ns, url + "?token=" + token) == 403
        assert fetch(vm_ns, url, headers=["X-HPCVM-Token: " + token]) == 403


def test_another_vms_bundle_gets_403_even_with_that_vms_token(server, tokens, vm_ns):
    url = "%s/vm/%s/bundle.tar.gz" % (server, OTHER_VM)
    assert fetch(vm_ns, url + "?token=" + tokens[VM]) == 403
    assert fetch(vm_ns, url + "?token=" + tokens[OTHER_VM]) == 403  # right token, wrong IP


def test_wrong_ip_with_the_right_token_gets_403(server, tokens, stranger_ns):
    url = "%s/vm/%s/bundle.tar.gz" % (server, VM)
    assert fetch(stranger_ns, url + "?token=" + tokens[VM]) == 403
    assert fetch(None, url + "?token=" + tokens[VM]) == 403      # from the gateway itself


@pytest.mark.parametrize("path", ["/", "/vm/", "/vm/%s/" % VM, "/vm/%s/../vm-disk-003/bundle.tar.gz" % VM,
                                  "/vm/%s/munge.key" % VM, "/stage/manifest.tsv", "/status/"])
def test_everything_else_gets_403(server, tokens, vm_ns, path):
    assert fetch(vm_ns, server + path + "?token=" + tokens[VM]) == 403


def test_only_get_for_bundles(server, tokens, vm_ns):
    url = "%s/vm/%s/bundle.tar.gz?token=%s" % (server, VM, tokens[VM])
    assert fetch(vm_ns, url, method="PUT", data="x") == 403
    assert fetch(vm_ns, url, method="DELETE") == 403


def test_reports_are_taken_only_from_the_vm_with_its_token(lab, server, tokens, vm_ns, stranger_ns):
    url = "%s/report/%s" % (server, VM)
    marker = uuid.uuid4().hex
    body = '{"status":"fail","check":"mounts","reason":"test %s \\"quoted\\""}' % marker
    before = len(reports(lab.dir, VM))
    assert fetch(stranger_ns, url, headers=["X-HPCVM-Token: " + tokens[VM]], method="POST", data=body) == 403
    assert fetch(vm_ns, url, headers=["X-HPCVM-Token: bad" + tokens[VM]], method="POST", data=body) == 403
    assert fetch(vm_ns, url, method="GET") == 403
    assert len(reports(lab.dir, VM)) == before
    assert fetch(vm_ns, url, headers=["X-HPCVM-Token: " + tokens[VM]], method="POST", data=body) == 204
    entries = reports(lab.dir, VM)
    assert len(entries) == before + 1
    assert entries[-1]["ip"] == "10.77.2.4" and entries[-1]["vm"] == VM
    assert entries[-1]["report"]["reason"] == 'test %s "quoted"' % marker
    # the scheduler reads it over /status/ (from an allowed address)
    out = lab.scratch("bp-status") + "/r.log"
    assert fetch(None, "%s/status/%s.log" % (server, VM), out=out) == 200
    with open(out) as handle:
        assert marker in handle.read()
    assert fetch(vm_ns, "%s/status/%s.log" % (server, VM)) == 403
