# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Smoke tests of the lab's two Slurm clusters. Each fails when its daemon is down."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import pytest
import yaml

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table

from ..conftest import REPO, wait_until


@pytest.fixture(scope="module")
def images():
    with open(os.path.join(REPO, "inventories", "lab", "group_vars", "all", "images.yml")) as handle:
        return image_table.normalize_table(yaml.safe_load(handle)["slurm_vm_images"])


def test_a_host_job_runs_on_each_hypervisor_at_the_same_time(lab):
    hvs = sorted(lab.hypervisors)
    jobs = [lab.sbatch("host", "--exclusive", "-J", "smoke-hostjob", "-t", "5", "-o", "/dev/null",
                       "--wrap", "sleep 120") for _hv in hvs]
    try:
        def all_running():
            states = [lab.job("host", j) for j in jobs]
            return states if all(s.get("JobState") == "RUNNING" for s in states) else None
        states = wait_until(all_running, 30, what="%d host jobs running" % len(jobs))
        assert sorted(s["NodeList"] for s in states) == hvs
    finally:
        lab.scancel("host", *jobs)


def test_a_vm_job_pends_on_a_pool_gres(lab, images):
    gres = images["deb12"]["gres"]
    job = lab.sbatch("vm", "--gres=%s:1" % gres, "-t", "10", "-o", "/dev/null", "--wrap", "true")
    try:
        wait_until(lambda: lab.job("vm", job).get("Reason") not in (None, "None"), 15, what="a pending reason")
        info = lab.job("vm", job)
        assert info["JobState"] == "PENDING"
        assert "gres:%s:1" % gres in info.get("TresPerNode", "")
    finally:
        lab.scancel("vm", job)


def test_an_unknown_gres_is_refused(lab):
    proc = lab.run(["sbatch", "--gres=vm_nosuchimage:1", "--wrap", "true"], check=False)
    assert proc.returncode != 0
    assert "Invalid generic resource" in proc.stderr


def test_pool_nodes_match_the_image_table(lab, images):
    proc = lab.run(["scontrol", "-F", "-o", "show", "node"])
    nodes = {}
    for line in proc.stdout.splitlines():
        fields = dict(w.split("=", 1) for w in line.split() if "=" in w)
        nodes[fields["NodeName"]] = fields
    for image in images.values():
        for host in image["hosts"]:
            node = nodes[host]
            assert node["NodeAddr"] == image_table.vm_ip(image, host)
            assert node["CPUTot"] == str(image["vcpus"])
            assert node["RealMemory"] == str(image["real_memory_mb"])
            assert node["Gres"] == "%s:%d" % (image["gres"], image["gres_count"])
    assert sorted(nodes) == sorted(h for i in images.values() for h in i["hosts"])
    part = lab.run(["scontrol", "-o", "show", "partition", "vms"]).stdout
    assert "MaxTime=7-00:00:00" in part and "DefaultTime=01:00:00" in part


def test_a_standin_named_like_a_pool_node_joins_and_runs_the_pending_job(lab, images):
    image = images["deb12"]
    host = image["hosts"][-1]
    out_dir = lab.scratch("standin")
    assert lab.node("vm", host)["State"] == "FUTURE"
    job = lab.sbatch("vm", "--gres=%s:1" % image["gres"], "-t", "5", "-o", os.path.join(out_dir, "out"),
                     "--wrap", "hostname")
    try:
        wait_until(lambda: lab.job("vm", job).get("JobState") == "PENDING", 10, what="job pending")
        lab.standin("up", host, image_table.vm_ip(image, host), "vm")
        wait_until(lambda: lab.job("vm", job).get("JobState") == "COMPLETED", 60,
                   what="the pending job to run on %s" % host)
        with open(os.path.join(out_dir, "out")) as handle:
            assert handle.read().strip() == host
        assert lab.job("vm", job)["NodeList"] == host
    finally:
        lab.scancel("vm", job)
        lab.standin("down", host)
        # back to the pool: down (the slurmd is gone), then FUTURE
        lab.run(["scontrol", "update", "nodename=" + host, "state=down", "reason=smoke test done"], check=False)
        lab.run(["scontrol", "update", "nodename=" + host, "state=future"], check=False)
    assert lab.node("vm", host)["State"] == "FUTURE"


def test_the_lab_has_no_route_out(lab):
    routes = subprocess.run(["ip", "-4", "route", "show", "default"], capture_output=True, text=True, check=True)
    assert routes.stdout.strip() == ""
