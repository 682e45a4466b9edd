# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Queue-to-running for 1 VM, then for 4 VMs spawned in one run (issue 11: at most 1.5x).

Submits N `sbatch --gres=vm_deb12:1` jobs at once, starts one scheduler run right after
(max_spawn_per_run 4 in the lab; one host job per stand-in hypervisor), and waits until
every job has run; the time is from the submit to the last job RUNNING. Between rounds
the VMs are torn down by scheduler runs (idle timeout 5 s). The lab's TCG guests share
2 cores, so 4 guests boot slower than 1. Needs the lab up and idle.
Run: lab/exec .venv/bin/python tests/bench/many_vms_bench.py [N ...]   (default: 1 4)
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from e2e.story import Story, run  # noqa: E402


def job_states(job_ids):
    out = run(["squeue", "-h", "-j", ",".join(job_ids), "-o", "%i|%T|%N"], check=False).stdout
    states = {}
    for line in out.split():
        job_id, state, node = line.split("|")
        states[job_id] = (state, node)
    return states


def one_round(story, count):
    t0 = time.time()
    job_ids = [run(["sbatch", "--parsable", "--chdir=/", "--gres=vm_deb12:1", "-t", "5", "-J", "bench-many",
                    "--wrap", "sleep 2"]).stdout.strip().split(";")[0] for _index in range(count)]
    first_run = story.scheduler()
    running, nodes = {}, {}
    deadline = t0 + 300
    while len(running) < count:
        now = time.time()
        if now > deadline:
            raise SystemExit("timeout: %d of %d jobs ran" % (len(running), count))
        for job_id, (state, node) in job_states(job_ids).items():
            if state in ("RUNNING", "COMPLETING") and job_id not in running:
                running[job_id], nodes[job_id] = now - t0, node
        for job_id in job_ids:  # finished before we saw it running: count it at its end
            if job_id not in running and job_id not in job_states([job_id]):
                running[job_id], nodes[job_id] = now - t0, "?"
        time.sleep(0.2)
    vms = sorted(set(nodes.values()))
    return first_run, running, vms


def main():
    counts = [int(arg) for arg in sys.argv[1:]] or [1, 4]
    story = Story(idle_timeout=5, say=lambda *_args: None, name="bench-many")
    results = {}
    for count in counts:
        first_run, running, vms = one_round(story, count)
        results[count] = max(running.values())
        print("%d VM(s): scheduler run %.1f s spawned %s; jobs RUNNING after %s s; last %.1f s" % (
            count, first_run["seconds"], ",".join(first_run["spawned"]),
            ", ".join("%.1f" % v for v in sorted(running.values())), results[count]))
        for vm in vms:
            if vm != "?":
                story.wait("VM %s torn down" % vm, lambda v=vm: story.in_pool(v) and not story.host_job(v),
                           timeout=300, every=6)
    if 1 in results and len(results) > 1:
        for count in sorted(results):
            if count > 1:
                print("%d VMs / 1 VM: %.2fx (target: at most 1.5x)" % (count, results[count] / results[1]))


if __name__ == "__main__":
    main()
