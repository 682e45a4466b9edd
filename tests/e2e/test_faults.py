# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end under faults (issue 11, cases 3, 4, 6, 7): the lab's real daemons are
stopped, host jobs cancelled, schedulers raced and SIGKILLed; each test checks the
scheduler repairs it and leaves the lab clean (no trace of any VM it touched, no user job).
Run inside the lab: lab/exec .venv/bin/pytest -q -s -o testpaths=tests/e2e tests/e2e/test_faults.py"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import signal
import subprocess
import time

import pytest

from . import faults_helpers as fh
from .story import HOST_CONF, LAB_DIR, Story, StoryError, job, node, run, scontrol_fields


def domain_exists(vm):
    return subprocess.run(["virsh", "-q", "-c", "qemu:///system", "domstate", vm], capture_output=True,
                          check=False, timeout=30).returncode == 0


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
    fh.clean_up(story, "faults-7", touched, timeout=150)


@pytest.mark.parametrize("server,pid_file,expected", [
    ("named", "named.pid", ["Claim the names in DNS"]),
    ("dnsmasq", "dnsmasq.pid", ["DHCP reservation failed (dnsmasq is not running", "was rolled back"]),
])
def test_case6_a_server_stopped_during_a_run(server, pid_file, expected):
    """BIND or the guests' dnsmasq stopped: the run fails at the DNS claim or at the DHCP reservation (whose
    failure rolls back the DNS claim) and leaves nothing half-done; once the server is back (lab/up), the
    next run spawns the VM; it runs the job and goes without a trace."""
    prefix = "faults-6-" + server
    story = Story(idle_timeout=10, name=prefix)
    before = fh.allocations()
    job_id = fh.sbatch(prefix, "--gres=vm_deb12:1", wrap="hostname")
    touched = set(fh.DEB12)
    try:
        stopped = fh.stop_daemon(os.path.join(LAB_DIR, "run", pid_file))
        story.event("%s (pid %d) stopped" % (server, stopped))
        try:
            with pytest.raises(StoryError) as failed:
                story.scheduler()
            text = str(failed.value)
            for words in expected:
                assert words in text, text[-3000:]
            story.event("scheduler run failed as it should: %s" % "; ".join(expected))
            assert all(story.in_pool(vm) for vm in fh.DEB12 if vm not in before["dhcp"])
        finally:
            fh.lab_up()
            story.event("%s started again (lab/up)" % server)
        assert fh.allocations() == before, "the failed run left records"  # read once named answers again
        summary = story.scheduler()
        assert len(summary["spawned"]) == 1, summary
        story.event("next run spawned %s" % summary["spawned"][0])
        fields = story.wait("job %s to finish" % job_id, fh.job_finished(job_id), timeout=120, every=10)
        assert fields["JobState"] == "COMPLETED", fields
    finally:
        fh.lab_up()
        for left in fh.user_jobs(prefix):
            run(["scancel", left], check=False)
    fh.clean_up(story, prefix, touched, timeout=150)


def run_all(procs, timeout=400):
    outputs = []
    for proc in procs:
        outputs.append((proc.communicate(timeout=timeout)[0], proc.returncode))
    return outputs


