# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end under faults (issue 11, cases 3, 4, 6, 7): the lab's real daemons are
stopped, host jobs cancelled, schedulers raced and SIGKILLed; each test checks the
scheduler repairs it and leaves the lab clean (no trace of any VM it touched, no user job).
Run inside the lab: lab/exec .venv/bin/pytest -q -s -o testpaths=tests/e2e tests/e2e/test_faults.py"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import time

import pytest

from . import faults_helpers as fh
from .story import HOST_CONF, LAB_DIR, Story, StoryError, job, node, run


@pytest.fixture(autouse=True)
def in_lab():
    ns = "/run/netns/hpcvm-lab"
    if not os.path.exists(ns) or os.stat("/proc/self/ns/net").st_ino != os.stat(ns).st_ino:
        pytest.fail("run inside the lab: lab/exec .venv/bin/pytest tests/e2e", pytrace=False)
    started = time.time()
    yield
    print("\n[test took %.0fs]" % (time.time() - started))


def domain_exists(vm):
    return subprocess.run(["virsh", "-q", "-c", "qemu:///system", "domstate", vm], capture_output=True,
                          check=False, timeout=30).returncode == 0


def clean_up(story, prefix, names, timeout=240):
    """Cancel the test's user jobs, then run the scheduler until no trace of `names` is left."""
    for job_id in fh.user_jobs(prefix):
        run(["scancel", job_id], check=False)

    def clean():
        return not fh.user_jobs(prefix) and all(story.traces(vm) == [] for vm in names)
    story.wait("no trace left of %s" % sorted(names), clean, timeout=timeout, every=8)
    for vm in sorted(names):
        assert story.traces(vm) == []
    assert fh.user_jobs(prefix) == []


def test_case7_host_job_cancelled_under_a_running_vm():
    """scancel of the host job: its trap destroys the domain, Slurm requeues the VM job (the lab
    runs JobRequeue=1; the job also asks --requeue), the scheduler cleans the records ('finish')."""
    story = Story(idle_timeout=15, name="faults-7")
    job_id = fh.sbatch("faults-7", "--requeue", "--gres=vm_deb12:1", wrap="sleep 300")
    touched = set()
    try:
        def running():
            fields = job(job_id)
            return fields if fields.get("JobState") == "RUNNING" else None
        fields = story.wait("job %s to run in a VM" % job_id, running, timeout=150, every=10)
        vm = fields["NodeList"]
        touched.add(vm)
        assert fields["Restarts"] == "0"
        host_job = story.host_job(vm)
        assert host_job, "no host job for %s" % vm
        story.event("user job %s runs on %s; scancel host job %s" % (job_id, vm, host_job["JobId"]))
        run(["scancel", host_job["JobId"]], conf=HOST_CONF)
        story.wait("the host job's trap to destroy %s" % vm, lambda: not domain_exists(vm), timeout=40)
        story.event("domain %s destroyed by the host job's trap" % vm)

        # Slurm alone (no scheduler run) notices the node is gone and requeues the batch job.
        def requeued():
            fields = job(job_id)
            return fields if int(fields.get("Restarts", "0")) >= 1 else None
        fields = story.wait("Slurm to requeue job %s" % job_id, requeued, timeout=90)
        story.event("job %s: JobState=%s Reason=%s Restarts=%s; node %s: %s (%s)" % (
            job_id, fields["JobState"], fields.get("Reason"), fields["Restarts"], vm,
            node(vm).get("State"), node(vm).get("Reason")))
        assert fields["JobState"] in ("PENDING", "REQUEUED"), fields
        assert node(vm).get("State", "").startswith("DOWN"), node(vm)
        # the records are still there: the scheduler, not the trap, removes them
        assert "DHCP reservation" in story.traces(vm)
    finally:
        for job_id in fh.user_jobs("faults-7"):
            run(["scancel", job_id], check=False)
    clean_up(story, "faults-7", touched, timeout=150)


def test_case6_bind_stopped_during_a_run():
    """named stopped: the run fails at the DNS claim and leaves nothing half-done; once named is
    back (lab/up), the next run spawns the VM; it runs the job and goes without a trace."""
    story = Story(idle_timeout=10, name="faults-6")
    named_pid = os.path.join(LAB_DIR, "run", "named.pid")
    before = fh.allocations()
    job_id = fh.sbatch("faults-6", "--gres=vm_deb12:1", wrap="hostname")
    touched = set(fh.DEB12)
    try:
        stopped = fh.stop_daemon(named_pid)
        story.event("named (pid %d) stopped" % stopped)
        try:
            with pytest.raises(StoryError) as failed:
                story.scheduler()
            text = str(failed.value)
            assert "Claim the names in DNS" in text, text[-3000:]
            story.event("scheduler run failed at the DNS claim, as it should")
            files = sorted(f for f in os.listdir(fh.HOSTSDIR) if f.startswith("hpc-slurm-vm-"))
            assert files == sorted("hpc-slurm-vm-" + n for n in before["dhcp"]), files
            host_jobs = run(["squeue", "-h", "-o", "%j"], conf=HOST_CONF).stdout.split()
            assert [n for n in host_jobs if n.startswith("hpcvm:")] == [], host_jobs
            assert all(story.in_pool(vm) for vm in fh.DEB12 if vm not in before["dhcp"])
        finally:
            fh.lab_up()
            story.event("named started again (lab/up)")
        assert fh.allocations() == before, "the failed run left records"
        summary = story.scheduler()
        assert len(summary["spawned"]) == 1, summary
        story.event("next run spawned %s" % summary["spawned"][0])

        def done():
            fields = job(job_id)
            return fields if fields.get("JobState", "COMPLETED") not in ("PENDING", "RUNNING", "CONFIGURING") \
                else None
        fields = story.wait("job %s to finish" % job_id, done, timeout=120, every=10)
        assert fields.get("JobState", "COMPLETED") == "COMPLETED", fields
    finally:
        fh.lab_up()
    clean_up(story, "faults-6", touched, timeout=150)
