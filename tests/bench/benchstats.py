# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every script under tests/bench/ shares: how often it measures, which statistic it reports,
how it compares with a target and how it ends.

- Every figure is measured `runs()` times (at least 3; HPCVM_BENCH_RUNS sets it, a script's own
  argument can too) and reported as the median, with min and max beside it. min is never the statistic.
- A target is compared with the median. A figure without a target is printed and never fails.
- Report.finish() prints one row per figure, a machine-readable line per row (RESULT_TAG + JSON, read
  by tests/bench/run_all.py for `make bench`) and a closing DONE_TAG line, and returns the exit
  status: 1 when any target was missed, else 0. A script that stops on an error never prints DONE_TAG,
  so run_all.py can tell an error from a missed target.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import statistics
import time

RESULT_TAG = "BENCH-RESULT "
DONE_TAG = "BENCH-DONE "
RUNS_ENV = "HPCVM_BENCH_RUNS"
MIN_RUNS = 3
COMPARE = {"<": lambda value, limit: value < limit, "<=": lambda value, limit: value <= limit,
           ">=": lambda value, limit: value >= limit}


def runs(default=3, given=None):
    """How many times to measure: `given` (a script's argument), else HPCVM_BENCH_RUNS, else default;
    never fewer than MIN_RUNS, since one or two runs have no meaningful median."""
    value = int(given if given is not None else os.environ.get(RUNS_ENV, default))
    if value < MIN_RUNS:
        raise SystemExit("at least %d runs are needed for a median with min and max (got %d)" % (MIN_RUNS, value))
    return value


def repeat(count, measure):
    """measure() called `count` times, one after the other; the list of what it returned."""
    return [measure() for _index in range(count)]


def timed(function, *args, **kwargs):
    """(seconds, result) of one call, on the monotonic clock."""
    started = time.monotonic()
    result = function(*args, **kwargs)
    return time.monotonic() - started, result


def ratios(numerators, denominators):
    """Paired ratios (run i against run i): both sides were measured alternately, under the same load."""
    return [n / d for n, d in zip(numerators, denominators)]


class Figure:
    """One measured quantity: its values, and the target its median is compared with (op, limit)."""

    def __init__(self, bench, name, values, unit="s", target=None, note=""):
        if not values:
            raise ValueError("%s: no values" % name)
        if target is not None and target[0] not in COMPARE:
            raise ValueError("%s: unknown comparison %r" % (name, target[0]))
        self.bench, self.name, self.values, self.unit, self.target, self.note = bench, name, values, unit, target, note
        self.median = statistics.median(values)
        self.min, self.max = min(values), max(values)

    @property
    def verdict(self):
        if self.target is None:
            return "-"
        op, limit = self.target
        return "ok" if COMPARE[op](self.median, limit) else "MISSED"

    def fmt(self, value):
        return "%.3f%s" % (value, self.unit) if abs(value) < 10 else "%.2f%s" % (value, self.unit)

    def target_text(self):
        return "-" if self.target is None else "%s %s" % (self.target[0], self.fmt(self.target[1]))

    def row(self):
        return {"bench": self.bench, "name": self.name, "median": self.fmt(self.median), "min": self.fmt(self.min),
                "max": self.fmt(self.max), "n": len(self.values), "target": self.target_text(),
                "verdict": self.verdict, "note": self.note}


class Report:
    """The figures of one benchmark script."""

    def __init__(self, bench):
        self.bench = bench
        self.figures = []

    def add(self, name, values, unit="s", target=None, note=""):
        figure = Figure(self.bench, name, list(values), unit=unit, target=target, note=note)
        self.figures.append(figure)
        return figure

    def missed(self):
        return [f for f in self.figures if f.verdict == "MISSED"]

    def finish(self):
        """Print the figures as a table plus one machine-readable line each; 1 if a target was missed."""
        rows = [f.row() for f in self.figures]
        width = max([len(r["name"]) for r in rows] + [10])
        print("%s: median of n runs, min and max beside it; the target applies to the median" % self.bench)
        print("  %-*s %10s %10s %10s %3s %11s %7s" % (width, "figure", "median", "min", "max", "n", "target",
                                                      "verdict"))
        for r in rows:
            print("  %-*s %10s %10s %10s %3d %11s %7s%s" % (width, r["name"], r["median"], r["min"], r["max"], r["n"],
                                                            r["target"], r["verdict"],
                                                            "  (%s)" % r["note"] if r["note"] else ""))
        for r in rows:
            print(RESULT_TAG + json.dumps(r, sort_keys=True))
        missed = self.missed()
        for figure in missed:
            print("MISSED: %s %s: median %s, target %s" % (self.bench, figure.name, figure.fmt(figure.median),
                                                           figure.target_text()))
        print(DONE_TAG + json.dumps({"bench": self.bench, "missed": len(missed)}))
        return 1 if missed else 0
