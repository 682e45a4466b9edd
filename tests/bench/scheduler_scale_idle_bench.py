# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An idle scheduler run at scale against a bare one-task playbook (issue 16: at most 1.5x).

Starts a throwaway VM-cluster slurmctld inside the lab namespace (ClusterName
benchscale, port 7217, state under /tmp/hpcvm-lab/bench-scale-idle, the lab VM
cluster's munge socket) whose slurm.conf holds the lab's pools plus a pool of 200
FUTURE nodes of a bench image `big`, and submits 10,000 pending plain jobs (no vm_*
gres: jobs of other kinds). playbooks/scheduler.yml then runs against it through
extra vars (slurm_vm_vm_cluster, slurm_vm_images, slurm_vm_state_dir in the bench
dir) and the bench's own slurm_demand config. The fair baseline, the bare one-task
playbook, gets the lab's static inventory only: the Slurm snapshot of 10,000 jobs is the
scheduler's own work and counts (until issue 16 the bare run loaded the demand inventory
too). The host cluster stays the lab's (read only: one squeue).

Safety: the image table given to the scheduler holds only `big` (the lab's pools
stay in the throwaway slurm.conf, as nodes of other kinds): its 200 names have no
host job, DNS or DHCP record anywhere. With the lab's deb12 and disk in the table,
the lab host cluster's hpcvm: jobs of other work running at the same time would be
seen under this cluster (FUTURE nodes, never registered) and the run would start,
cancel or end them. The reconciler is kept from running (a fresh reconcile.stamp
and a huge slurm_vm_reconcile_interval): against this cluster it would judge the
lab's live VMs orphans. Every run must plan nothing (no spawn, start, cancel or
teardown), touch no host but localhost and leave the stamp alone, or the bench
aborts. One warm-up scheduler run, then N (default 5, at least 3) alternating runs;
reports medians with min and max and the paired ratio (target: median at most 1.5x).
The slurmctld is stopped by its PID.
Run: lab/exec .venv/bin/python tests/bench/scheduler_scale_idle_bench.py [N]
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import benchstats
from scheduler_idle_bench import BARE, STATIC_INVENTORY, TARGET
from throwaway_slurmctld import conf_lines, sh

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB = os.environ.get("HPCVM_LAB_DIR", "/tmp/hpcvm-lab")
BENCH = os.path.join(LAB, "bench-scale-idle")
SCHED_DIR = os.path.join(BENCH, "scheduler")
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
PORT = 7217  # lab: 6817/6917; slurm_node_state_bench 7017; inventory_bench 7117
JOBS = 10000
POOL_SIZE = 200
VM_CLUSTER = {"name": "benchscale", "port": PORT, "first_job_id": 1, "partition": "vms",
              "max_time": "7-00:00:00", "default_time": "01:00:00"}
BIG = {
    "description": "Bench image: a pool of 200 names that never get a VM",
    "gres": "vm_big",
    "pool": "vm-big-[001-%03d]" % POOL_SIZE,
    "vcpus": 1,
    "memory_mb": 512,
    "network": {"bridge": "br-hpcvm", "subnet": "10.77.0.0/16", "ip_offset": 3072,  # vm-big-001 -> 10.77.12.1
                "mac_prefix": "52:54:00:77:0c"},
    "rules": {"max_vms": 8, "idle_timeout": 300, "lifetime": 14400, "boot_timeout": 180},
}


def lab_table():
    import yaml
    with open(os.path.join(REPO, "inventories", "lab", "group_vars", "all", "images.yml")) as handle:
        return yaml.safe_load(handle)["slurm_vm_images"]


