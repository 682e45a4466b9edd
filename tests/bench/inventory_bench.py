# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""slurm_demand inventory benchmark against a real slurmctld with 10,000 pending jobs.

Starts a throwaway slurmctld inside the lab namespace (the lab's pools, its own
ClusterName, port and state; the lab's VM munge socket), submits a 10,000-task
job array, then prints side by side the raw Slurm commands the plugin runs and
the plugin's own parse time (target: the median of the paired ratio plugin / raw at
most 2.0; N runs, default 3, see benchstats.py). Stops that slurmctld by its PID.
Run inside the lab: lab/exec .venv/bin/python tests/bench/inventory_bench.py [N]
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import signal
import sys
import time

import benchstats
from throwaway_slurmctld import conf_lines, sh

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB = os.environ.get("HPCVM_LAB_DIR", "/tmp/hpcvm-lab")
BENCH = os.path.join(LAB, "bench-inventory")
JOBS = 10000


def write_conf():
    shutil.rmtree(BENCH, ignore_errors=True)
    os.makedirs(os.path.join(BENCH, "state"))
    conf = os.path.join(BENCH, "slurm.conf")
    with open(conf, "w") as handle:
        handle.write("\n".join(conf_lines(BENCH, "benchinv", 7117, JOBS)) + "\n")
    return conf


def main():
    if os.stat("/proc/self/ns/net").st_ino != os.stat("/run/netns/hpcvm-lab").st_ino:
        raise SystemExit("run inside the lab: lab/exec .venv/bin/python tests/bench/inventory_bench.py")
    runs = benchstats.runs(given=sys.argv[1] if len(sys.argv) > 1 else None)
    # the collection loader first, as ansible's own CLIs do
    from ansible.plugins.loader import init_plugin_loader
    init_plugin_loader([os.path.join(REPO, ".cache", "collections")])
    from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
    from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.snapshot import SlurmSnapshotReader
    from ansible_collections.hpc.slurm_vm.plugins.inventory.slurm_demand import SLURM_RUNNER as run_slurm_command
    import yaml

    conf = write_conf()
    sh(["slurmctld", "-i", "-f", conf], conf)
    pid = None
    try:
        for _try in range(100):
            if os.path.exists(os.path.join(BENCH, "slurmctld.pid")) and \
                    sh(["scontrol", "ping"], conf, check=False).stdout.count("is UP"):
                break
            time.sleep(0.1)
        with open(os.path.join(BENCH, "slurmctld.pid")) as handle:
            pid = int(handle.read())
        started = time.time()
        sh(["sbatch", "--array=1-%d" % JOBS, "--gres=vm_deb12:1", "-t", "30", "-o", "/dev/null", "--wrap", "true"],
           conf)
        sh(["sbatch", "--array=1-100", "-H", "--gres=vm_disk:1", "-t", "30", "-o", "/dev/null", "--wrap", "true"], conf)
        print("submitted %d + 100 held array tasks in %.1f s" % (JOBS, time.time() - started))

        with open(os.path.join(REPO, "inventories", "lab", "group_vars", "all", "images.yml")) as handle:
            images = image_table.normalize_table(yaml.safe_load(handle)["slurm_vm_images"])
        hosts = [h for i in images.values() for h in i["hosts"]]
        reader = SlurmSnapshotReader(run_slurm_command, conf, conf)
        raw_runs, plugin_runs, manager_runs = [], [], []
        for _run in range(runs):
            # the raw commands alone, exactly as the reader runs them
            reader.calls = []
            snapshot = reader.read(hosts)
            argvs = [c["argv"] for c in reader.calls]
            t0 = time.perf_counter()
            for argv in argvs:
                sh(argv, conf, check=False)
            raw_runs.append(time.perf_counter() - t0)
            # the plugin: commands + parsing + groups and vars, through ansible's inventory manager
            from ansible.inventory.manager import InventoryManager
            from ansible.parsing.dataloader import DataLoader
            cfg = os.path.join(BENCH, "bench.slurm_demand.yml")
            with open(cfg, "w") as handle:
                handle.write("plugin: hpc.slurm_vm.slurm_demand\nvm_slurm_conf: %s\nimages_file: %s\n" % (
                    conf, os.path.join(REPO, "inventories", "lab", "group_vars", "all", "images.yml")))
            t0 = time.perf_counter()
            if os.environ.get("PROFILE") and _run == runs - 1:
                import cProfile
                import pstats
                profile = cProfile.Profile()
                manager = profile.runcall(InventoryManager, loader=DataLoader(), sources=[cfg])
                pstats.Stats(profile).sort_stats("tottime").print_stats(15)
            else:
                manager = InventoryManager(loader=DataLoader(), sources=[cfg])
            manager_runs.append(time.perf_counter() - t0)
            plugin_runs.append(manager.get_host("localhost").get_vars()["slurm_vm_inventory_seconds"])
        demand = manager.groups["slurm_vm_image_deb12"].get_vars()["slurm_vm_demand"]
        print("pending jobs seen as demand: %d (vm_deb12), held tasks ignored: %d vm_disk jobs in snapshot"
              % (demand["pending_jobs"], sum(1 for j in snapshot["vm_jobs"] if "vm_disk" in j["gres"])))
        print("%-44s %8s" % ("what", "seconds"))
        for call in reader.calls:
            print("  raw %-40s %8.3f" % (" ".join(call["argv"][:6])[:40], call["seconds"]))
        report = benchstats.Report("inventory")
        report.add("raw Slurm commands, 10k pending", raw_runs)
        report.add("plugin parse(): commands, parse, groups", plugin_runs)
        report.add("ansible InventoryManager around it", manager_runs)
        report.add("plugin / raw (paired)", benchstats.ratios(plugin_runs, raw_runs), unit="x", target=("<=", 2.0))
    finally:
        if pid:
            os.kill(pid, signal.SIGTERM)
            for _try in range(100):
                if not os.path.exists("/proc/%d" % pid):
                    break
                time.sleep(0.1)
        shutil.rmtree(BENCH, ignore_errors=True)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
