# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end (issue 18, test 3): a base image overwritten in place, with the disk-image guest.

A first job of the disk image gets a VM: the scheduler's spawn records the version of the base
image it was made on (path, size, mtime, sha256: role spawn's spawn_base, recorded by the
scheduler for that image version), and its job keeps it busy. Then the base image's content
changes at the same path (the file keeps its inode and its first bytes; 64 KiB are appended, so
running guests on it are not harmed, and it is put back exactly afterwards). The reconciler
flags the running VM with the image's name, and a second job's VM is refused on its hypervisor: libvirt_guest fails with
BaseImageChanged, naming the image, and no overlay or domain is created for it. The run reports
the problem with the image's name; the VM's host job is then ended by boot_timeout as any VM that
did not boot.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from .faults_helpers import DISK, PLAYBOOK, user_jobs
from .story import LAB_DIR, REPO, Story, StoryError, run

IMAGE_FILE = "/var/cache/hpcvm-lab/disk/disk.qcow2"
GUESTS = os.path.join(LAB_DIR, "guests")
HISTORY = os.path.join(LAB_DIR, "scheduler", "history.json")
SUMMARY = os.path.join(LAB_DIR, "scheduler", "summary.json")
PREFIX = "e2e-base-changed"
APPENDED = 65536


def no_trace(story, vms):
    return all(story.traces(vm) == [] for vm in vms) and not user_jobs(PREFIX)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(4 * 1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def scheduler(story):
    """One scheduler run that may fail (a refused spawn fails its hypervisor): (rc, output, summary)."""
    proc = subprocess.run(
        [PLAYBOOK, "-i", "inventories/lab", "-i", "inventories/lab_demand", "playbooks/scheduler.yml",
         "-e", "@" + story.extra_vars], cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
        env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_DISPLAY_SKIPPED_HOSTS="0"))
    summary = {}
    if os.path.exists(SUMMARY):
        with open(SUMMARY) as handle:
            summary = json.load(handle)
    return proc.returncode, proc.stdout + proc.stderr, summary


def wait(story, what, predicate, timeout, every=8):
    """Run the scheduler every `every` seconds until predicate(rc, output, summary) is truthy; its value."""
    deadline = time.time() + timeout
    outputs = []
    while True:
        rc, output, summary = scheduler(story)
        outputs.append(output)
        value = predicate(rc, output, summary)
        if value:
            return value
        if time.time() > deadline:
            raise StoryError("timed out after %ds waiting for %s; last run (rc %d):\n%s"
                             % (timeout, what, rc, output[-6000:]))
        time.sleep(every)


def disk_domains():
    out = subprocess.run(["virsh", "-q", "-c", "qemu:///system", "list", "--all", "--name"], capture_output=True,
                         text=True, check=True, timeout=30).stdout.split()
    return sorted(name for name in out if name in DISK)


def domain_metadata(vm):
    """{key: value} of the domain's hpc.slurm_vm metadata (virsh metadata, our namespace)."""
    proc = subprocess.run(["virsh", "-q", "-c", "qemu:///system", "metadata", vm, "urn:hpc.slurm_vm:1"],
                          capture_output=True, text=True, timeout=30, check=False)
    if proc.returncode != 0:
        raise StoryError("virsh metadata %s failed: %s" % (vm, proc.stderr.strip()))
    root = ET.fromstring(proc.stdout)  # noqa: S314 - the lab's own libvirtd
    return {entry.get("key"): entry.text or "" for entry in root.iter() if entry.tag.endswith("meta")}


def overlays():
    return sorted(name for name in os.listdir(GUESTS) if name.endswith(".qcow2")) if os.path.isdir(GUESTS) else []


def sbatch(name, wrap):
    return run(["sbatch", "--parsable", "--chdir=/", "--gres=vm_disk:1", "-t", "5", "-J", name,
                "--wrap", wrap]).stdout.strip().split(";")[0]


@pytest.fixture
def image_restored():
    """The lab's disk image and the failure history, put back exactly afterwards."""
    size, digest = os.path.getsize(IMAGE_FILE), sha256(IMAGE_FILE)
    saved = HISTORY + ".before-base-changed"
    had = os.path.exists(HISTORY)
    if had:
        shutil.copy(HISTORY, saved)
    yield size, digest
    with open(IMAGE_FILE, "r+b") as handle:
        handle.truncate(size)
    assert sha256(IMAGE_FILE) == digest, "the lab's disk image was not put back"
    if had:
        shutil.move(saved, HISTORY)
    elif os.path.exists(HISTORY):
        os.unlink(HISTORY)