def write_files(image_table, pool_conf, table):
    """The throwaway slurm.conf (lab pools + big), the demand config, the extra vars, the bare playbook."""
    shutil.rmtree(BENCH, ignore_errors=True)
    os.makedirs(os.path.join(BENCH, "state"))
    os.makedirs(SCHED_DIR)
    out = conf_lines(BENCH, VM_CLUSTER["name"], PORT, JOBS, drop_includes=True)
    conf_images = dict(lab_table(), big=BIG)  # the cluster always has the lab's pools plus big
    out.append(pool_conf.render_pool_conf(image_table.normalize_table(conf_images), partition="vms",
                                          max_time=VM_CLUSTER["max_time"],
                                          default_time=VM_CLUSTER["default_time"]))
    conf = os.path.join(BENCH, "slurm.conf")
    with open(conf, "w") as handle:
        handle.write("\n".join(out))
    with open(os.path.join(BENCH, "images.yml"), "w") as handle:
        json.dump({"slurm_vm_images": table}, handle)  # JSON is YAML
    demand = os.path.join(BENCH, "bench.slurm_demand.yml")
    with open(demand, "w") as handle:
        handle.write("plugin: hpc.slurm_vm.slurm_demand\nvm_slurm_conf: %s\nhost_slurm_conf: %s\n"
                     "images_file: %s\nsnapshot_file: %s\n" % (
                         conf, os.path.join(LAB, "etc", "host", "slurm.conf"), os.path.join(BENCH, "images.yml"),
                         os.path.join(BENCH, "snapshot.json")))
    extra = os.path.join(BENCH, "vars.json")
    with open(extra, "w") as handle:
        json.dump({"slurm_vm_vm_cluster": dict(VM_CLUSTER, slurm_conf=conf), "slurm_vm_images": table,
                   "slurm_vm_state_dir": SCHED_DIR, "slurm_vm_reconcile_interval": 10 ** 9}, handle)
    bare = os.path.join(BENCH, "bare.yml")
    with open(bare, "w") as handle:
        handle.write(BARE)
    with open(os.path.join(SCHED_DIR, "reconcile.stamp"), "w") as handle:
        handle.write("%f\n" % time.time())
    return conf, demand, extra, bare


def timed(argv, env=None):
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=600)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s%s" % (argv, proc.stdout[-3000:], proc.stderr[-3000:]))
    return elapsed, proc.stdout


def check_idle(out, stamp, pool_names):
    """Abort loudly unless the scheduler run planned nothing, did not reconcile and saw the pool."""
    with open(os.path.join(SCHED_DIR, "summary.json")) as handle:
        summary = json.load(handle)
    acted = {k: summary.get(k) for k in ("spawned", "cancelled", "teardown", "orphans_removed") if summary.get(k)}
    recap = out.split("PLAY RECAP", 1)[-1].splitlines()[1:]
    touched = sorted({line.split()[0] for line in recap if ":" in line} - {"localhost"})
    if acted or touched or "nothing to do" not in out:
        raise SystemExit("the scheduler run was not idle: %s, other hosts %s\n%s"
                         % (json.dumps(acted), touched, out[-3000:]))
    with open(os.path.join(SCHED_DIR, "reconcile.stamp")) as handle:
        if handle.read() != stamp:
            raise SystemExit("the reconciler ran; this bench must never reconcile against the lab")
    seen = sum(summary["images"]["big"]["vms"].values())
    if seen != pool_names or summary["images"]["big"]["vms"].get("free") != pool_names:
        raise SystemExit("the scheduler did not see %d free big nodes: %s" % (pool_names, summary["images"]["big"]))
    return summary


