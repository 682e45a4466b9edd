# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An idle scheduler run against a bare one-task playbook (issue 10: within 2x).

Both use the same two inventories (the lab's and the slurm_demand source), so the
bare run pays for the inventory too; the difference is the scheduler's own work on
an idle queue: one snapshot, the plan, the report. Runs each N times (default 7)
alternately and prints the medians and the ratio. Needs the lab up and an idle queue
(no pending vm_* jobs, no VMs). Run: lab/exec .venv/bin/python tests/bench/scheduler_idle_bench.py [N]
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import statistics
import subprocess
import sys
import tempfile
import time

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


def timed(playbook):
    started = time.monotonic()
    proc = subprocess.run([PLAYBOOK, "-i", "inventories/lab", "-i", "inventories/lab_demand", playbook],
                          cwd=REPO, capture_output=True, text=True, check=False, timeout=300)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s%s" % (playbook, proc.stdout[-2000:], proc.stderr[-2000:]))
    return elapsed, proc.stdout


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        handle.write(BARE)
    try:
        timed(handle.name)  # warm the page cache
        bare, sched = [], []
        for _run in range(runs):
            bare.append(timed(handle.name)[0])
            elapsed, out = timed(os.path.join("playbooks", "scheduler.yml"))
            if "ACTION" in out and ("spawn  " in out or "drain  " in out):
                raise SystemExit("the queue is not idle; this benchmark measures an idle run:\n" + out[-3000:])
            sched.append(elapsed)
    finally:
        os.unlink(handle.name)
    b, s = statistics.median(bare), statistics.median(sched)
    print("bare one-task playbook: median %.2f s (min %.2f, max %.2f, %d runs)" % (b, min(bare), max(bare), runs))
    print("idle scheduler run:     median %.2f s (min %.2f, max %.2f, %d runs)" % (s, min(sched), max(sched), runs))
    print("ratio: %.2fx (target: at most 2x)" % (s / b))


if __name__ == "__main__":
    main()
