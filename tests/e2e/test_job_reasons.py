# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: a user sees why their VM job waits (squeue -O comment), written by the scheduler play,
never over their own comment, and cleared once it no longer applies. No VM is started: every job here
is one the scheduler cannot or must not serve."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from .story import Story, run

PREFIX = "hpc.slurm_vm:"


def comment(job_id):
    """The job's comment as the user sees it ('' for none); fails if Slurm does not answer."""
    text = run(["squeue", "-h", "-j", job_id, "-O", "Comment:500"]).stdout.strip()
    return "" if text == "(null)" else text


def submit(*args):
    return run(["sbatch", "--parsable", "--chdir=/", "--wrap", "true"] + list(args)).stdout.strip().split(";")[0]


def test_a_job_longer_than_the_vm_lifetime_is_told_why_and_the_comment_goes_when_it_no_longer_applies():
    story = Story(name="job-reasons")
    lifetime = story.images["deb12"]["rules"].get("lifetime")
    long_job = submit("--gres=vm_deb12:1", "-t", "7-00:00:00", "-J", "e2e-too-long")
    users_own = submit("--gres=vm_deb12:1", "-t", "7-00:00:00", "-J", "e2e-own", "--comment=my run | 42")
    try:
        first = story.scheduler()
        assert first["spawned"] == [], first  # neither job fits a VM of the image (lifetime %s)
        said = comment(long_job)
        assert said.startswith(PREFIX + " time limit 7-00:00:00 is over what a deb12 VM can give ("), (said, lifetime)
        assert comment(users_own) == "my run | 42"
        # held by an admin, the job is no longer demand: the scheduler's comment goes, the user's stays
        run(["scontrol", "hold", long_job])
        story.scheduler()
        assert comment(long_job) == ""
        assert comment(users_own) == "my run | 42"
    finally:
        run(["scancel", long_job, users_own], check=False)


def test_a_gres_no_image_provides_is_named():
    # slurm.conf is rendered from the image table, so the lab's VM cluster knows only the table's gres:
    # the scheduler runs with a table that lacks one image, as after an image left the table.
    story = Story(name="job-reasons-unknown")
    dropped = "disk"
    gres = story.images[dropped].get("gres", "vm_" + dropped)
    del story.images[dropped]
    story.write_images()
    job_id = submit("--gres=%s:1" % gres, "-t", "10", "-J", "e2e-unknown-image")
    try:
        result = story.scheduler()
        assert result["spawned"] == [], result
        said = comment(job_id)
        known = ",".join(sorted(i.get("gres", "vm_" + name) for name, i in story.images.items()))
        assert said == "%s no VM image provides gres %s (known: %s)" % (PREFIX, gres, known), said
    finally:
        run(["scancel", job_id], check=False)