def profile_run(sched, stamp):
    """One more scheduler run (not counted) with task times (callback_plugins/phase_times.py): the top costs."""
    phases = os.path.join(BENCH, "phases.json")
    env = dict(os.environ, ANSIBLE_CALLBACK_PLUGINS=os.path.join(os.path.dirname(__file__), "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="phase_times", HPCVM_PHASES_FILE=phases)
    started = time.time()
    elapsed, out = timed(sched, env=env)
    check_idle(out, stamp, POOL_SIZE)
    with open(phases) as handle:
        tasks = json.load(handle)
    costs = [("(start-up and first inventory parse, before the first task)", tasks[0]["start"] - started)]
    costs += [(t["name"], t["end"] - t["start"]) for t in tasks]
    costs.append(("(after the last task: stats, exit)", started + elapsed - tasks[-1]["end"]))
    print("profiled scheduler run (not counted): %.2f s; top costs:" % elapsed)
    for name, seconds in sorted(costs, key=lambda c: -c[1])[:6]:
        print("  %6.2f s  %s" % (seconds, name[:80]))


def main():
    if os.stat("/proc/self/ns/net").st_ino != os.stat("/run/netns/hpcvm-lab").st_ino:
        raise SystemExit("run inside the lab: lab/exec .venv/bin/python tests/bench/scheduler_scale_idle_bench.py")
    runs = benchstats.runs(default=5, given=sys.argv[1] if len(sys.argv) > 1 else None)
    from ansible.plugins.loader import init_plugin_loader
    init_plugin_loader([os.path.join(REPO, ".cache", "collections")])
    from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table, pool_conf
    from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.snapshot import (
        SlurmSnapshotReader,
        snapshot_from_file,
    )
    from ansible_collections.hpc.slurm_vm.plugins.inventory.slurm_demand import SLURM_RUNNER as run_slurm_command

    table = {"big": BIG}
    host_conf = os.path.join(LAB, "etc", "host", "slurm.conf")
    conf, demand, extra, bare = write_files(image_table, pool_conf, table)
    sh(["slurmctld", "-i", "-f", conf], conf)
    pid = None
    bare_runs, sched_runs = [], []
    try:
        for _try in range(100):
            if os.path.exists(os.path.join(BENCH, "slurmctld.pid")) and \
                    sh(["scontrol", "ping"], conf, check=False).stdout.count("is UP"):
                break
            time.sleep(0.1)
        with open(os.path.join(BENCH, "slurmctld.pid")) as handle:
            pid = int(handle.read())
        started = time.time()
        sh(["sbatch", "-p", "vms", "--array=1-%d" % JOBS, "-t", "30", "-o", "/dev/null", "--wrap", "true"], conf)
        print("throwaway slurmctld pid %d (cluster %s, port %d); submitted %d plain array tasks in %.1f s"
              % (pid, VM_CLUSTER["name"], PORT, JOBS, time.time() - started))
        pending = sh(["squeue", "-h", "-r", "-t", "PENDING", "-o", "%i"], conf).stdout.count("\n")
        future = sh(["scontrol", "-F", "-o", "show", "node"], conf).stdout.count("State=FUTURE")
        print("in the queue: %d pending jobs; FUTURE nodes (scontrol -F): %d; images in the table: %s"
              % (pending, future, ", ".join(sorted(table))))
        if pending < JOBS or future < POOL_SIZE:
            raise SystemExit("the throwaway cluster is not loaded as intended")

        # the raw Slurm commands of one snapshot, as the inventory plugin runs them
        pool = [h for i in image_table.normalize_table(table).values() for h in i["hosts"]]
        reader = SlurmSnapshotReader(run_slurm_command, conf, host_conf)
        raw = []
        for _attempt in range(runs):
            reader.calls = []
            reader.read(pool)
            raw.append(sum(c["seconds"] for c in reader.calls))
        for call in reader.calls:
            print("  raw %-48s %6.3f s" % (" ".join(call["argv"][:6])[:48], call["seconds"]))

        sched = [PLAYBOOK] + STATIC_INVENTORY + ["-i", demand, "-e", "@" + extra,
                                                 os.path.join("playbooks", "scheduler.yml")]
        base = [PLAYBOOK] + STATIC_INVENTORY
        with open(os.path.join(SCHED_DIR, "reconcile.stamp")) as handle:
            stamp = handle.read()
        timed(base + [bare])  # warm the page cache
        warm, out = timed(sched)
        check_idle(out, stamp, POOL_SIZE)
        print("warm-up scheduler run: %.2f s (no reconcile: stamp unchanged, nothing planned)" % warm)
        for index in range(runs):
            bare_runs.append(timed(base + [bare])[0])
            elapsed, out = timed(sched)
            summary = check_idle(out, stamp, POOL_SIZE)
            sched_runs.append(elapsed)
            print("  run %d: bare %.2f s, scheduler %.2f s (idle, no reconcile; report duration %.2f s)"
                  % (index + 1, bare_runs[-1], elapsed, summary.get("duration", 0)))
        profile_run(sched, stamp)
        with open(os.path.join(BENCH, "snapshot.json")) as handle:
            snapshot = snapshot_from_file(json.load(handle))
        print("last snapshot: %d VM-cluster jobs, %d nodes, %d host jobs"
              % (len(snapshot["vm_jobs"]), len(snapshot["nodes"]), len(snapshot["host_jobs"])))
        if len(snapshot["vm_jobs"]) < JOBS:
            raise SystemExit("the scheduler's snapshot did not hold the %d jobs" % JOBS)
    finally:
        if pid:
            os.kill(pid, signal.SIGTERM)
            for _try in range(100):
                if not os.path.exists("/proc/%d" % pid):
                    break
                time.sleep(0.1)
        if not os.environ.get("KEEP"):
            shutil.rmtree(BENCH, ignore_errors=True)
    with open("/proc/loadavg") as handle:
        print("load: %s" % handle.read().strip())
    report = benchstats.Report("scheduler_scale_idle")
    report.add("raw Slurm commands of one snapshot", raw, note="the scheduler takes two snapshots")
    report.add("bare one-task playbook (static inventory)", bare_runs)
    report.add("idle scheduler run, 10k jobs, 200 FUTURE", sched_runs)
    report.add("idle scheduler / bare (paired)", benchstats.ratios(sched_runs, bare_runs), unit="x", target=TARGET)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
