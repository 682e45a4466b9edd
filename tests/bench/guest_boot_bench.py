# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Boot timings of the lab's fast guest (TCG): one guest, then 4 at once.

For each guest, from `virsh start` (lab/guest/vm start --wait none): the end of the
initramfs on the console (HPCVM-STAGE1-DONE: DHCP, 9p root, /tmp disk, boot tarball),
slurmd started (HPCVM-SLURMD-STARTED) and the pool node registered with the VM
cluster (FUTURE -> IDLE). Uses vm-deb12-001..004 only, each fenced by a reservation,
and returns every node to FUTURE afterwards.
Run inside the lab: lab/exec .venv/bin/python tests/bench/guest_boot_bench.py [ROUNDS]
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import statistics
import subprocess
import sys
import time
import uuid

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB = os.environ.get("HPCVM_LAB_DIR", "/tmp/hpcvm-lab")
VM = os.path.join(REPO, "lab", "guest", "vm")
HOSTS = ["vm-deb12-001", "vm-deb12-002", "vm-deb12-003", "vm-deb12-004"]
MARKERS = (("stage1", "HPCVM-STAGE1-DONE"), ("slurmd", "HPCVM-SLURMD-STARTED"))


def scontrol(*args):
    return subprocess.run(["scontrol"] + list(args), capture_output=True, text=True, check=False,
                          env=dict(os.environ, LC_ALL="C"))


def node_state(host):
    out = scontrol("-F", "-o", "show", "node", host).stdout
    for word in out.split():
        if word.startswith("State="):
            return word[6:]
    return ""


def boot(hosts, timeout=240):
    reservations = []
    for host in hosts:
        name = "bench-guest-%s" % uuid.uuid4().hex[:8]
        scontrol("create", "reservation", "ReservationName=" + name, "Nodes=" + host, "StartTime=now",
                 "Duration=30", "Users=root")
        reservations.append(name)
    times = {host: {} for host in hosts}
    try:
        start = time.monotonic()
        subprocess.run([VM, "start", "--wait", "none"] + hosts, check=True, capture_output=True)
        started = time.monotonic() - start
        while any(len(t) < 3 for t in times.values()):
            now = time.monotonic() - start
            if now > timeout:
                raise SystemExit("timeout: %r" % times)
            for host in hosts:
                with open(os.path.join(LAB, "guests", host + ".console.log"), errors="replace") as handle:
                    console = handle.read()
                if "FAILED" in console:
                    raise SystemExit("%s failed:\n%s" % (host, console[-1500:]))
                for key, marker in MARKERS:
                    if key not in times[host] and marker in console:
                        times[host][key] = now
                if "idle" not in times[host] and node_state(host).split("+")[0] == "IDLE":
                    times[host]["idle"] = now
            time.sleep(0.1)
        return started, times
    finally:
        subprocess.run([VM, "stop"] + hosts, capture_output=True, check=False)
        for name in reservations:
            scontrol("delete", "reservationname=" + name)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    print("fast guest, TCG, %s MiB: seconds from the start of `lab/guest/vm start` (includes virsh define+start)"
          % os.environ.get("HPCVM_BENCH_MEM", "image table"))
    for count in (1, 4):
        rows = []
        for _round in range(rounds):
            started, times = boot(HOSTS[:count])
            rows.extend(times.values())
            print("  %d guest(s): vm start returned %.1f s; %s" % (count, started, "; ".join(
                "%s stage1 %.1f slurmd %.1f IDLE %.1f" % (h[-3:], t["stage1"], t["slurmd"], t["idle"])
                for h, t in sorted(times.items()))))
        for key in ("stage1", "slurmd", "idle"):
            values = [r[key] for r in rows]
            print("  %d at once, %-6s min %.1f median %.1f max %.1f" % (
                count, key, min(values), statistics.median(values), max(values)))


if __name__ == "__main__":
    main()
