# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: an image changes (a new version label in the image table) while a job runs on a VM of
the old version. The job completes, the old VM is drained (a reason naming the rollout) and torn down,
a second job runs on a VM of the new version, and max_vms (1 here) is never exceeded. The timeline is
printed (the closing note of issue 18 quotes it)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from .story import HOST_CONF, Story, job, node, run

IMAGE = "deb12"


def submit(name, seconds):
    return run(["sbatch", "--parsable", "--chdir=/", "-J", name, "--gres=vm_%s:1" % IMAGE, "-t", "5",
                "--wrap", "sleep %d" % seconds]).stdout.strip().split(";")[0]


def state(job_id):
    """(JobState, NodeList) of the job (the lab keeps finished jobs an hour: scontrol must know it)."""
    fields = job(job_id)
    return fields["JobState"], fields.get("NodeList", "")


def host_jobs():
    """{vm: (host job state, comment)} of the image's live host jobs on the host cluster."""
    out = run(["squeue", "-h", "-o", "%j|%T|%k"], conf=HOST_CONF).stdout
    found = {}
    for line in out.splitlines():
        name, job_state, comment = line.split("|", 2)
        if name.startswith("hpcvm:vm-%s-" % IMAGE):
            found[name[len("hpcvm:"):]] = (job_state, comment)
    return found


def version_of(comment):
    words = dict(w.split("=", 1) for w in comment.split() if "=" in w)
    return words.get("version")


def test_an_image_change_rolls_the_vms_over_without_killing_a_job():
    story = Story(image=IMAGE, idle_timeout=15, rules={"max_vms": 1}, name="rollout")
    most = [0]

    def watch():
        """Every poll: the image's VMs (host jobs) never exceed max_vms."""
        live = host_jobs()
        most[0] = max(most[0], len(live))
        assert len(live) <= 1, "max_vms 1 exceeded during the rollout: %s" % live
        return live

    first = submit("e2e-rollout-1", 45)
    second = None
    try:
        def first_runs():
            watch()
            job_state, where = state(first)
            return where if job_state == "RUNNING" else None
        old_vm = story.wait("job 1 to run", first_runs, timeout=300, every=10)
        old_version = version_of(host_jobs()[old_vm][1])
        assert old_version, "the host job's comment names no version: %s" % host_jobs()
        story.event("job %s runs on %s, image version %s" % (first, old_vm, old_version))

        story.images[IMAGE]["version"] = "e2e-rollout-2"  # the admin's change of the image table
        story.write_images()
        second = submit("e2e-rollout-2", 5)
        story.event("image table: %s gets version label e2e-rollout-2; job %s submitted" % (IMAGE, second))
        story.scheduler()
        reason = node(old_vm).get("Reason", "")
        assert "rollout of image %s" % IMAGE in reason and old_version in reason, reason
        assert state(first)[0] == "RUNNING", "the rollout must not kill the running job"
        story.event("%s drained: %s" % (old_vm, reason))

        def second_runs():
            watch()
            job_state, where = state(second)
            return where if job_state in ("RUNNING", "COMPLETING", "COMPLETED") and where else None
        new_vm = story.wait("job 2 to run on a VM of the new version", second_runs, timeout=420, every=8)
        assert state(first)[0] in ("COMPLETED", "COMPLETING"), "job 1 must have ended first (max_vms 1)"
        assert job(first).get("ExitCode") == "0:0", "job 1 did not complete cleanly: %s" % job(first)
        live = host_jobs()
        new_version = version_of(live[new_vm][1]) if new_vm in live else None
        story.event("job %s runs on %s, image version %s" % (second, new_vm, new_version))
        assert new_version and new_version.startswith("e2e-rollout-2-") and new_version != old_version

        story.wait("the old VM %s to be gone" % old_vm,
                   lambda: watch() is not None and not story.host_job(old_vm) and story.in_pool(old_vm),
                   timeout=240, every=4)
        story.event("old VM %s gone, name back in the pool" % old_vm)
        assert most[0] <= 1
    finally:
        run(["scancel", first] + ([second] if second else []), check=False)
        # the VMs go as every story's do: idle_timeout, then teardown
        deadline = time.time() + 300
        while host_jobs() and time.time() < deadline:
            story.scheduler()
            time.sleep(5)
        story.say("timeline:\n" + "\n".join("  %6.1fs  %s" % event for event in story.events))
    assert not host_jobs(), "VMs left behind: %s" % host_jobs()
