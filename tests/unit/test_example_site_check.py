# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/site.yml --check and scheduler.yml --check against inventories/example, with every service the
scheduler host talks to replaced by a loopback port where nothing listens: each run must stop with errors
that name the service that is missing (issue 17, item 5), never with a template error or a Python traceback.

No traffic leaves the machine: every host is driven over a local connection (--limit scheduler for the
plays that would act on the other hosts), and every service address is 127.0.0.1."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import socket
import subprocess
import sys

import pytest
import yaml

from ansible_collections.hpc.slurm_vm.tests.unit import checkout

SECRET = "c2l0ZS1jaGVjay1vbmx5LW5vdC1hLXJlYWwta2V5LTAxMjM0NTY3ODk="  # noqa: S105 - 32 bytes, never a real key


def _closed_port():
    """A loopback TCP port nobody listens on (bound, then closed: connect gets ECONNREFUSED)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _slurm_conf(folder, name, port):
    os.makedirs(folder)
    path = os.path.join(folder, "slurm.conf")
    with open(path, "w") as handle:
        handle.write("ClusterName=%s\nSlurmctldHost=localhost(127.0.0.1)\nSlurmctldPort=%d\n"
                     "AuthType=auth/munge\nAuthInfo=socket=%s\n"
                     "NodeName=n1 CPUs=1 State=UNKNOWN\nPartitionName=p Nodes=n1\n"
                     % (name, port, os.path.join(folder, "no-munged.socket")))
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("example-site"))
    shutil.copytree(os.path.join(checkout.ROOT, "inventories", "example"), os.path.join(tmp, "example"))
    shutil.copytree(os.path.join(checkout.ROOT, "inventories", "example_demand"), os.path.join(tmp, "example_demand"))
    host_conf = _slurm_conf(os.path.join(tmp, "host"), "production", _closed_port())
    vm_conf = _slurm_conf(os.path.join(tmp, "vm"), "vms", _closed_port())
    demand = os.path.join(tmp, "example_demand", "site.slurm_demand.yml")
    with open(demand) as handle:
        source = yaml.safe_load(handle)
    source.update(vm_slurm_conf=vm_conf, host_slurm_conf=host_conf,
                  snapshot_file=os.path.join(tmp, "snapshot.json"))
    with open(demand, "w") as handle:
        yaml.safe_dump(source, handle)
    with open(os.path.join(tmp, "example", "group_vars", "all", "dns.yml")) as handle:
        dns = yaml.safe_load(handle)["slurm_vm_dns"]
    with open(os.path.join(tmp, "example", "group_vars", "all", "dhcp.yml")) as handle:
        dhcp = yaml.safe_load(handle)["slurm_vm_dhcp"]
    with open(os.path.join(tmp, "example", "group_vars", "all", "clusters.yml")) as handle:
        clusters = yaml.safe_load(handle)
    dns.update(server="127.0.0.1", port=_closed_port(), timeout=2.0)
    dhcp.update(kea_api_url="http://127.0.0.1:%d/" % _closed_port())
    dhcp.pop("kea_api_ca_path", None)
    overrides = dict(
        ansible_connection="local", ansible_python_interpreter=sys.executable,
        slurm_vm_dns=dns, slurm_vm_dhcp=dhcp,
        slurm_vm_host_cluster=dict(clusters["slurm_vm_host_cluster"], slurm_conf=host_conf),
        slurm_vm_vm_cluster=dict(clusters["slurm_vm_vm_cluster"], slurm_conf=vm_conf),
        slurm_vm_state_dir=os.path.join(tmp, "state"),
        vault_slurm_vm_tsig_secret=SECRET, vault_slurm_vm_kea_api_password="not-a-password",  # noqa: S106
        vault_slurm_vm_token_secret="0" * 64,
    )
    with open(os.path.join(tmp, "overrides.json"), "w") as handle:
        json.dump(overrides, handle)
    return tmp


def _run(site, *argv):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=checkout.COLLECTIONS, ANSIBLE_NOCOLOR="1",
               ANSIBLE_CONFIG=os.path.join(site, "none.cfg"), ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    proc = subprocess.run([checkout.executable("ansible-playbook")] + list(argv) + ["-e", "@overrides.json"],
                          cwd=site, env=env, capture_output=True, text=True, timeout=300, check=False)
    return proc, proc.stdout + proc.stderr


def test_every_play_of_site_yml_finds_its_hosts_in_the_example(site):
    proc, out = _run(site, "-i", "example", "hpc.slurm_vm.site", "--list-hosts")
    assert proc.returncode == 0, out
    counts = [int(n) for n in re.findall(r"hosts \((\d+)\):", out)]
    # preflight and scheduler_host (scheduler), hypervisors, vm_slurmctld, provisioning
    assert counts == [1, 100, 1, 1, 1], out


def test_site_check_names_every_service_that_does_not_answer(site):
    proc, out = _run(site, "-i", "example", "hpc.slurm_vm.site", "--check", "--diff", "--limit", "scheduler")
    assert proc.returncode == 2, out
    (failure,) = re.findall(r"Preflight \| Every service answered.*?\n(fatal: .*?)\n\n", out, re.S)
    for words in ("DNS (127.0.0.1): ", "connection refused",
                  "DHCP (kea_api): ", "Slurm, VM cluster (%s/vm/slurm.conf): " % site,
                  "Slurm, host cluster (%s/host/slurm.conf): " % site):
        assert words in failure, failure
    assert "munge" in failure.lower() or "slurm controller" in failure.lower(), failure
    assert "Traceback" not in out and "AnsibleUndefinedVariable" not in out
    assert SECRET not in out
    assert not os.path.exists(os.path.join(site, "state")), "check mode created the state folder"


def test_scheduler_check_stops_at_its_first_task_naming_the_slurm_controller(site):
    proc, out = _run(site, "-i", "example", "-i", "example_demand", "hpc.slurm_vm.scheduler", "--check")
    assert proc.returncode == 2, out
    (failure,) = re.findall(r"TASK \[Stop unless the demand inventory read a snapshot.*?\n(fatal: .*?)\n\n", out,
                            re.S)
    assert "%s/vm/slurm.conf" % site in failure or "squeue" in failure, failure
    assert "munge" in failure.lower() or "slurm controller" in failure.lower(), failure
    assert "Traceback" not in out
