# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The slurm_demand inventory plugin against the lab's two real clusters."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess

import pytest

from ..conftest import REPO, wait_until

# Nodes this test may pin jobs to (other tests leave them FUTURE and unregistered).
DEB_NODE, DISK_NODE = "vm-deb12-008", "vm-disk-004"


def plain(value):
    """ansible-inventory 2.19 marks strings from plugins as unsafe ({'__ansible_unsafe': s}): unwrap them."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def inventory(lab, tmp_path, extra=""):
    config = tmp_path / "t.slurm_demand.yml"
    config.write_text(
        "plugin: hpc.slurm_vm.slurm_demand\n"
        "vm_slurm_conf: %s\nhost_slurm_conf: %s\n"
        "images_file: %s\nsnapshot_file: %s\n%s" % (
            lab.conf["vm"], lab.conf["host"],
            os.path.join(REPO, "inventories", "lab", "group_vars", "all", "images.yml"),
            tmp_path / "snapshot.json", extra))
    proc = subprocess.run([os.path.join(REPO, ".venv", "bin", "ansible-inventory"), "-i", str(config), "--list"],
                          cwd=REPO, capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "[WARNING]" not in proc.stderr, proc.stderr
    return plain(json.loads(proc.stdout))


@pytest.fixture
def jobs(lab):
    made = {"vm": [], "host": []}
    yield made
    for cluster, ids in made.items():
        lab.scancel(cluster, *ids)


def test_groups_and_demand_for_two_images(lab, tmp_path, jobs):
    deb = lab.sbatch("vm", "--gres=vm_deb12:1", "-w", DEB_NODE, "-t", "30", "-o", "/dev/null", "--wrap", "true")
    disk = [lab.sbatch("vm", "--gres=vm_disk:1", "-w", DISK_NODE, "-t", t, "-o", "/dev/null", "--wrap", "true")
            for t in ("20", "90")]
    held = lab.sbatch("vm", "-H", "--gres=vm_disk:1", "-w", DISK_NODE, "-t", "10", "-o", "/dev/null", "--wrap", "true")
    host = lab.sbatch("host", "-J", "hpcvm:" + DISK_NODE, "--exclusive", "-t", "10", "-o", "/dev/null",
                      "--wrap", "sleep 120")
    jobs["vm"].extend([deb, held] + disk)
    jobs["host"].append(host)
    wait_until(lambda: lab.job("host", host).get("JobState") == "RUNNING", 20, what="host job running")
    hypervisor = lab.job("host", host)["NodeList"]

    inv = inventory(lab, tmp_path, "keyed_groups:\n  - key: slurm_vm_state\n    prefix: state\n"
                                   "compose:\n  vm_label: slurm_vm_image ~ '/' ~ inventory_hostname\n")
    hostvars = inv["_meta"]["hostvars"]
    assert sorted(inv["slurm_vm_image_deb12"]["hosts"]) == ["vm-deb12-%03d" % i for i in range(1, 9)]
    assert sorted(inv["slurm_vm_image_disk"]["hosts"]) == ["vm-disk-%03d" % i for i in range(1, 5)]
    assert hypervisor in inv["slurm_vm_hypervisors"]["hosts"]
    assert hostvars[hypervisor]["slurm_vm_guests"] == [DISK_NODE]

    disk_vars = hostvars[DISK_NODE]
    assert disk_vars["slurm_vm_host_job"] == host
    assert disk_vars["slurm_vm_host_job_state"] == "RUNNING"
    assert disk_vars["slurm_vm_hypervisor"] == hypervisor
    assert disk_vars["slurm_vm_state"] == "booting"
    assert 500 < disk_vars["slurm_vm_time_left"] <= 600
    assert disk_vars["slurm_vm_ip"] == "10.77.2.4" and disk_vars["slurm_vm_mac"] == "52:54:00:77:02:04"
    assert DISK_NODE in inv["state_booting"]["hosts"]
    assert disk_vars["vm_label"] == "disk/" + DISK_NODE

    # demand is a group var, seen by every host of the image
    deb_demand = hostvars[DEB_NODE]["slurm_vm_demand"]
    disk_demand = disk_vars["slurm_vm_demand"]
    assert deb in deb_demand["job_ids"]
    assert set(disk) <= set(disk_demand["job_ids"])
    assert held not in disk_demand["job_ids"]
    assert disk_demand["longest_time_limit"] >= 90 * 60
    assert disk_demand["requested_units"] >= 2
    # the snapshot goes to a file named by the scheduler host's variable
    with open(hostvars["localhost"]["slurm_vm_snapshot_file"]) as handle:
        snapshot = json.load(handle)
    assert "slurm_vm_snapshot_file" not in disk_vars
    # four calls, and two more on the host cluster while host jobs run: their hypervisors' states, reservations
    assert len(snapshot["calls"]) == 6
    assert snapshot["host_jobs"][DISK_NODE]["id"] == host
    assert snapshot["hypervisors"][hypervisor]["state"] in ("ALLOCATED", "MIXED")


def test_a_missing_slurm_conf_is_a_clear_error(lab, tmp_path):
    config = tmp_path / "bad.slurm_demand.yml"
    config.write_text("plugin: hpc.slurm_vm.slurm_demand\nvm_slurm_conf: /nonexistent/slurm.conf\n"
                      "images_file: %s\n" % os.path.join(REPO, "inventories", "lab", "group_vars", "all", "images.yml"))
    proc = subprocess.run([os.path.join(REPO, ".venv", "bin", "ansible-inventory"), "-i", str(config), "--list"],
                          cwd=REPO, capture_output=True, text=True, check=False, timeout=60)
    assert "slurm.conf /nonexistent/slurm.conf does not exist" in proc.stderr
