#!/usr/bin/env python
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of libvirt_guest with real TCG guests in the lab (run inside it):

    lab/exec .venv/bin/python tests/bench/libvirt_guest_bench.py [N]

Starts N (default 4) fast guests (vm-deb12-005, -006, t7-bench-N) first one after the other, then all at
once (one module process per guest, as an async task does), each waiting for its console
marker. Prints define+start time per guest, time to the marker, the totals, and the time
of a no-change run on a running guest. Removes the guests afterwards. Repeats all of it
HPCVM_BENCH_RUNS times (default 3, see benchstats.py) and reports medians with min and max;
no target (exits 0 unless something fails).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import benchstats

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

from tests.integration.libvirt import conftest as lab  # noqa: E402

# two pool names given to this benchmark, and throwaway names on 10.77.7.x (outside every pool)
HOSTS = ["vm-deb12-005", "vm-deb12-006", "t7-bench-1", "t7-bench-2", "t7-bench-3", "t7-bench-4"]
for i in range(1, 5):
    lab.GUESTS.setdefault("t7-bench-%d" % i, ("52:54:00:77:07:%02x" % i, "10.77.7.%d" % i))


class TempDirs:
    """The one method of pytest's tmp_path_factory that the boot_dir fixture uses."""

    @staticmethod
    def mktemp(prefix):
        return tempfile.mkdtemp(prefix=prefix + "-")


def prepare(hosts):
    """The fixtures' preparation without pytest: the boot server (boot_dir: its own HTTP server on the lab
    gateway, stopped by PID when the generator ends), then each host's reservation + boot tarball (guest)."""
    boot = lab.boot_dir.__wrapped__(None, TempDirs())
    root = next(boot)
    gen = lab.guest.__wrapped__(None, root)
    prepare_one = next(gen)
    for host in hosts:
        prepare_one(host)
    return [gen, boot], root


def up(host):
    start = time.monotonic()
    result = lab.run_module("libvirt_guest", lab.fast_guest(host, wait_for=dict(console=lab.MARKER), timeout=180))
    if result.get("failed"):
        raise SystemExit("%s failed: %s\n%s" % (host, result["msg"], "\n".join(result.get("console_tail", []))))
    t = result["timings"]
    return host, t.get("define", 0) + t.get("start", 0), t["wait"], time.monotonic() - start


def down(host):
    lab.run_module("libvirt_guest", dict(name=host, uri=lab.URI, state_dir=lab.STATE_DIR, state="absent"))


def report(title, rows, total):
    print("%s:" % title)
    for host, define_start, wait, wall in rows:
        print("  %-14s define+start %5.2f s  marker after %5.1f s  module run %5.1f s"
              % (host, define_start, wait, wall))
    print("  total %.1f s" % total)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    rounds = benchstats.runs()
    hosts = HOSTS[:n]
    others = [d for d in lab.virsh("list", "--name").stdout.split() if d not in hosts]
    print("other running domains on this libvirtd (sharing the CPUs): %d" % len(others))
    figures = {key: [] for key in ("seq_define", "seq_marker", "seq_total", "par_define", "par_marker", "par_total",
                                   "walls", "own", "absent")}
    gen, boot_root = prepare(hosts)
    try:
        for _round in range(rounds):
            start = time.monotonic()
            rows = [up(h) for h in hosts]
            figures["seq_total"].append(time.monotonic() - start)
            report("sequential (%d guests)" % n, rows, figures["seq_total"][-1])
            figures["seq_define"].extend(r[1] for r in rows)
            figures["seq_marker"].extend(r[2] for r in rows)
            for h in hosts:
                down(h)

            start = time.monotonic()
            with ThreadPoolExecutor(n) as pool:
                rows = list(pool.map(up, hosts))
            figures["par_total"].append(time.monotonic() - start)
            report("parallel (%d module processes at once)" % n, rows, figures["par_total"][-1])
            figures["par_define"].extend(r[1] for r in rows)
            figures["par_marker"].extend(r[2] for r in rows)

            args = lab.fast_guest(hosts[0], wait_for=dict(console=lab.MARKER))
            for _run in range(5):
                t = time.monotonic()
                result = lab.run_module("libvirt_guest", args)
                figures["walls"].append(time.monotonic() - t)
                assert not result["changed"], result
                figures["own"].append(result["timings"]["total"])
            t = time.monotonic()
            with ThreadPoolExecutor(n) as pool:
                list(pool.map(down, hosts))
            figures["absent"].append(time.monotonic() - t)
    finally:
        for fixture in gen:  # the guests' cleanup first, then the boot server's
            for _step in fixture:
                pass
        shutil.rmtree(boot_root, ignore_errors=True)
    bench = benchstats.Report("libvirt_guest")
    for key, label in (("seq_define", "sequential: define+start, per guest"),
                       ("seq_marker", "sequential: start to console marker, per guest"),
                       ("seq_total", "sequential: %d guests in total" % n),
                       ("par_define", "parallel: define+start, per guest"),
                       ("par_marker", "parallel: start to console marker, per guest"),
                       ("par_total", "parallel: %d guests in total" % n),
                       ("walls", "no-change run (wait_for), module process"),
                       ("own", "no-change run, the module's own work"),
                       ("absent", "absent, %d guests in parallel" % n)):
        bench.add(label, figures[key])
    return bench.finish()


if __name__ == "__main__":
    sys.exit(main())
