# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An idle scheduler run against a bare one-task playbook (issue 16: at most 1.5x).

The fair baseline does the same work except what is measured: ansible-playbook with the lab's
static inventory only (-i inventories/lab) and one debug task. It does not load the slurm_demand
inventory: that Slurm snapshot is the scheduler's own work, as are the plan and the report, so the
ratio counts them (until issue 16 the bare run loaded it too and the snapshot cancelled out).
Runs each N times (default 7, at least 3) alternately; reports the medians with min and max and
the paired ratio scheduler / bare, whose median must be at most 1.5. Needs the lab up and an idle
queue (no pending vm_* jobs, no VMs). Run: lab/exec .venv/bin/python tests/bench/scheduler_idle_bench.py [N]
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys
import tempfile
import time

import benchstats

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
BARE = """- name: Bare
  hosts: localhost
  gather_facts: false
  tasks:
    - name: One task
      ansible.builtin.debug:
        msg: hi
"""
TARGET = ("<=", 1.5)
STATIC_INVENTORY = ["-i", "inventories/lab"]
DEMAND_INVENTORY = STATIC_INVENTORY + ["-i", "inventories/lab_demand"]


def timed(playbook, inventory):
    started = time.monotonic()
    proc = subprocess.run([PLAYBOOK] + inventory + [playbook], cwd=REPO, capture_output=True, text=True,
                          check=False, timeout=300)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s%s" % (playbook, proc.stdout[-2000:], proc.stderr[-2000:]))
    return elapsed, proc.stdout


def main():
    runs = benchstats.runs(default=7, given=sys.argv[1] if len(sys.argv) > 1 else None)
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        handle.write(BARE)
    try:
        timed(handle.name, STATIC_INVENTORY)  # warm the page cache
        bare, sched = [], []
        for _run in range(runs):
            bare.append(timed(handle.name, STATIC_INVENTORY)[0])
            elapsed, out = timed(os.path.join("playbooks", "scheduler.yml"), DEMAND_INVENTORY)
            if "ACTION" in out and ("spawn  " in out or "drain  " in out):
                raise SystemExit("the queue is not idle; this benchmark measures an idle run:\n" + out[-3000:])
            sched.append(elapsed)
    finally:
        os.unlink(handle.name)
    report = benchstats.Report("scheduler_idle")
    report.add("bare one-task playbook (static inventory)", bare)
    report.add("idle scheduler run", sched)
    report.add("idle scheduler / bare (paired)", benchstats.ratios(sched, bare), unit="x", target=TARGET)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