def test_case4_three_schedulers_at_the_same_moment():
    """Three scheduler runs at once, without the lock, over 12 pending jobs on 2 images: no name,
    MAC or IP is allocated twice. The hypervisors are held by a maintenance reservation on the host
    cluster, so the host jobs stay PENDING and no VM boots; the names are cleaned up afterwards."""
    names = fh.DEB12 + fh.DISK
    story = Story(idle_timeout=10, name="faults-4",
                  extra_vars={"slurm_vm_host_job_wait": 1, "slurm_vm_reconcile_only_hosts": names})
    before = fh.allocations()
    assert not [n for n, ip in before["a"] if n in names], before
    run(["scontrol", "create", "reservation", "ReservationName=faults-4-hold", "Nodes=hv[01-04]", "StartTime=now",
         "Duration=30", "Users=root", "Flags=maint,ignore_jobs"], conf=HOST_CONF)
    leftover = []
    try:
        for index in range(6):
            fh.sbatch("faults-4-deb12-%d" % index, "--gres=vm_deb12:1", wrap="hostname")
            fh.sbatch("faults-4-disk-%d" % index, "--gres=vm_disk:1", wrap="hostname")
        for round_index in (1, 2):
            procs = [fh.playbook("scheduler.yml", story.extra_vars) for _index in range(3)]
            outputs = run_all(procs)
            for index, (output, _returncode) in enumerate(outputs):
                with open(os.path.join(LAB_DIR, "scheduler", "faults-4-round%d-run%d.log" % (round_index, index)),
                          "w") as log:
                    log.write(output)
            for output, returncode in outputs:
                assert returncode == 0, output[-6000:]
            alloc = fh.allocations()
            story.event("round %d: 3 runs at once; names claimed: %s; host jobs: %s" % (
                round_index, sorted(n for n, ip in alloc["a"]),
                sorted((n, job_id) for n, job_id, state in alloc["host_jobs"])))
            fh.assert_no_duplicates(alloc)
            claimed = sorted(n for n, ip in alloc["a"])
            # each claimed name has exactly its own DHCP file and PTR, and at most one pending host job;
            # a host job never exists without the name's records. A run that lost a name to a racer plans
            # replacements (it cannot tell a racer from a killed run's leftovers), so the runs together
            # may claim more than the demand; the next run cancels the spare pending host jobs (their
            # records then wait for the reconciler), which is what round 2 sees.
            assert sorted(alloc["dhcp"]) == claimed, alloc
            assert sorted(n for ip, n in alloc["ptr"]) == claimed, alloc
            with_jobs = sorted(n for n, job_id, state in alloc["host_jobs"])
            assert set(with_jobs) <= set(claimed), alloc
            if round_index == 1:
                assert with_jobs == claimed, alloc
            assert {state for n, job_id, state in alloc["host_jobs"]} == {"PENDING"}, alloc
        assert len([n for n in claimed if n in fh.DISK]) == 4, claimed  # the disk pool is full
        assert len(claimed) >= 8, claimed
    finally:
        for job_id in fh.user_jobs("faults-4"):
            run(["scancel", job_id], check=False)
        # demand gone: the scheduler cancels the pending host jobs (still held, so none starts)
        try:
            story.wait("the pending host jobs to be cancelled", lambda: not fh.allocations()["host_jobs"],
                       timeout=60, every=5)
        except StoryError:
            leftover = fh.allocations()["host_jobs"]  # a second job of a name is invisible to the planner
            for _name, job_id, _state in leftover:
                run(["scancel", job_id], conf=HOST_CONF, check=False)
        run(["scontrol", "delete", "reservation=faults-4-hold"], conf=HOST_CONF, check=False)
        fh.gc(story.extra_vars, grace=0)
    assert leftover == [], "host jobs the scheduler did not cancel (cancelled by the test): %s" % leftover
    alloc = fh.allocations()
    assert [n for n, ip in alloc["a"] if n in names] == [], alloc
    assert [n for n in alloc["dhcp"] if n in names] == [], alloc
    for vm in names:
        assert story.traces(vm) == [], vm
    assert fh.user_jobs("faults-4") == []


def _step_seen(step):
    """Whether a scheduler run reached `step` for a deb12 name (its effect is visible)."""
    if step == "dns":
        return any(owner.startswith("vm-deb12-") for owner, rtype, _data in fh.axfr(fh.ZONE) if rtype == "A")
    if step == "dhcp":
        return any(name.startswith("hpc-slurm-vm-vm-deb12-") for name in os.listdir(fh.HOSTSDIR))
    if step == "host_job":
        return "hpcvm:vm-deb12-" in run(["squeue", "-h", "-o", "%j"], conf=HOST_CONF).stdout
    proc = subprocess.run(["virsh", "-c", "qemu:///system", "list", "--all", "--name"], capture_output=True,
                          text=True, check=True, timeout=30)
    return "vm-deb12-" in proc.stdout


