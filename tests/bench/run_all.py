# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make bench`: every benchmark under tests/bench/, one after the other, then ONE table.

Run inside the lab (the scripts expect its network namespace; lab/exec enters it):

    lab/exec .venv/bin/python tests/bench/run_all.py [--table FILE] [NAME ...]

NAME selects scripts by the start of their name (planner, vm_path, ...); default: all, in SCRIPTS' order.
Each script prints its figures through benchstats.py; this collects their result lines and prints a
table (benchmark, figure, median, min, max, target, verdict). A script that stops on an error (no
closing BENCH-DONE line, or a non-zero exit without a missed target) is shown as ERROR. The exit
status is 1 when any target was missed or any script failed. Not part of `make test`: timings on a
shared machine are noisy. HPCVM_BENCH_RUNS sets the number of runs of every script (default: each
script's own, at least 3). HPCVM_BENCH_STOP_AFTER=HH:MM (UTC) starts no script after that time, for a
bounded turn on a shared lab: those are shown as NOT RUN, and a run with any NOT RUN fails too.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone

from benchstats import DONE_TAG, RESULT_TAG

HERE = os.path.dirname(os.path.abspath(__file__))
# the scheduler's own figures first (issue 16's targets), then the modules', so that a bounded turn on
# the lab (HPCVM_BENCH_STOP_AFTER) still yields the figures that matter most
SCRIPTS = [
    "planner_bench.py",
    "scheduler_idle_bench.py",
    "scheduler_scale_idle_bench.py",
    "vm_path_bench.py",
    "trigger_latency_bench.py",
    "trigger_idle_bench.py",
    "many_vms_bench.py",
    "slurm_node_state_bench.py",
    "inventory_bench.py",
    "dhcp_host_bench.py",
    "dns_record_bench.py",
    "guest_boot_bench.py",
    "libvirt_guest_bench.py",
]
COLUMNS = ("benchmark", "figure", "median", "min", "max", "target", "verdict")
STOP_AFTER_ENV = "HPCVM_BENCH_STOP_AFTER"


def past_stop_time(stop_after):
    """True when it is later than stop_after (HH:MM, UTC, today)."""
    if not stop_after:
        return False
    hours, minutes = (int(part) for part in stop_after.split(":"))
    now = datetime.now(timezone.utc)
    return (now.hour, now.minute) >= (hours, minutes)


def run_script(script):
    """Run one script, echo its output as it comes; (exit status, result rows, saw DONE_TAG, seconds)."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, script)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))  # its lines as they come
    rows, done = [], False
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        if line.startswith(RESULT_TAG):
            rows.append(json.loads(line[len(RESULT_TAG):]))
        elif line.startswith(DONE_TAG):
            done = True
    status = proc.wait()
    return status, rows, done, time.monotonic() - started


def bench_name(script):
    return script[:-len("_bench.py")] if script.endswith("_bench.py") else script


def table_rows(script, status, rows, done):
    """The table's rows for one script: its figures, and an ERROR row when it did not end as it should."""
    bench = bench_name(script)
    out = [(bench, r["name"], r["median"], r["min"], r["max"], r["target"], r["verdict"]) for r in rows]
    missed = any(r["verdict"] == "MISSED" for r in rows)
    if not done or (status != 0 and not missed) or (status == 0 and missed):
        out.append((bench, "(script failed: exit %d%s)" % (status, "" if done else ", no result line at the end"),
                    "-", "-", "-", "-", "ERROR"))
    return out


def format_table(rows):
    widths = [max(len(str(r[i])) for r in [COLUMNS] + rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
             for row in [COLUMNS] + rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--table", help="also write the final table to this file")
    parser.add_argument("names", nargs="*", help="run only the scripts whose name starts with one of these")
    args = parser.parse_args()
    scripts = [s for s in SCRIPTS if not args.names or any(s.startswith(n) for n in args.names)]
    if not scripts:
        raise SystemExit("no benchmark matches %s; known: %s" % (args.names, ", ".join(SCRIPTS)))
    stop_after = os.environ.get(STOP_AFTER_ENV)
    rows, failed, spent = [], False, []
    for script in scripts:
        if past_stop_time(stop_after):
            rows.append((bench_name(script), "(not started: %s=%s)" % (STOP_AFTER_ENV, stop_after),
                         "-", "-", "-", "-", "NOT RUN"))
            failed = True
            continue
        print("=== %s (%s)" % (script, time.strftime("%H:%M:%S")), flush=True)
        status, results, done, seconds = run_script(script)
        script_rows = table_rows(script, status, results, done)
        failed = failed or status != 0 or any(r[-1] in ("MISSED", "ERROR") for r in script_rows)
        rows.extend(script_rows)
        spent.append("%s %.0f s" % (script, seconds))
    table = format_table(rows)
    missed = sum(1 for r in rows if r[-1] == "MISSED")
    errors = sum(1 for r in rows if r[-1] == "ERROR")
    not_run = sum(1 for r in rows if r[-1] == "NOT RUN")
    summary = "%d figures, %d targets missed, %d scripts failed, %d not run; time: %s\n" % (
        len(rows) - errors - not_run, missed, errors, not_run, ", ".join(spent))
    print("\n" + table + summary, end="")
    if args.table:
        with open(args.table, "w") as handle:
            handle.write(table + summary)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