def test_a_base_image_overwritten_in_place_is_refused_and_reported_with_its_name(image_restored):
    size, digest = image_restored
    story = Story(image="disk", idle_timeout=600, name="base-changed",
                  rules={"boot_timeout": 60, "failed_hold": 10, "backoff_failures": 5, "max_vms": 2})
    assert disk_domains() == [], "the lab runs disk VMs already"
    first_job = sbatch(PREFIX + "-1", "sleep 240")
    vms = set()
    try:
        # 1. the first VM of this version: its spawn records the base image's version; its job keeps it busy
        def first_runs(rc, output, summary):
            assert rc == 0, output[-6000:]
            vms.update(summary.get("spawned") or [])
            return run(["squeue", "-h", "-j", first_job, "-o", "%T"]).stdout.strip() == "RUNNING" or None
        wait(story, "the first disk job to run", first_runs, timeout=420)
        [first_vm] = sorted(vms)
        meta = domain_metadata(first_vm)
        assert meta.get("image_version") and meta.get("base_sha256"), (
            "the scheduler did not hand role spawn the image version: metadata %s" % meta)
        story.event("first job runs on %s (image version %s, base sha256 %s)"
                    % (first_vm, meta["image_version"], meta["base_sha256"][:12]))

        # 2. the base image changes in place: same path and inode, new content
        inode = os.stat(IMAGE_FILE).st_ino
        with open(IMAGE_FILE, "ab") as handle:
            handle.write(b"hpc.slurm_vm e2e: changed in place\n".ljust(APPENDED, b"\0"))
        assert os.stat(IMAGE_FILE).st_ino == inode and sha256(IMAGE_FILE) != digest
        story.event("base image %s changed in place (%d -> %d bytes)" % (IMAGE_FILE, size, size + APPENDED))

        # 3. the reconciler flags the running VM (it is left running), naming the image
        story.more_vars["slurm_vm_reconcile_interval"] = 0
        story.write_images()
        rc, output, _summary = scheduler(story)
        flag = [line for line in output.splitlines() if "flag" in line and "base_changed" in line]
        assert rc == 0 and flag, output[-6000:]
        assert first_vm in flag[0] and "image disk: the base image %s" % IMAGE_FILE in flag[0], flag
        assert first_vm in disk_domains()
        story.event("reconciler: %s" % flag[0].strip().strip('",'))
        story.more_vars["slurm_vm_reconcile_interval"] = 300
        story.write_images()

        # 4. a second job needs a second VM (the first is busy): its spawn is refused
        before = overlays()
        second_job = sbatch(PREFIX + "-2", "hostname")

        def refused(rc, output, summary):
            vms.update(summary.get("spawned") or [])
            if "BaseImageChanged" in output or "was changed in place" in output:
                return rc, output, summary
            made = [vm for vm in disk_domains() if vm != first_vm]
            assert made == [], "a VM was made on the changed base image: %s" % made
            return None
        rc, output, summary = wait(story, "the second VM's spawn to be refused", refused, timeout=300)
        # the VM whose start was refused, as role spawn names it when it fails its hypervisor
        named = sorted(set(re.findall(r"(vm-disk-[0-9]+): image disk: the base image", output)) - {first_vm})
        assert len(named) == 1, output[-6000:]
        second_vm = named[0]
        vms.add(second_vm)
        assert rc != 0, "the refused spawn must fail its hypervisor"
        assert "image disk: the base image %s was changed in place" % IMAGE_FILE in output, output[-6000:]
        assert second_vm + ".qcow2" not in overlays() and overlays() == before, (before, overlays())
        assert second_vm not in disk_domains()
        # the run's own report names the image and the problem
        report = json.dumps(summary)
        assert "disk" in report and "changed in place" in report, summary
        story.event("spawn of %s refused: no overlay, no domain" % second_vm)
        assert run(["squeue", "-h", "-j", second_job, "-o", "%T"]).stdout.strip() == "PENDING"
    finally:
        for job_id in user_jobs(PREFIX):
            run(["scancel", job_id], check=False)
        with open(IMAGE_FILE, "r+b") as handle:
            handle.truncate(size)
        story.images["disk"]["rules"]["idle_timeout"] = 10   # the idle VMs go now
        story.more_vars["slurm_vm_reconcile_interval"] = 300
        story.write_images()
        wait(story, "no trace left of %s" % sorted(vms), lambda _rc, _output, _summary: no_trace(story, vms),
             timeout=300)