@pytest.mark.parametrize("step", ["dns", "dhcp", "host_job", "spawn"])
def test_case3_scheduler_sigkilled_at_a_step_of_a_spawn(step):
    """SIGKILL of the whole scheduler run (its process group) as soon as the step's effect shows: after
    the DNS claim, after DHCP, after the host job submit, during spawn. Names left claimed without a host
    job are the reconciler's (gc.yml, grace 0 here); a host job without its domain ends at boot_timeout.
    Then the job runs in a VM, nothing is ever allocated twice, and nothing is left after teardown."""
    prefix = "faults-3-" + step
    with fh.HistoryKept():
        story = Story(idle_timeout=10, name=prefix,
                      rules={"boot_timeout": 40, "failed_hold": 5, "backoff_failures": 99},
                      extra_vars={"slurm_vm_reconcile_only_hosts": fh.DEB12})
        before = fh.allocations()
        assert not [n for n, ip in before["a"] if n in fh.DEB12], before
        job_id = fh.sbatch(prefix, "--gres=vm_deb12:1", wrap="hostname")
        try:
            proc = fh.playbook("scheduler.yml", story.extra_vars)
            deadline = time.time() + 120
            while not _step_seen(step):
                assert proc.poll() is None, "the run ended before step %s:\n%s" % (step, proc.stdout.read()[-4000:])
                assert time.time() < deadline, "step %s not reached" % step
                time.sleep(0.05)
            fh.kill_group(proc)
            alloc = fh.allocations()
            story.event("SIGKILLed the run after step %s; left: A %s, DHCP %s, host jobs %s, domain %s" % (
                step, alloc["a"], sorted(alloc["dhcp"]), alloc["host_jobs"], _step_seen("spawn")))
            fh.assert_no_duplicates(alloc)
            if not alloc["host_jobs"]:
                story.event("gc.yml (grace 0) removes the claimed names without a host job")
                fh.gc(story.extra_vars, grace=0)
            never_twice = fh.job_finished(job_id, each=lambda _fields: fh.assert_no_duplicates(fh.allocations()))
            fields = story.wait("job %s to run in a VM and finish" % job_id, never_twice, timeout=170,
                                every=10)
            assert fields["JobState"] == "COMPLETED", fields
            story.event("job %s %s on %s" % (job_id, fields.get("JobState"), fields.get("NodeList")))
        finally:
            for left in fh.user_jobs(prefix):
                run(["scancel", left], check=False)
        fh.clean_up(story, prefix, set(fh.DEB12), timeout=120)
        # every allocation (A, TXT, PTR, DHCP, host jobs) is what it was before the killed run
        assert fh.allocations() == before, (before, fh.allocations())


def test_case5_vm_cluster_slurmctld_restarted_while_vms_run():
    """The VM cluster's slurmctld restarted under two VMs (one running a job, one idle): both nodes come
    back FUTURE (hidden; FACTS.md) and a new job pends. The next scheduler run sees them as hidden, not
    as VMs still booting (it would end them at boot_timeout), resumes them through the reconciler, spawns
    nothing: the running job finishes, the new job runs on the idle VM."""
    story = Story(idle_timeout=90, name="faults-5")
    assert fh.user_jobs("") == [] and not any(story.traces(vm) for vm in fh.DEB12), "the lab is not idle"
    long_job = fh.sbatch("faults-5-long", "--gres=vm_deb12:1", wrap="sleep 75")
    short_job = fh.sbatch("faults-5-short", "--gres=vm_deb12:1", wrap="hostname")
    touched = set(fh.DEB12)
    try:
        def both_ran():
            long_fields, short_fields = job(long_job), job(short_job)
            if long_fields.get("JobState") == "RUNNING" and short_fields["JobState"] == "COMPLETED":
                return long_fields["NodeList"], short_fields.get("NodeList")
            return None
        busy_vm, idle_vm = story.wait("the long job to run and the short one to finish", both_ran, timeout=180,
                                      every=8)
        assert busy_vm != idle_vm and idle_vm, (busy_vm, idle_vm)
        story.scheduler()  # a run that sees both registered (the idle one is remembered in registered.json)
        story.event("VM %s runs job %s, VM %s idle; restarting the VM cluster's slurmctld" % (
            busy_vm, long_job, idle_vm))
        fh.stop_daemon(os.path.join(LAB_DIR, "run", "vm", "slurmctld.pid"))
        fh.lab_up()
        for vm in (busy_vm, idle_vm):
            assert node(vm).get("State") == "FUTURE", (vm, node(vm))  # the trap: hidden after a restart
        assert job(long_job).get("JobState") == "RUNNING"
        new_job = fh.sbatch("faults-5-new", "--gres=vm_deb12:1", wrap="hostname")
        time.sleep(3)
        assert job(new_job).get("JobState") == "PENDING", job(new_job)  # nothing takes it while hidden
        story.event("both nodes FUTURE, job %s still RUNNING, new job %s PENDING" % (long_job, new_job))

        summary = story.scheduler()
        story.event("scheduler run: hidden %s, spawned %s, teardown %s" % (
            summary["hidden"], summary["spawned"], summary["teardown"]))
        assert sorted(summary["hidden"]) == sorted([busy_vm, idle_vm]), summary
        assert summary["spawned"] == [] and summary["teardown"] == [], summary
        for vm in (busy_vm, idle_vm):
            assert node(vm).get("State", "").split("+")[0] in ("IDLE", "ALLOCATED", "MIXED"), (vm, node(vm))

        fields = story.wait("new job %s to finish" % new_job, fh.job_finished(new_job), timeout=60)
        assert fields["JobState"] == "COMPLETED", fields
        assert fields.get("NodeList", idle_vm) == idle_vm, fields
        fields = story.wait("long job %s to finish" % long_job, fh.job_finished(long_job), timeout=120)
        assert fields["JobState"] == "COMPLETED", fields
        story.event("job %s ran on %s; job %s completed on %s across the restart" % (
            new_job, idle_vm, long_job, busy_vm))
    finally:
        for left in fh.user_jobs("faults-5"):
            run(["scancel", left], check=False)
        fh.lab_up()
    story.images["deb12"]["rules"]["idle_timeout"] = 10
    with open(story.extra_vars, "w") as handle:
        json.dump({"slurm_vm_images": story.images}, handle)
    fh.clean_up(story, "faults-5", touched, timeout=150)


