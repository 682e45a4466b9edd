# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""1 VM against 4 VMs spawned in one run (issue 16: two figures instead of the wall clock).

Submits N `sbatch --gres=vm_deb12:1` jobs at once, starts one scheduler run right after
(max_spawn_per_run 4 in the lab; one host job per stand-in hypervisor), and waits until
every job has run. Between rounds the VMs are torn down by scheduler runs (idle timeout 5 s).
Needs the lab up and idle.

The lab's TCG guests share 2 cores, so four cannot boot as fast as one: the wall clock from
submit to the last job RUNNING is printed but has no target. The two figures with a meaning:
- the scheduler's own run time (the ansible-playbook run that plans, claims and spawns),
  4 VMs against 1 in the same round; target: the median of the paired ratio at most 1.2x;
- the guests' CPU seconds per boot: each VM's qemu CPU time (utime + stime of
  /proc/PID/stat; the PID from libvirt's pid file) when its job is first seen RUNNING,
  the mean over the 4 VMs against the one VM; it should be flat (about 1.0x). No target:
  the issue gives none, the ratio is reported.
ROUNDS rounds of 1 then 4 (default 3, see benchstats.py).
Run: lab/exec .venv/bin/python tests/bench/many_vms_bench.py [ROUNDS]
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys
import time

import benchstats

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "..", ".cache", "collections"))  # story imports the collection
from e2e.story import Story, run  # noqa: E402

LIBVIRT_PIDS = "/run/libvirt/qemu"  # qemu:///system writes <domain>.pid here
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SCHEDULER_TARGET = ("<=", 1.2)


def job_states(job_ids):
    out = run(["squeue", "-h", "-j", ",".join(job_ids), "-o", "%i|%T|%N"], check=False).stdout
    states = {}
    for line in out.split():
        job_id, state, node = line.split("|")
        states[job_id] = (state, node)
    return states


def qemu_cpu_seconds(domain):
    """CPU seconds (user + system) the domain's qemu process has used so far; None if it has none.
    Read only: /proc/PID/stat of the pid libvirt recorded, checked to be a qemu process."""
    try:
        with open(os.path.join(LIBVIRT_PIDS, domain + ".pid")) as handle:
            pid = int(handle.read().strip())
        with open("/proc/%d/comm" % pid) as handle:
            if not handle.read().startswith("qemu"):
                return None
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, ValueError):
        return None
    # after "(comm)": field 3 is state, so utime (14) and stime (15) are at 11 and 12
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def one_round(story, count):
    t0 = time.time()
    job_ids = [run(["sbatch", "--parsable", "--chdir=/", "--gres=vm_deb12:1", "-t", "5", "-J", "bench-many",
                    "--wrap", "sleep 2"]).stdout.strip().split(";")[0] for _index in range(count)]
    started = time.monotonic()
    first_run = story.scheduler()
    scheduler_seconds = time.monotonic() - started
    running, nodes, cpu = {}, {}, {}
    deadline = t0 + 300
    while len(running) < count:
        now = time.time()
        if now > deadline:
            raise SystemExit("timeout: %d of %d jobs ran" % (len(running), count))
        for job_id, (state, node) in job_states(job_ids).items():
            if state in ("RUNNING", "COMPLETING") and job_id not in running:
                running[job_id], nodes[job_id] = now - t0, node
                cpu[node] = qemu_cpu_seconds(node)
        for job_id in job_ids:  # finished before we saw it running: count it at its end
            if job_id not in running and job_id not in job_states([job_id]):
                running[job_id], nodes[job_id] = now - t0, "?"
        time.sleep(0.2)
    vms = sorted(set(nodes.values()))
    return first_run, scheduler_seconds, running, vms, cpu


def main():
    rounds = benchstats.runs(given=sys.argv[1] if len(sys.argv) > 1 else None)
    story = Story(idle_timeout=5, say=lambda *_args: None, name="bench-many")
    figures = {count: {"scheduler": [], "last": [], "cpu": []} for count in (1, 4)}
    for number in range(rounds):
        for count in (1, 4):
            first_run, scheduler_seconds, running, vms, cpu = one_round(story, count)
            boots = [seconds for seconds in cpu.values() if seconds is not None]
            if len(boots) != count:
                raise SystemExit("round %d: CPU time of %d of %d guests found (%r); every job must be seen RUNNING "
                                 "on its VM" % (number + 1, len(boots), count, cpu))
            figures[count]["scheduler"].append(scheduler_seconds)
            figures[count]["last"].append(max(running.values()))
            figures[count]["cpu"].append(sum(boots) / len(boots))
            print("round %d, %d VM(s): scheduler run %.1f s spawned %s; jobs RUNNING after %s s; "
                  "guest CPU at RUNNING %s s" % (
                      number + 1, count, scheduler_seconds, ",".join(first_run["spawned"]),
                      ", ".join("%.1f" % v for v in sorted(running.values())),
                      ", ".join("%s %.1f" % (vm[-3:], seconds) for vm, seconds in sorted(cpu.items()))))
            for vm in vms:
                if vm != "?":
                    story.wait("VM %s torn down" % vm, lambda v=vm: story.in_pool(v) and not story.host_job(v),
                               timeout=300, every=6)
    report = benchstats.Report("many_vms")
    for count in (1, 4):
        report.add("%d VM(s): submit to last job RUNNING" % count, figures[count]["last"], note="no target")
        report.add("%d VM(s): scheduler run" % count, figures[count]["scheduler"])
        report.add("%d VM(s): guest CPU seconds per boot" % count, figures[count]["cpu"], unit="cpu-s")
    report.add("scheduler run, 4 VMs / 1 VM (paired)",
               benchstats.ratios(figures[4]["scheduler"], figures[1]["scheduler"]), unit="x", target=SCHEDULER_TARGET)
    report.add("guest CPU per boot, 4 / 1 (paired)", benchstats.ratios(figures[4]["cpu"], figures[1]["cpu"]),
               unit="x", note="should be flat, about 1.0")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
