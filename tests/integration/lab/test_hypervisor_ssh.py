# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stand-in hypervisors are reached over SSH (issue 17, item 3): each runs sshd in its own
namespaces (lab/standin, lab/ssh), and inventories/lab reaches hv01-hv04 with the lab's key and
known_hosts, never with a local connection. A command run there sees the stand-in's hostname and
address, not the controller's; a wrong key and an unknown host key are refused."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess

import pytest

from ..conftest import REPO

ANSIBLE = os.path.join(REPO, ".venv", "bin", "ansible")
ANSIBLE_INVENTORY = os.path.join(REPO, ".venv", "bin", "ansible-inventory")
# the first value of an ssh option wins, and ssh_args come before the inventory's common args:
# no ControlMaster connection is reused, so each run authenticates afresh
NO_MASTER = {"ANSIBLE_SSH_ARGS": "-o ControlPath=none -o ControlMaster=no"}


def run(argv, env=None, timeout=120):
    return subprocess.run(argv, cwd=REPO, env=dict(os.environ, LC_ALL="C.UTF-8", **(env or {})), capture_output=True,
                          text=True, timeout=timeout, check=False)


def adhoc(pattern, *args, env=None):
    """`ansible PATTERN -i inventories/lab ARGS` with one line per host (-o)."""
    return run([ANSIBLE, pattern, "-i", "inventories/lab", "-o"] + list(args), env=env)


def lines_by_host(stdout):
    found = {}
    for line in stdout.splitlines():
        host, sep, rest = line.partition(" | ")
        if sep:
            found[host.strip()] = rest
    return found


def ssh(lab, name, key, known_hosts, *command):
    return run(["ssh", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ControlPath=none",
                "-o", "UserKnownHostsFile=" + known_hosts, "-o", "StrictHostKeyChecking=yes",
                "-o", "ConnectTimeout=10", "root@" + lab.hypervisors[name]] + list(command), timeout=60)


@pytest.fixture(scope="module")
def lab_key(lab):
    key = os.path.join(lab.dir, "secrets", "ssh", "lab_ed25519")
    assert os.path.exists(key), "%s missing: lab/standin (lab/ssh) makes it" % key
    return key


@pytest.fixture(scope="module")
def known_hosts(lab):
    return os.path.join(lab.dir, "ssh", "known_hosts")


@pytest.fixture
def wrong_key(tmp_path):
    key = str(tmp_path / "wrong_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True, timeout=30)
    return key


def test_the_inventory_reaches_every_hypervisor_over_ssh(lab):
    proc = run([ANSIBLE_INVENTORY, "-i", "inventories/lab", "--list"])
    assert proc.returncode == 0, proc.stderr
    hostvars = json.loads(proc.stdout)["_meta"]["hostvars"]
    for name, ip in sorted(lab.hypervisors.items()):
        variables = hostvars[name]
        assert variables.get("ansible_connection", "ssh") == "ssh", (name, variables.get("ansible_connection"))
        assert variables["ansible_user"] == "root"
        assert "StrictHostKeyChecking=yes" in variables["ansible_ssh_common_args"]
        assert variables["lab_ip"] == ip


def test_a_module_runs_in_each_stand_in_over_ssh(lab):
    """ping needs the remote Python; hostname and eth0's address are the stand-in's own namespaces."""
    proc = adhoc("hypervisors", "-m", "ansible.builtin.ping")
    found = lines_by_host(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(found) == sorted(lab.hypervisors)
    assert all('"ping": "pong"' in rest for rest in found.values()), found

    proc = adhoc("hypervisors", "-m", "ansible.builtin.command", "-a", "sh -c 'hostname; ip -o -4 addr show dev eth0'")
    found = lines_by_host(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name, ip in lab.hypervisors.items():
        rest = found[name]
        out = rest.split("(stdout) ", 1)[1]
        assert out.split("\\n")[0] == name, rest   # not the controller's hostname
        assert " inet %s/" % ip in out, rest


def test_hv01_over_plain_ssh_with_the_lab_key(lab, lab_key, known_hosts):
    """The positive control of the refusals below: the same ssh command with the right files works."""
    proc = ssh(lab, "hv01", lab_key, known_hosts, "hostname")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "hv01"


def test_a_wrong_key_is_refused(lab, wrong_key, known_hosts):
    proc = adhoc("hv01", "-m", "ansible.builtin.ping", "-e", "ansible_ssh_private_key_file=" + wrong_key, env=NO_MASTER)
    assert proc.returncode != 0
    assert "UNREACHABLE" in proc.stdout, proc.stdout
    assert "Permission denied (publickey)" in proc.stdout, proc.stdout

    proc = ssh(lab, "hv01", wrong_key, known_hosts, "hostname")
    assert proc.returncode == 255
    assert "Permission denied (publickey)" in proc.stderr, proc.stderr
    assert proc.stdout == ""


def test_an_unknown_host_key_is_refused(lab, lab_key, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    proc = ssh(lab, "hv01", lab_key, str(empty), "hostname")
    assert proc.returncode == 255
    assert "Host key verification failed" in proc.stderr, proc.stderr
    assert proc.stdout == ""

    other = tmp_path / "other_known_hosts"   # hv02's key under hv01's address: a changed host key
    with open(os.path.join(lab.dir, "ssh", "known_hosts")) as handle:
        hv02 = [line for line in handle if line.split(" ", 1)[0].split(",")[0] == "hv02"]
    assert len(hv02) == 1
    other.write_text("%s %s" % (lab.hypervisors["hv01"], hv02[0].split(" ", 1)[1]))
    proc = ssh(lab, "hv01", lab_key, str(other), "hostname")
    assert proc.returncode == 255
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in proc.stderr, proc.stderr
