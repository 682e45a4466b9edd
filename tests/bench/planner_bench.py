# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planner benchmark: 100,000 pending jobs, 20 images, 10,000 pool nodes, 2,000
hypervisors (host jobs). Target: plan() under 0.5 s (median of N runs, default 3; see benchstats.py).

Run: .venv/bin/python tests/bench/planner_bench.py [N]
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", ".cache", "collections"))

import benchstats  # noqa: E402
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table  # noqa: E402
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import planner as vm_planner  # noqa: E402

IMAGES, NODES_PER_IMAGE, JOBS, HYPERVISORS = 20, 500, 100000, 2000
NOW = 1800000000


def build(rng):
    table = {}
    for i in range(IMAGES):
        table["img%02d" % i] = {
            "pool": "vm-img%02d-[0001-%04d]" % (i, NODES_PER_IMAGE),
            "network": {"bridge": "br0", "subnet": "10.0.0.0/8", "ip_offset": (i + 1) * 65536,
                        "mac_prefix": "52:54:00:%02x" % (i + 16)},
            "rules": {"lifetime": 86400, "max_spawn_per_run": 50, "min_idle": 2},
        }
    started = time.perf_counter()
    images = image_table.normalize_table(table)
    normalize_s = time.perf_counter() - started
    nodes, host_jobs = {}, {}
    hv = 0
    for name in sorted(images):
        for index, host in enumerate(images[name]["hosts"]):
            live = index < HYPERVISORS // IMAGES
            state = rng.choice(["IDLE", "ALLOCATED", "MIXED"]) if live else "FUTURE"
            nodes[host] = {"state": state, "flags": [], "reason": "", "registered": live,
                           "boot_time": NOW - 3600 if live else None, "slurmd_start": NOW - 3000 if live else None,
                           "last_busy": NOW - rng.randint(0, 2000), "gres": "", "features": "",
                           "alloc_cpus": 1 if state != "IDLE" else 0}
            if live:
                hv += 1
                host_jobs[host] = {"id": str(200000 + hv), "name": "hpcvm:" + host, "state": "RUNNING", "reason": "",
                                   "start": NOW - 3600, "end": NOW - 3600 + 86400, "time_limit": 86400,
                                   "hypervisor": "hv%04d" % hv}
    names = sorted(images)
    jobs = []
    for job_id in range(JOBS):
        image = images[names[job_id % IMAGES]]
        jobs.append({"id": str(job_id + 1), "name": "j", "user": "u%d" % (job_id % 50), "partition": "vms",
                     "state": "PENDING", "reason": "Resources" if job_id % 10 else "JobHeldUser",
                     "gres": {image["gres"]: 1}, "features": "", "num_nodes": 1, "nodelist": "",
                     "time_limit": rng.choice([600, 3600, 14400, 43200]), "submit": NOW - rng.randint(0, 86400),
                     "start": None, "end": None})
    snapshot = {"time": NOW, "vm_jobs": jobs, "nodes": nodes, "host_jobs": host_jobs, "reservations": {}}
    return snapshot, images, normalize_s, hv


def main():
    count = benchstats.runs(given=sys.argv[1] if len(sys.argv) > 1 else None)
    snapshot, images, normalize_s, hv = build(random.Random(42))
    runs = []
    for _run in range(count):
        started = time.perf_counter()
        result = vm_planner.plan(snapshot, images, rules={"max_total_vms": 5000})
        runs.append(time.perf_counter() - started)
    print("planner: %d pending jobs, %d images, %d pool nodes, %d hypervisors with host jobs"
          % (len(snapshot["vm_jobs"]), len(images), len(snapshot["nodes"]), hv))
    print("  normalize image table: %.3f s (once per run, not part of the target)" % normalize_s)
    print("  plan: %d spawn, %d cancel, %d teardown, %d gc"
          % (len(result["spawn"]), len(result["cancel"]), len(result["teardown"]), len(result["gc"])))
    report = benchstats.Report("planner")
    report.add("plan(), 100k jobs, 10k nodes", runs, target=("<", 0.5))
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
