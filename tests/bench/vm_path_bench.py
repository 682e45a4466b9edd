# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""From sbatch to the job RUNNING in a fresh VM, split into phases (issue 10).

Submits `sbatch --gres=vm_deb12:1` on the VM cluster and starts one scheduler run
right after it. Task times come from a callback (callback_plugins/phase_times.py);
the guest's side from its console (HPCVM-STAGE1-DONE: kernel + initramfs, DHCP and
the bundle; HPCVM-GATE-PASS: the readiness checks) and from Slurm (node IDLE, job
RUNNING), polled every 0.1 s. Targets: under 30 s in total (TCG guest), and the
collection's own overhead (everything but the guest's boot, gate and slurmd
registration) under 8 s. The VM is then torn down by scheduler runs (idle timeout
5 s). Needs the lab up and idle. Run: lab/exec .venv/bin/python tests/bench/vm_path_bench.py [ROUNDS]
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from e2e.story import LAB_DIR, REPO, Story, node, run  # noqa: E402

PHASES_FILE = os.path.join(LAB_DIR, "scheduler", "bench-phases.json")


class Watcher(threading.Thread):
    """Wall-clock times of the guest's console markers, node IDLE and job RUNNING."""

    def __init__(self, job_id, hosts):
        super(Watcher, self).__init__(daemon=True)
        self.job_id, self.hosts, self.seen, self.vm, self.stop = job_id, hosts, {}, None, False

    def run(self):
        while not self.stop and "job_running" not in self.seen:
            now = time.time()
            for host in ([self.vm] if self.vm else self.hosts):
                try:
                    with open(os.path.join(LAB_DIR, "guests", host + ".console.log"), errors="replace") as handle:
                        text = handle.read()
                except OSError:
                    continue
                self.vm = host
                for key, marker in (("stage1", "HPCVM-STAGE1-DONE"), ("gate", "HPCVM-GATE-PASS")):
                    if key not in self.seen and marker in text:
                        self.seen[key] = now
            if self.vm and "gate" in self.seen and "idle" not in self.seen \
                    and node(self.vm).get("State", "").split("+")[0] in ("IDLE", "ALLOCATED", "MIXED"):
                self.seen["idle"] = now
            if "gate" in self.seen:
                state = run(["squeue", "-h", "-j", self.job_id, "-o", "%T"], check=False).stdout.strip()
                if state in ("RUNNING", "COMPLETING", ""):
                    self.seen["job_running"] = now
            time.sleep(0.1)


def task_end(tasks, *names):
    ends = [t["end"] for t in tasks if any(n in t["name"] for n in names)]
    return max(ends) if ends else None


def one_round(story):
    hosts = story.images["deb12"].get("hosts") or ["vm-deb12-%03d" % i for i in range(1, 9)]
    for name in os.listdir(os.path.join(LAB_DIR, "guests")) if os.path.isdir(os.path.join(LAB_DIR, "guests")) else []:
        if name.endswith(".console.log"):
            os.unlink(os.path.join(LAB_DIR, "guests", name))  # only the new guest's console counts
    t0 = time.time()
    job_id = run(["sbatch", "--parsable", "--chdir=/", "--gres=vm_deb12:1", "-t", "5", "-J", "bench-path",
                  "--wrap", "hostname"]).stdout.strip().split(";")[0]
    watcher = Watcher(job_id, hosts)
    watcher.start()
    env = dict(os.environ, ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="phase_times", HPCVM_PHASES_FILE=PHASES_FILE)
    started = time.time()
    proc = subprocess.run([os.path.join(REPO, ".venv", "bin", "ansible-playbook"), "-i", "inventories/lab",
                           "-i", "inventories/lab_demand", "playbooks/scheduler.yml", "-e", "@" + story.extra_vars],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise SystemExit("scheduler failed:\n" + proc.stdout[-4000:])
    watcher.join(timeout=240)
    watcher.stop = True
    with open(PHASES_FILE) as handle:
        tasks = json.load(handle)
    seen = watcher.seen
    if "job_running" not in seen:
        raise SystemExit("the job did not start: %r" % seen)
    marks = [
        ("submit -> scheduler start", started),
        ("plan (ansible start, inventory, vm_plan)", task_end(tasks, "Plan this run")),
        ("registration (DNS claim, DHCP)", task_end(tasks, "Reserve the DHCP addresses")),
        ("host job start (sbatch, wait RUNNING)", task_end(tasks, "Submit the host jobs")),
        ("spawn (libvirt_guest; reservation after)", task_end(tasks, "Start each VM")),
        ("guest boot (kernel, DHCP, bundle)", seen["stage1"]),
        ("gate (readiness checks)", seen["gate"]),
        ("slurmd registration (node IDLE)", seen.get("idle", seen["job_running"])),
        ("job start (RUNNING)", seen["job_running"]),
    ]
    rows, last = [], t0
    for label, when in marks:
        rows.append((label, when - last))
        last = when
    return watcher.vm, rows, seen["job_running"] - t0


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    story = Story(idle_timeout=5, say=lambda *_: None)
    totals = []
    for number in range(rounds):
        vm, rows, total = one_round(story)
        guest = sum(seconds for label, seconds in rows if label.startswith(("guest", "gate", "slurmd")))
        print("round %d: %s" % (number + 1, vm))
        for label, seconds in rows:
            print("  %-46s %6.2f s" % (label, seconds))
        print("  %-46s %6.2f s (target < 30 s)" % ("total sbatch -> job RUNNING", total))
        print("  %-46s %6.2f s (target < 8 s)" % ("collection overhead (total - guest)", total - guest))
        totals.append((total, total - guest))
        story.wait("VM %s torn down" % vm, lambda v=vm: story.in_pool(v) and not story.host_job(v),
                   timeout=300, every=6)
    if rounds > 1:
        print("median total %.2f s, median overhead %.2f s" % (sorted(pair[0] for pair in totals)[rounds // 2],
                                                               sorted(pair[1] for pair in totals)[rounds // 2]))


if __name__ == "__main__":
    main()