def host_node_state(name):
    return scontrol_fields(run(["scontrol", "-o", "show", "node", name], conf=HOST_CONF).stdout)["State"]


def test_a_dying_hypervisor_takes_its_vm_with_it():
    """The hypervisor under a running VM dies (its slurmd SIGKILLed with every process in its namespace,
    the VM's domain destroyed: a power loss). The host cluster ends the host job (NODE_FAIL, never
    requeued: --no-requeue), the VM cluster requeues the user's job, the scheduler cleans the VM's
    records and gives the job a new VM on a live hypervisor; once the hypervisor is back, the reconciler
    removes what the dead one kept (the domain's definition and files)."""
    with fh.HistoryKept():
        _dying_hypervisor()


def _dying_hypervisor():
    story = Story(idle_timeout=10, name="faults-hv", extra_vars={"slurm_vm_reconcile_only_hosts": fh.DEB12})
    wrap = 'if [ "${SLURM_RESTART_COUNT:-0}" -ge 1 ]; then hostname; else sleep 300; fi'
    job_id = fh.sbatch("faults-hv", "--requeue", "--gres=vm_deb12:1", wrap=wrap)
    dead = None
    try:
        def running():
            fields = job(job_id)
            return fields if fields.get("JobState") == "RUNNING" else None
        vm = story.wait("job %s to run in a VM" % job_id, running, timeout=150, every=8)["NodeList"]
        host_job = story.host_job(vm)
        dead = host_job["NodeList"]
        pid = fh.pid_of(os.path.join(LAB_DIR, "standins", dead, "unshare.pid"))
        assert pid and fh.alive(pid), "no stand-in process for %s" % dead
        os.kill(pid, signal.SIGKILL)  # unshare --kill-child: slurmd and the host job's shell die with it
        subprocess.run(["virsh", "-q", "-c", "qemu:///system", "destroy", vm], capture_output=True, check=True,
                       timeout=30)
        story.event("hypervisor %s died (stand-in pid %d SIGKILLed) with VM %s (domain destroyed), host job %s"
                    % (dead, pid, vm, host_job["JobId"]))

        def requeued():
            fields = job(job_id)
            return fields if int(fields.get("Restarts", "0")) >= 1 else None
        story.wait("the VM cluster to requeue job %s" % job_id, requeued, timeout=90)
        story.wait("the host cluster to end host job %s" % host_job["JobId"], lambda: story.host_job(vm) is None,
                   timeout=90)
        ended = job(host_job["JobId"], conf=HOST_CONF)
        story.event("host job %s: %s; %s: %s; job %s requeued" % (
            host_job["JobId"], ended["JobState"], dead, host_node_state(dead), job_id))
        assert ended["JobState"] == "NODE_FAIL", ended
        assert host_node_state(dead).startswith("DOWN"), host_node_state(dead)

        def on_a_live_hypervisor(fields):
            if fields.get("JobState") == "RUNNING":
                new_host_job = story.host_job(fields["NodeList"])
                assert new_host_job and new_host_job["NodeList"] != dead, (fields, new_host_job)
        fields = story.wait("job %s to run again in a new VM and finish" % job_id,
                            fh.job_finished(job_id, each=on_a_live_hypervisor), timeout=240, every=8)
        assert fields["JobState"] == "COMPLETED", fields
        story.event("job %s %s on %s after the requeue" % (job_id, fields.get("JobState"), fields.get("NodeList")))
    finally:
        for left in fh.user_jobs("faults-hv"):
            run(["scancel", left], check=False)
        if dead:
            fh.lab_up()  # the hypervisor comes back (ReturnToService=1)
            back = ("IDLE", "MIXED", "ALLOCATED")
            story.wait("%s to be back" % dead, lambda: host_node_state(dead).split("+")[0] in back, timeout=60)
    story.event("gc.yml (grace 0, sweep) after %s came back" % dead)
    fh.gc(story.extra_vars, grace=0)
    fh.clean_up(story, "faults-hv", set(fh.DEB12), timeout=150)
