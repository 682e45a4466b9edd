# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: a hypervisor running a busy VM is drained in the host cluster (maintenance), and a
maintenance reservation is put on it. The scheduler drains the VM with a reason naming the hypervisor,
moves the VM's reservation to start before the maintenance, lets the job complete, tears the VM down,
and the next job's VM starts on another hypervisor. When the hypervisor returns, nothing is left.

With HPCVM_CAPTURE_DIR set, the snapshot reader's Slurm outputs at the drained moment are saved there
(the unit tests' fixtures hypervisor_drain_*.txt come from such a run)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import os
import time

from .story import HOST_CONF, Story, job, node, run

IMAGE = "deb12"
MAINT = "e2e-maint"


def submit(name, seconds):
    return run(["sbatch", "--parsable", "--chdir=/", "-J", name, "--gres=vm_%s:1" % IMAGE, "-t", "5",
                "--wrap", "sleep %d" % seconds]).stdout.strip().split(";")[0]


def epoch(slurm_time):
    return calendar.timegm(time.strptime(slurm_time, "%Y-%m-%dT%H:%M:%S")) - _utc_offset()


def _utc_offset():
    return calendar.timegm(time.localtime()) - int(time.time())


def capture(hypervisor, reader_outputs):
    """Save the reader's calls' outputs (the same argv the snapshot reader runs) for the unit tests."""
    target = os.environ.get("HPCVM_CAPTURE_DIR")
    if not target:
        return
    os.makedirs(target, exist_ok=True)
    for name, argv, conf in reader_outputs(hypervisor):
        with open(os.path.join(target, "hypervisor_drain_%s.txt" % name), "w") as handle:
            handle.write(run(argv, conf=conf, check=False).stdout)


def reader_outputs(hypervisor):
    from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import snapshot as slurm_snapshot
    from .story import VM_CONF
    return [
        ("squeue_host", ["squeue", "-h", "-a", "-t", "PENDING,RUNNING,CONFIGURING,COMPLETING",
                         "-o", slurm_snapshot.HOST_SQUEUE_FORMAT], HOST_CONF),
        ("host_scontrol_show_node", ["scontrol", "-F", "-o", "show", "node", hypervisor], HOST_CONF),
        ("host_scontrol_show_res", ["scontrol", "-o", "show", "reservation"], HOST_CONF),
        ("scontrol_show_res", ["scontrol", "-o", "show", "reservation"], VM_CONF),
    ]


def test_a_drained_hypervisor_lets_its_vm_finish_the_job_then_the_vm_goes_and_is_not_replaced_there():
    story = Story(image=IMAGE, idle_timeout=15, name="hypervisor-drain")
    first = submit("e2e-hv-drain-1", 90)  # long enough to be running when the drain is checked, on a busy machine
    second = None
    hypervisor = None
    try:
        def first_runs():
            fields = job(first)
            return fields.get("NodeList") if fields["JobState"] == "RUNNING" else None
        vm = story.wait("job 1 to run", first_runs, timeout=300, every=10)
        hypervisor = story.host_job(vm)["NodeList"]
        story.event("job %s runs on %s, hypervisor %s" % (first, vm, hypervisor))

        run(["scontrol", "update", "nodename=" + hypervisor, "state=drain", "reason=e2e maintenance"], conf=HOST_CONF)
        maint_start = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() + 3600))
        run(["scontrol", "create", "reservation", "reservationname=" + MAINT, "starttime=" + maint_start,
             "duration=10", "nodes=" + hypervisor, "users=root", "flags=maint,ignore_jobs"], conf=HOST_CONF)
        story.event("host cluster: %s drained (e2e maintenance), MAINT reservation from %s" % (hypervisor, maint_start))
        capture(hypervisor, reader_outputs)

        story.scheduler()
        reason = node(vm).get("Reason", "")
        assert "hypervisor %s out of service in the host cluster" % hypervisor in reason, reason
        assert job(first)["JobState"] == "RUNNING", "the drain must not kill the running job"
        res = run(["scontrol", "-o", "show", "reservation", "hpcvm-" + vm]).stdout
        start = [w.split("=", 1)[1] for w in res.split() if w.startswith("StartTime=")][0]
        grace = 70
        assert abs(epoch(start) - (epoch(maint_start) - grace)) <= 5, (start, maint_start)
        story.event("%s drained (%s); its reservation now starts %s" % (vm, reason, start))

        story.wait("job 1 to complete and %s to go" % vm,
                   lambda: job(first)["JobState"] == "COMPLETED" and not story.host_job(vm) and story.in_pool(vm),
                   timeout=300, every=4)
        assert job(first).get("ExitCode") == "0:0", job(first)
        story.event("job %s completed, %s torn down" % (first, vm))

        second = submit("e2e-hv-drain-2", 1)
        new_vm = story.wait("job 2 to run", lambda: job(second).get("NodeList") if job(second)["JobState"] in (
            "RUNNING", "COMPLETING", "COMPLETED") and job(second).get("NodeList") else None, timeout=300, every=8)
        elsewhere = story.host_job(new_vm)
        assert elsewhere is None or elsewhere["NodeList"] != hypervisor, elsewhere
        story.event("job %s ran on %s (hypervisor %s)" % (second, new_vm, elsewhere and elsewhere["NodeList"]))
    finally:
        run(["scancel", first] + ([second] if second else []), check=False)
        if hypervisor:
            run(["scontrol", "delete", "reservationname=" + MAINT], conf=HOST_CONF, check=False)
            run(["scontrol", "update", "nodename=" + hypervisor, "state=resume"], conf=HOST_CONF, check=False)
        deadline = time.time() + 300
        while story.host_job_names() and time.time() < deadline:
            story.scheduler()
            time.sleep(5)
        story.say("timeline:\n" + "\n".join("  %6.1fs  %s" % event for event in story.events))
    assert not story.host_job_names(), "VMs left behind"
    state = run(["scontrol", "-F", "-o", "show", "node", hypervisor], conf=HOST_CONF).stdout
    assert "DRAIN" not in state and "e2e maintenance" not in state, state
