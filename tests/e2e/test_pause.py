# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end (issue 18, test 5): an image is paused with hpc.slurm_vm.pause; a job for it waits, and its
comment gives the pause reason; hpc.slurm_vm.status shows the pause; the image is resumed, and the job runs
in a new VM. The scheduler runs by hand (Story.scheduler), as in the other end-to-end tests."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from .admin_verbs import paused_images, status, verb
from .story import HOST_CONF, Story, job, run

PREFIX = "hpc.slurm_vm:"


def comment(job_id):
    text = run(["squeue", "-h", "-j", job_id, "-O", "Comment:500"]).stdout.strip()
    return "" if text == "(null)" else text


def live_host_jobs(image):
    """The host jobs of the image's VMs ("name state"), from the host cluster."""
    lines = run(["squeue", "-h", "-o", "%j %T"], conf=HOST_CONF).stdout.split("\n")
    return [line for line in lines if line.startswith("hpcvm:vm-%s-" % image)]


def test_a_paused_image_starts_no_vm_its_job_says_why_and_runs_once_resumed():
    story = Story(name="pause", idle_timeout=20)
    image = "deb12"
    assert not live_host_jobs(image), "a %s VM is alive already: it would take the job (paused images keep " \
                                      "their VMs)" % image
    reason = "e2e certification check %d" % int(time.time())
    job_id = None
    try:
        paused = verb("pause.yml", "-e", "image=" + image, "-e", "reason='%s'" % reason).ok()
        assert paused.changed == 1 and paused_images()[image]["reason"] == reason
        story.event("admin: hpc.slurm_vm.pause image=%s reason=%r" % (image, reason))
        job_id = run(["sbatch", "--parsable", "--chdir=/", "--gres=vm_%s:1" % image, "-t", "5", "-J", "e2e-paused",
                      "-o", "/dev/null", "--wrap", "hostname"]).stdout.strip().split(";")[0]
        story.event("user: sbatch --gres=vm_%s:1 -> job %s" % (image, job_id))
        for _run in range(2):
            summary = story.scheduler()
            assert [h for h in summary["spawned"] if h.startswith("vm-%s-" % image)] == [], summary
            assert not live_host_jobs(image)
        said = comment(job_id)
        assert said == "%s image %s paused: %s" % (PREFIX, image, reason), said
        assert job(job_id)["JobState"] == "PENDING"
        story.event("job %s waits; its comment: %r" % (job_id, said))
        data, table = status(story.extra_vars)
        assert data["images"][image]["paused"]["reason"] == reason
        assert data["images"][image]["pending_jobs"] == 1
        line = [t for t in table if t.startswith("image %s " % image)][0]
        assert "PAUSED since" in line and reason in line, table
        story.event("status: %s" % line)

        resumed = verb("pause.yml", "-e", "image=" + image, "-e", "resume=true").ok()
        assert resumed.changed == 1 and image not in paused_images()
        story.event("admin: hpc.slurm_vm.pause image=%s resume=true" % image)
        state = story.wait("job %s to run" % job_id,
                           lambda: job(job_id)["JobState"] in ("RUNNING", "COMPLETING", "COMPLETED") and
                           job(job_id)["JobState"], timeout=400, every=15)
        story.event("job %s %s on %s" % (job_id, state.lower(), job(job_id).get("NodeList")))
        assert comment(job_id) == ""  # the scheduler clears its own comment once a VM comes for the job
        story.wait("job %s to complete" % job_id, lambda: job(job_id)["JobState"] == "COMPLETED", timeout=120)
        story.wait("the %s VM to be torn down" % image, lambda: not live_host_jobs(image), timeout=300, every=4)
        story.event("VM torn down; the image serves again as before the pause")
    finally:
        if image in paused_images():
            verb("pause.yml", "-e", "image=" + image, "-e", "resume=true")
        if job_id:
            run(["scancel", job_id], check=False)
