# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/site.yml against inventories/lab, which lab/up already ran it on (the lab is a site):

- in check mode it finds nothing to change on any host (the scheduler host, hv01-hv04 over SSH, the VM
  cluster's slurmctld and the provisioning server): a second run changes nothing;
- a file it manages that went missing is put back by a real run, and only that;
- the preflight fails on a wrong TSIG secret, naming DNS and only DNS, and changes nothing.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess

from ..conftest import REPO

# every host of inventories/lab: the scheduler, the stand-in hypervisors, the VM cluster's slurmctld, the
# provisioning server
ALL_HOSTS = {"localhost": 0, "hv01": 0, "hv02": 0, "hv03": 0, "hv04": 0, "lab-vm-slurmctld": 0, "lab-provision": 0}
SECRET = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="  # noqa: S105 - deliberately wrong


def _site(*argv, extra=None, tmp=None):
    args = [os.path.join(REPO, ".venv", "bin", "ansible-playbook"), "-i", "inventories/lab", "playbooks/site.yml"]
    args += list(argv)
    if extra is not None:
        path = os.path.join(str(tmp), "extra.json")
        with open(path, "w") as handle:
            json.dump(extra, handle)
        args += ["-e", "@" + path]
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=900, check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"))
    recap = dict(re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", proc.stdout, re.M))
    return proc, {host: int(changed) for host, changed in recap.items()}


def test_check_mode_finds_nothing_to_change_on_any_host():
    proc, recap = _site("--check", "--diff")
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    assert recap == dict(ALL_HOSTS, localhost=0), proc.stdout[-5000:]
    assert "DNS, DHCP and both Slurm clusters answered" in proc.stdout


def test_a_missing_managed_file_is_put_back_and_nothing_else_changes(lab):
    logrotate = os.path.join(lab.dir, "etc", "logrotate.d", "hpc-slurm-vm")
    with open(logrotate) as handle:
        before = handle.read()
    os.unlink(logrotate)
    proc, recap = _site("--tags", "scheduler_host")
    assert proc.returncode == 0, proc.stdout[-5000:]
    # (fact gathering and the roles' argument checks run under every tag: the other hosts show up, unchanged)
    assert recap == dict(ALL_HOSTS, localhost=1), proc.stdout[-5000:]
    with open(logrotate) as handle:
        assert handle.read() == before


def test_a_wrong_tsig_secret_fails_the_preflight_naming_dns_only(lab, tmp_path):
    dns = dict(server=lab.gateway, port=53, zone="vms.lab.test", reverse_zone="77.10.in-addr.arpa",
               tsig_key_name="hpcvm-ddns", tsig_algorithm="hmac-sha256", tsig_secret=SECRET)
    proc, _recap = _site("--tags", "preflight", extra={"slurm_vm_dns": dns}, tmp=tmp_path)
    assert proc.returncode == 2, proc.stdout[-5000:]
    (failure,) = re.findall(r"Preflight \| Every service answered.*?\n(fatal: .*?)\n\n", proc.stdout, re.S)
    assert "DNS (%s): " % lab.gateway in failure and "wrong key secret" in failure, failure
    assert "DHCP" not in failure and "Slurm" not in failure, failure
    assert SECRET not in proc.stdout
