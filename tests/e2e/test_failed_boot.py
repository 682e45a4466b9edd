# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end (issue 11, case 2): an image whose VMs never boot.

The scheduler runs with a wrong boot-token secret, so the provisioning server answers
the guest's bundle request with 403 and its slurmd never starts. After boot_timeout the
VM is torn down; its node stays DOWN with a clear reason (sinfo -R) for failed_hold, the
image goes into backoff (backoff_failures 1) and spawns nothing more despite the pending
job; after failed_hold the name returns to the pool with no trace left."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil

import pytest

from .story import LAB_DIR, Story, node, run

HISTORY = os.path.join(LAB_DIR, "scheduler", "history.json")


@pytest.fixture
def history_restored():
    """The failure history this test changes; put back afterwards so later runs are not in backoff."""
    saved = HISTORY + ".before-failed-boot"
    had = os.path.exists(HISTORY)
    if had:
        shutil.copy(HISTORY, saved)
    yield
    if had:
        shutil.move(saved, HISTORY)
    elif os.path.exists(HISTORY):
        os.unlink(HISTORY)


def test_a_vm_that_never_boots_is_torn_down_held_down_and_its_image_backs_off(history_restored):
    story = Story(rules={"boot_timeout": 20, "backoff_failures": 1, "backoff_seconds": 600, "failed_hold": 20},
                  extra_vars={"slurm_vm_token_secret": "0123456789abcdef-not-the-lab-secret"}, name="failed-boot")
    job_id = run(["sbatch", "--parsable", "--chdir=/", "--gres=vm_deb12:1", "-t", "5", "-J", "e2e-failed-boot",
                  "--wrap", "hostname"]).stdout.strip().split(";")[0]
    vm = None
    try:
        first = story.scheduler()
        assert len(first["spawned"]) == 1, first
        vm = first["spawned"][0]

        def held_down():
            fields = node(vm)
            return fields if fields.get("State", "").startswith("DOWN") else None
        fields = story.wait("the VM's node to be set DOWN after boot_timeout", held_down, timeout=180, every=6)
        reason = fields.get("Reason", "")
        assert reason.startswith("hpc.slurm_vm: boot failed: boot_timeout: not registered"), reason
        assert story.host_job(vm) is None
        assert run(["squeue", "-h", "-j", job_id, "-o", "%T"]).stdout.strip() == "PENDING"
        sinfo = run(["sinfo", "-R", "-h", "-o", "%n|%E"]).stdout
        assert "%s|hpc.slurm_vm: boot failed" % vm in sinfo

        held = story.scheduler()  # demand is still there, but the image is in backoff and the node is held
        assert held["spawned"] == [], held
        assert held["images"]["deb12"]["backoff"]["failures"] >= 1, held["images"]["deb12"]
        assert any(t["hostname"] == vm and t["step"] == "wait" and t["reason"].startswith("held DOWN")
                   for t in held["teardown"]), (held["teardown"], held["gc"], node(vm))
        with open(HISTORY) as handle:
            assert json.load(handle)["deb12"]["failures"] >= 1
        # the user sees why the job waits (squeue -O comment)
        said = run(["squeue", "-h", "-j", job_id, "-O", "Comment:300"]).stdout.strip()
        assert said.startswith("hpc.slurm_vm: image deb12 paused after "), said
    finally:
        run(["scancel", job_id], check=False)
        if vm is not None:  # also after a failure, so later tests find the name in the pool
            story.wait("the name back in the pool after failed_hold", lambda: story.in_pool(vm), timeout=120,
                       every=6)
    assert story.traces(vm) == []
