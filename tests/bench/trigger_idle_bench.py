# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the scheduler trigger `watch` costs while nothing changes: CPU seconds per minute (issue 18).

The lab idle (no VM, no VM job), the same minutes are measured alternately without and with the watcher
(lab/watch: the unit's ExecStart), ROUNDS pairs (default 3) of HPCVM_BENCH_IDLE_SECONDS / ROUNDS seconds
each (default 600 s of watcher in all, so 20 minutes with the baseline). Per pair:

- the watcher's process tree: its own CPU and that of every child it waited for (squeue, sinfo, the
  wrapper and the runs), from /proc/<pid>/stat (utime, stime, cutime, cstime), over the window that
  starts once its first run (at start) has ended;
- the extra CPU of both slurmctlds: their CPU in the watcher's window less their CPU in the baseline
  window of the same length just before it (answering the watcher's squeue and sinfo);
- its safety net: a run at least every --interval seconds (from the unit) while nothing changes, each
  costing what the watcher's first run cost (measured in the same pair), amortized: cost x 60 / interval;
- total = the three; target at most 3 CPU s/min (5% of one core).

For the comparison with a timer with a short period and a cheap early exit, one tick of such a timer is
measured: the same program and reading (`hpc-slurm-vm-watch --once`, started afresh: Python's start and
the three Slurm commands), 20 times; per minute at a 1 s period it is 60 ticks (systemd's own cost of
starting a unit every second is not counted: this machine runs no systemd).
Needs the lab up and idle, and the watch unit (scheduler_host_trigger: watch).
Run: lab/exec .venv/bin/python tests/bench/trigger_idle_bench.py [ROUNDS]
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import resource
import shlex
import subprocess
import sys
import time

import benchstats

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "..", ".cache", "collections"))  # story imports the collection
from e2e.story import LAB_DIR, VM_CONF, run  # noqa: E402
from e2e.watch_helpers import Watch, host_jobs, unit_value  # noqa: E402

TARGET = ("<=", 3.0)
SECONDS_ENV = "HPCVM_BENCH_IDLE_SECONDS"
TICKS = 20
CLOCK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid, children=False):
    """CPU seconds of a process (utime + stime), with its waited-for children's when asked."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if children else 0)
    return ticks / float(CLOCK)


def slurmctlds():
    pids = []
    for cluster in ("vm", "host"):
        with open(os.path.join(LAB_DIR, "run", cluster, "slurmctld.pid")) as handle:
            pids.append(int(handle.read().strip()))
    return pids


def ctld_cpu():
    return sum(cpu_of(pid) for pid in slurmctlds())


def unit_argv():
    return [w.replace("%%", "%").replace("$$", "$") for w in shlex.split(unit_value("ExecStart"))]


def option(argv, name):
    return float(argv[argv.index(name) + 1])


def require_idle():
    pending = run(["squeue", "-h", "-o", "%i %b"], conf=VM_CONF).stdout.split("\n")
    vm_jobs = [line for line in pending if "vm_" in line]
    if host_jobs() or vm_jobs:
        raise SystemExit("the lab is not idle (host jobs %s, VM jobs %s): this benchmark measures an idle queue"
                         % (host_jobs(), vm_jobs))


def baseline_window(seconds):
    before = ctld_cpu()
    time.sleep(seconds)
    return ctld_cpu() - before


def watch_window(seconds):
    """(watcher tree CPU in the window, slurmctlds' CPU in it, the first run's CPU, runs in the window)."""
    watch = Watch()
    pid = watch.start()
    try:
        watch.wait_idle()
        first_run = cpu_of(pid, children=True)
        runs_before = len(watch.runs())
        tree, ctld = cpu_of(pid, children=True), ctld_cpu()
        time.sleep(seconds)
        tree, ctld = cpu_of(pid, children=True) - tree, ctld_cpu() - ctld
        runs = watch.runs()[runs_before:]
    finally:
        watch.stop()
    return tree, ctld, first_run, runs


def timer_tick(argv):
    """CPU seconds of one fresh `hpc-slurm-vm-watch --once` (as a timer's service would start it)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(argv + ["--once"], capture_output=True, text=True, timeout=60, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit("hpc-slurm-vm-watch --once failed: %s%s" % (proc.stdout, proc.stderr))
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    rounds = benchstats.runs(given=sys.argv[1] if len(sys.argv) > 1 else None)
    window = float(os.environ.get(SECONDS_ENV, 600)) / rounds
    require_idle()
    argv = unit_argv()
    interval, poll = option(argv, "--interval"), option(argv, "--poll")
    program = [i for i, word in enumerate(argv) if word.endswith("hpc-slurm-vm-watch")]
    direct = argv[program[0]:] if program else argv  # without the lab/exec prefix: we are in the lab already
    print("windows of %.0f s, watcher poll %.1f s, safety net every %.0f s; %d pairs"
          % (window, poll, interval, rounds))
    polls, extra, safety, total, runs_seen = [], [], [], [], []
    per_minute = 60.0 / window
    for number in range(rounds):
        base = baseline_window(window)
        tree, ctld, first_run, runs = watch_window(window)
        require_idle()
        polls.append(tree * per_minute)
        extra.append((ctld - base) * per_minute)
        safety.append(first_run * 60.0 / interval)
        total.append(polls[-1] + extra[-1] + safety[-1])
        runs_seen.append(len(runs))
        print("pair %d: baseline slurmctlds %.2f s; watcher tree %.2f s, slurmctlds %.2f s, first run %.2f s, "
              "runs in the window %d (%s)" % (number + 1, base, tree, ctld, first_run, len(runs),
                                              "; ".join(r["reason"][:60] for r in runs)))
    ticks = [timer_tick(direct) for _tick in range(TICKS)]
    report = benchstats.Report("trigger_idle")
    report.add("watcher tree (polls, and any run it started)", polls, unit=" CPU s/min")
    report.add("slurmctlds' extra (vs baseline window)", extra, unit=" CPU s/min")
    report.add("safety-net runs, amortized (first run x 60/interval)", safety, unit=" CPU s/min")
    report.add("total idle cost of trigger watch", total, unit=" CPU s/min", target=TARGET)
    report.add("runs started in an idle window", runs_seen, unit="")
    report.add("timer option: one tick (fresh --once)", ticks, unit=" CPU s")
    report.add("timer option at a 1 s period (60 ticks)", [t * 60 for t in ticks], unit=" CPU s/min",
               note="client side only, without systemd's cost")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
