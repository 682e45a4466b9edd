# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/scheduler.yml and gc.yml, run with ansible-playbook, stop at their first task when the demand
inventory gave no snapshot, and say which source failed and why. ansible-core only warns when an inventory source
fails; the plays then failed later on "HostVarsVars has no attribute slurm_vm_snapshot_file" (vm_plan), or
reconciled without a snapshot.

The failing source is a slurm_demand config whose slurm.conf names a controller on a loopback port held by a
socket that is bound but not listening (refused at once; MessageTimeout=1 stops squeue retrying for 9 s)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import socket
import subprocess

import pytest

from ansible_collections.hpc.slurm_vm.tests.unit import checkout

ROOT = checkout.ROOT
ANSIBLE_PLAYBOOK = checkout.executable("ansible-playbook")
IMAGES = checkout.LAB_IMAGES
CHECK = "Stop unless the demand inventory read a snapshot (Ansible only warns when an inventory source fails)"
PLAYBOOKS = ["scheduler.yml", "gc.yml"]


@pytest.fixture
def unreachable_source(tmp_path):
    """A slurm_demand source whose controller is 127.0.0.1:<a port nobody listens on>."""
    if shutil.which("squeue") is None:
        pytest.skip("needs the Slurm client commands")
    held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    held.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused, and no one else gets the port
    conf = tmp_path / "slurm.conf"
    conf.write_text("ClusterName=nowhere\nSlurmctldHost=localhost(127.0.0.1)\nSlurmctldPort=%d\nMessageTimeout=1\n"
                    % held.getsockname()[1])
    source = tmp_path / "site.slurm_demand.yml"
    source.write_text("plugin: hpc.slurm_vm.slurm_demand\nvm_slurm_conf: %s\nimages_file: %s\nsnapshot_file: %s\n"
                      % (conf, IMAGES, tmp_path / "snapshot.json"))
    try:
        yield str(source)
    finally:
        held.close()


def run_playbook(playbook, inventory):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env.pop("ANSIBLE_CONFIG", None)  # the repository's ansible.cfg, in the checkout
    env["ANSIBLE_COLLECTIONS_PATH"] = checkout.COLLECTIONS  # this collection, in the checkout or installed
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", inventory, os.path.join(ROOT, "playbooks", playbook)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    tasks = [line[len("TASK ["):line.index("] ")] for line in proc.stdout.splitlines() if line.startswith("TASK [")]
    failures = [json.loads(line.split(" => ", 1)[1]) for line in proc.stdout.splitlines()
                if line.startswith("fatal: [localhost]: FAILED! => ")]
    return proc, tasks, failures


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_a_failed_demand_source_stops_the_run_at_once_and_says_why(unreachable_source, playbook):
    proc, tasks, failures = run_playbook(playbook, unreachable_source)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert tasks == [CHECK], proc.stdout
    (failure,) = failures
    assert failure["msg"] == (
        "no Slurm snapshot: the inventory source %s (hpc.slurm_vm.slurm_demand) failed: squeue -h -a -r -t "
        "PENDING,RUNNING,CONFIGURING,COMPLETING -o %%i|%%T|%%r|%%b|%%D|%%N|%%l|%%V|%%S|%%e|%%u|%%P|%%f|%%k failed "
        "(rc 1): slurm_load_jobs error: Unable to contact slurm controller (connect failure)" % unreachable_source)
    assert "HostVarsVars" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_a_run_without_any_demand_source_stops_too(playbook):
    proc, tasks, failures = run_playbook(playbook, "localhost,")
    assert proc.returncode == 2 and tasks == [CHECK], proc.stdout + proc.stderr
    assert [f["msg"] for f in failures] == [
        "no Slurm snapshot: no *.slurm_demand.yml inventory source was read (give one with -i, e.g. -i "
        "inventories/example_demand)"]
