# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark dhcp_host: N reservations in one task per backend, added, re-run with no change,
then removed. Runs the module as Ansible does (a process, args on stdin), inside the lab:

    lab/exec .venv/bin/python tests/bench/dhcp_host_bench.py [N] [backend ...]

Hosts use Kea's subnet 2 (10.78.16.0/20, on no link) and MACs 52:54:00:78:1x:xx, so they never
meet the integration tests' hosts. Targets from issue 6 (N=1000): kea_pgsql < 3 s, dnsmasq < 2 s for
each of add, again and remove: the median of HPCVM_BENCH_RUNS rounds (default 3, see benchstats.py).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys
import time

import benchstats

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration", "dhcp"))
from conftest import REPO, backend_params, run_module  # noqa: E402

TARGETS = {"kea_pgsql": 3.0, "dnsmasq": 2.0}


def hosts(n):
    return [dict(hostname="bench-%04d" % i, mac="52:54:00:78:%02x:%02x" % (0x10 + i // 256, i % 256),
                 ip="10.78.%d.%d" % (16 + (i + 1) // 256, (i + 1) % 256)) for i in range(n)]


def params(backend):
    args = backend_params(backend)
    args["subnet"] = "10.78.16.0/20"
    if "subnet_id" in args:
        args["subnet_id"] = 2
    return args


def timed(args):
    t0 = time.perf_counter()
    result = run_module("dhcp_host", args)
    elapsed = time.perf_counter() - t0
    if result.get("failed"):
        raise SystemExit("dhcp_host failed: %s" % result.get("msg"))
    return elapsed, result


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    backends = sys.argv[2:] or ["kea_pgsql", "kea_api", "dnsmasq", "omapi"]
    if "omapi" in backends:
        subprocess.run([os.path.join(REPO, "lab", "dhcp"), "up", "--with-dhcpd"], check=True, capture_output=True)
    rounds = benchstats.runs()
    wanted = hosts(n)
    names = [dict(hostname=h["hostname"]) for h in wanted]
    report = benchstats.Report("dhcp_host")
    # the fixed cost of one module process (Python + ansible imports, argument parsing, one connection)
    report.add("one module process, no work (dnsmasq)", benchstats.repeat(
        rounds, lambda: timed(dict(params("dnsmasq"), state="absent", hostname="bench-none"))[0]))
    print("dhcp_host bench: %d hosts in one task, %d rounds per backend" % (n, rounds))
    for backend in backends:
        args = params(backend)
        steps = {"add": [], "again": [], "remove": []}
        for _round in range(rounds):
            timed(dict(args, state="absent", force=True, hosts=names))
            add, r1 = timed(dict(args, state="present", hosts=wanted))
            again, r2 = timed(dict(args, state="present", hosts=wanted))
            remove, r3 = timed(dict(args, state="absent", hosts=names))
            assert len(r1["added"]) == n and not r2["changed"] and r2["unchanged"] == n and len(r3["removed"]) == n
            for step, seconds in (("add", add), ("again", again), ("remove", remove)):
                steps[step].append(seconds)
            print("  %-10s add %.2f s, again %.2f s, remove %.2f s" % (backend, add, again, remove))
        target = TARGETS.get(backend)
        for step, values in steps.items():
            report.add("%s %s, %d hosts" % (backend, step, n), values,
                       target=("<", target) if target is not None else None)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
