# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: an admin drains the VMs of one hypervisor with hpc.slurm_vm.drain while a job runs on one of
them. Check mode changes nothing; the real drain leaves the job running; a new job gets a new VM (the
replacement comes from demand); once the first job ends, the drained VM is torn down. hpc.slurm_vm.status
shows each step. The scheduler runs by hand (Story.scheduler)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from .admin_verbs import status, verb
from .story import HOST_CONF, Story, job, node, run

ADMIN_PREFIX = "hpc.slurm_vm admin drain:"


def live_host_jobs(image):
    """{VM hostname: hypervisor} of the image's running host jobs."""
    lines = run(["squeue", "-h", "-t", "RUNNING", "-o", "%j %N"], conf=HOST_CONF).stdout.splitlines()
    return {name[len("hpcvm:"):]: where for name, where in (line.split() for line in lines if line.strip())
            if name.startswith("hpcvm:vm-%s-" % image)}


def submit(image, seconds, name):
    return run(["sbatch", "--parsable", "--chdir=/", "--gres=vm_%s:1" % image, "-t", "5", "-J", name, "-o", "/dev/null",
                "--wrap", "sleep %d" % seconds]).stdout.strip().split(";")[0]


def running_on(job_id):
    info = job(job_id)
    return info["NodeList"] if info["JobState"] == "RUNNING" else None


def test_a_drained_hypervisor_keeps_its_job_and_its_vm_goes_when_the_job_ends():
    image = "deb12"
    story = Story(name="drain", idle_timeout=20)
    assert not live_host_jobs(image), "a %s VM is alive already" % image
    jobs = []
    try:
        jobs.append(submit(image, 120, "e2e-drain-busy"))
        vm = story.wait("the first job to run", lambda: running_on(jobs[0]), timeout=400, every=15)
        hypervisor = live_host_jobs(image)[vm]
        story.event("job %s runs on %s (hypervisor %s)" % (jobs[0], vm, hypervisor))
        data, table = status(story.extra_vars)
        (row,) = [r for r in data["vms"] if r["hostname"] == vm]
        assert (row["state"], row["hypervisor"], row["jobs"]) == ("busy", hypervisor, [jobs[0]]), row
        story.event("status:\n  " + "\n  ".join(table))

        reason = "e2e BIOS update %d" % int(time.time())
        check = verb("drain.yml", "-C", "--diff", "-e", "hypervisor=" + hypervisor, "-e", "reason='%s'" % reason).ok()
        assert check.changed == 1 and "would drain (check mode): %s" % vm in check.output
        assert "DRAIN" not in node(vm)["State"]
        drained = verb("drain.yml", "-e", "hypervisor=" + hypervisor, "-e", "reason='%s'" % reason).ok()
        assert drained.changed == 1 and "drained: %s" % vm in drained.output
        fields = node(vm)
        assert "DRAIN" in fields["State"] and fields["Reason"].startswith("%s %s" % (ADMIN_PREFIX, reason)), fields
        story.event("admin: hpc.slurm_vm.drain hypervisor=%s -> %s %s" % (hypervisor, vm, fields["State"]))
        again = verb("drain.yml", "-e", "hypervisor=" + hypervisor, "-e", "reason='%s'" % reason).ok()
        assert again.changed == 0 and "already drained" in again.output

        summary = story.scheduler()
        assert job(jobs[0])["JobState"] == "RUNNING"
        assert [(t["hostname"], t["step"]) for t in summary["teardown"]] == [(vm, "wait")], summary["teardown"]
        data, table = status(story.extra_vars)
        (row,) = [r for r in data["vms"] if r["hostname"] == vm]
        assert (row["state"], row["action"]) == ("draining", "wait") and reason in row["action_reason"], row
        story.event("status:\n  " + "\n  ".join(table))

        jobs.append(submit(image, 1, "e2e-drain-new"))
        replacement = story.wait("the second job to run", lambda: running_on(jobs[1]), timeout=400, every=15)
        assert replacement != vm
        story.event("job %s runs on a new VM %s: the replacement came from demand" % (jobs[1], replacement))
        assert job(jobs[0])["JobState"] in ("RUNNING", "COMPLETED")

        story.wait("the first job to complete", lambda: job(jobs[0])["JobState"] == "COMPLETED", timeout=240, every=15)
        story.wait("the drained VM %s to be torn down" % vm, lambda: vm not in live_host_jobs(image) and
                   story.in_pool(vm), timeout=300, every=4)
        assert job(jobs[0])["ExitCode"] == "0:0"
        story.event("%s torn down after its job; back in the pool" % vm)
        assert story.traces(vm) == []
        story.wait("every %s VM torn down" % image, lambda: not live_host_jobs(image), timeout=300, every=4)
    finally:
        if jobs:
            run(["scancel"] + jobs, check=False)
