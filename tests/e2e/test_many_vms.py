# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end (issue 11, case 1): two images and demand for several VMs at once.

Three deb12 jobs and two disk-image jobs are pending; deb12 may have 2 VMs, disk 2, and
one run may start 3. The first run spawns exactly 3 (limited by max_spawn_per_run), the
next the 4th; at no moment does an image have more domains than its max_vms; every job
runs, on a VM of its own image (the third deb12 job on a deb12 VM freed by another);
then the idle VMs go and no trace of any of them is left.
Run inside the lab: lab/exec .venv/bin/pytest -q -s -o testpaths=tests/e2e tests/e2e/test_many_vms.py"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import yaml

from . import faults_helpers as fh
from .story import REPO, Story, job, run

MAX_VMS = {"deb12": 2, "disk": 2}
MAX_SPAWN_PER_RUN = 3


def domains_by_image():
    proc = subprocess.run(["virsh", "-c", "qemu:///system", "list", "--name"], capture_output=True, text=True,
                          check=True, timeout=30)
    names = proc.stdout.split()
    return {image: sorted(n for n in names if n.startswith("vm-%s-" % image)) for image in MAX_VMS}


def scheduler_rules():
    with open(os.path.join(REPO, "inventories", "lab", "group_vars", "all", "scheduler.yml")) as handle:
        rules = yaml.safe_load(handle)["slurm_vm_rules"]
    rules["max_spawn_per_run"] = MAX_SPAWN_PER_RUN
    return rules


def test_case1_two_images_several_vms_within_the_limits_and_all_jobs_run():
    story = Story(idle_timeout=15, name="many-vms", rules={"max_vms": MAX_VMS["deb12"]},
                  image_rules={"disk": {"max_vms": MAX_VMS["disk"], "idle_timeout": 15}},
                  extra_vars={"slurm_vm_rules": scheduler_rules()})
    assert domains_by_image() == {"deb12": [], "disk": []}, "the lab runs VMs already"
    jobs = {}
    for index in range(3):
        jobs[fh.sbatch("many-vms-deb12-%d" % index, "--gres=vm_deb12:1", wrap="sleep 20; hostname")] = "deb12"
    for index in range(2):
        jobs[fh.sbatch("many-vms-disk-%d" % index, "--gres=vm_disk:1", wrap="hostname")] = "disk"
    touched = set()
    peak = dict.fromkeys(MAX_VMS, 0)
    try:
        first = story.scheduler()
        story.event("run 1 spawned %s in %.1fs" % (first["spawned"], first["seconds"]))
        touched.update(first["spawned"])
        assert len(first["spawned"]) == MAX_SPAWN_PER_RUN, first
        assert set(first["spawned"]) <= set(fh.DEB12 + fh.DISK), first["spawned"]
        for image, limit in MAX_VMS.items():
            assert first["spawned_by_image"].get(image, 0) <= limit, first["spawned_by_image"]
        limits = [first["images"][image]["limited_by"] or "" for image in MAX_VMS]
        assert any("max_spawn_per_run" in limit for limit in limits), limits

        def all_done():
            running = domains_by_image()
            for image, names in running.items():
                touched.update(names)
                peak[image] = max(peak[image], len(names))
                assert len(names) <= MAX_VMS[image], "%s has %d domains (max_vms %d): %s" % (
                    image, len(names), MAX_VMS[image], names)
            fh.assert_no_duplicates(fh.allocations())
            states = {job_id: job(job_id)["JobState"] for job_id in jobs}
            return states if not any(state in fh.UNFINISHED for state in states.values()) else None
        states = story.wait("all 5 jobs to finish", all_done, timeout=540, every=8)
        story.event("all jobs finished: %s; peak domains per image %s" % (states, peak))
        assert set(states.values()) == {"COMPLETED"}, states
        ran_on = {}
        for job_id, image in jobs.items():
            fields = job(job_id)
            assert fields["NodeList"].startswith("vm-%s-" % image), (job_id, fields["NodeList"])
            ran_on.setdefault(image, set()).add(fields["NodeList"])
        story.event("jobs ran on %s" % {image: sorted(names) for image, names in ran_on.items()})
        assert len(ran_on.get("deb12", ())) <= MAX_VMS["deb12"], ran_on
        assert peak["deb12"] == MAX_VMS["deb12"], peak  # three 20 s jobs keep two VMs busy at once
        assert peak["disk"] >= 1, peak
    finally:
        for job_id in jobs:
            run(["scancel", job_id], check=False)
    fh.clean_up(story, "many-vms-", touched | set(fh.DEB12[:2]) | set(fh.DISK[:2]), timeout=240)
