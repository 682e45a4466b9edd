# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end (issue 18, test 1): the scheduler trigger `watch` alone serves a VM job.

The watcher runs as its systemd unit would (lab/watch: the unit's ExecStart, here with the story's extra
variables for the runs: idle_timeout 10 s). The test submits a --gres=vm_deb12:1 job and starts no
scheduler run itself. The watcher sees the pending job and starts a run within 2 s; the job runs in a new
VM; the sbatch -> RUNNING time is printed. The VM then goes idle and the watcher's runs tear it down (the
idle timeout is a time rule: the run summary's next_due starts that run) until no trace of it is left.
The watcher is stopped by its PID at the end, and the lab is left with no VM and no watcher.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

import pytest

from .story import Story
from .watch_helpers import Watch, host_jobs, sbatch_vm_job, wait_running

IDLE_TIMEOUT = 10
REACTION_LIMIT = 2.0     # issue 18: a pending VM job starts a run within 2 s
RUNNING_LIMIT = 120.0    # the lab's path is ~20 s; this catches a trigger that waits for its safety net
TEARDOWN_LIMIT = 240.0


@pytest.fixture
def watch():
    story = Story(idle_timeout=IDLE_TIMEOUT, name="trigger", say=print)
    assert not host_jobs(), "the lab is not idle: host jobs %s" % host_jobs()
    watcher = Watch(story.extra_vars)
    watcher.story = story
    watcher.start()
    try:
        yield watcher
    finally:
        print("watcher stopped in %.1f s" % watcher.stop())
        print("watcher log:\n" + watcher.tail(40))


def test_the_watcher_alone_takes_a_vm_job_to_running_and_tears_the_vm_down(watch):
    story = watch.story
    watch.wait_idle()   # its first run at start (and any left by earlier tests) is over
    runs_before = len(watch.runs())
    job_id, submitted = sbatch_vm_job(name="trigger-e2e")
    story.event("user: sbatch --gres=vm_deb12:1 (job %s); no scheduler run is started by the test" % job_id)
    running, vm = wait_running(job_id)
    story.event("job %s RUNNING on %s" % (job_id, vm))
    runs = watch.runs()[runs_before:]
    assert runs, "job RUNNING with no run started by the watcher?\n" + watch.tail()
    first = runs[0]
    reaction = first["start"] - submitted
    print("sbatch -> RUNNING: %.1f s (sbatch -> first run start %.2f s: %s)"
          % (running - submitted, reaction, first["reason"]))
    assert first["reason"].startswith("change: ") and "vm jobs +%s/PENDING" % job_id in first["reason"], first
    assert reaction <= REACTION_LIMIT, "the first run started %.2f s after the sbatch" % reaction
    assert running - submitted <= RUNNING_LIMIT
    assert vm.startswith("vm-deb12-"), vm
    # the VM goes idle; the watcher's runs drain it, end its host job and return the name to the pool
    story.wait("VM %s torn down by the watcher's runs" % vm, lambda: story.in_pool(vm) and not story.host_job(vm),
               timeout=TEARDOWN_LIMIT)
    story.event("VM %s gone, name back in the pool" % vm)
    watch.wait_idle()
    assert story.traces(vm) == []
    runs = watch.runs()[runs_before:]
    for item in runs:
        print("  run at +%6.1f s, %5.1f s, exit %s: %s" % (item["start"] - submitted, item["end"] - item["start"],
                                                           item["rc"], item["reason"]))
    assert all(item["rc"] in (0, 75) for item in runs), runs
    assert any(item["reason"].startswith("due: ") for item in runs), \
        "no run started at the idle timeout (next_due): %s" % [r["reason"] for r in runs]
    quiet = time.time()
    time.sleep(5)
    assert len(watch.runs()) == runs_before + len(runs), "a run with nothing changed (%.0f s quiet)" % (
        time.time() - quiet)
