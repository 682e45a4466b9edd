# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Boot timings of the lab's fast guest (TCG): one guest, then 4 at once.

For each guest, from the start of tests/integration/guest/lab_guest.yml (libvirt_guest and
dhcp_host, as role spawn defines a VM; all guests started at once): the end of the initramfs
on the console (HPCVM-STAGE1-DONE: DHCP, 9p root, /tmp disk, boot bundle), the readiness gate
passed, slurmd starting (HPCVM-GATE-PASS) and the pool node registered with the VM cluster
(FUTURE -> IDLE). Uses vm-deb12-001..004 only, each fenced by a reservation; removes every
guest, its files and reservation, its gate report, and returns every node to FUTURE afterwards.
ROUNDS (default 3, at least 3; see benchstats.py) rounds of each; medians with min and max, no target.
Run inside the lab: lab/exec .venv/bin/python tests/bench/guest_boot_bench.py [ROUNDS]
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import time
import uuid

import benchstats

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB = os.environ.get("HPCVM_LAB_DIR", "/tmp/hpcvm-lab")
PLAYBOOK = os.path.join(REPO, "tests", "integration", "guest", "lab_guest.yml")
ANSIBLE_PLAYBOOK = os.path.join(REPO, ".venv", "bin", "ansible-playbook")
REPORTS = os.path.join(LAB, "provision", "reports")
HOSTS = ["vm-deb12-001", "vm-deb12-002", "vm-deb12-003", "vm-deb12-004"]
MARKERS = (("stage1", "HPCVM-STAGE1-DONE"), ("gate", "HPCVM-GATE-PASS"))


def scontrol(*args):
    return subprocess.run(["scontrol"] + list(args), capture_output=True, text=True, check=False,
                          env=dict(os.environ, LC_ALL="C"))


def node_state(host):
    out = scontrol("-F", "-o", "show", "node", host).stdout
    for word in out.split():
        if word.startswith("State="):
            return word[6:]
    return ""


def lab_guests(hosts, state):
    extra = json.dumps({"lab_guests": hosts, "lab_guest_state": state})
    return subprocess.run([ANSIBLE_PLAYBOOK, PLAYBOOK, "-e", extra], cwd=REPO, capture_output=True, text=True,
                          check=False)


def return_to_pool(host):
    if node_state(host).split("+")[0] not in ("", "FUTURE"):
        scontrol("update", "nodename=" + host, "state=down", "reason=guest boot bench")
        scontrol("update", "nodename=" + host, "state=future")


def report_size(host):
    path = os.path.join(REPORTS, host + ".log")
    return os.path.getsize(path) if os.path.exists(path) else None


def restore_report(host, size):
    path = os.path.join(REPORTS, host + ".log")
    if size is None and os.path.exists(path):
        os.unlink(path)
    elif size is not None and os.path.exists(path):
        os.truncate(path, size)


def boot(hosts, timeout=240):
    reservations = []
    for host in hosts:
        name = "bench-guest-%s" % uuid.uuid4().hex[:8]
        scontrol("create", "reservation", "ReservationName=" + name, "Nodes=" + host, "StartTime=now",
                 "Duration=30", "Users=root")
        reservations.append(name)
    times = {host: {} for host in hosts}
    reports = {host: report_size(host) for host in hosts}
    try:
        start = time.monotonic()
        proc = lab_guests(hosts, "running")
        if proc.returncode != 0:
            raise SystemExit("lab_guest.yml failed:\n%s%s" % (proc.stdout[-3000:], proc.stderr[-1000:]))
        started = time.monotonic() - start
        while any(len(t) < 3 for t in times.values()):
            now = time.monotonic() - start
            if now > timeout:
                raise SystemExit("timeout: %r" % times)
            for host in hosts:
                with open(os.path.join(LAB, "guests", host + ".console.log"), errors="replace") as handle:
                    console = handle.read()
                if "-FAIL" in console:
                    raise SystemExit("%s failed:\n%s" % (host, console[-1500:]))
                for key, marker in MARKERS:
                    if key not in times[host] and marker in console:
                        times[host][key] = now
                if "idle" not in times[host] and node_state(host).split("+")[0] == "IDLE":
                    times[host]["idle"] = now
            time.sleep(0.1)
        return started, times
    finally:
        lab_guests(hosts, "absent")
        for host in hosts:
            return_to_pool(host)
            restore_report(host, reports[host])
        for name in reservations:
            scontrol("delete", "reservationname=" + name)


def main():
    rounds = benchstats.runs(given=sys.argv[1] if len(sys.argv) > 1 else None)
    report = benchstats.Report("guest_boot")
    print("fast guest, TCG, %s MiB: seconds from the start of lab_guest.yml (includes ansible-playbook, the DHCP "
          "reservation and libvirt_guest's define+start)" % os.environ.get("HPCVM_BENCH_MEM", "image table"))
    for count in (1, 4):
        rows, returned = [], []
        for _round in range(rounds):
            started, times = boot(HOSTS[:count])
            rows.extend(times.values())
            returned.append(started)
            print("  %d guest(s): lab_guest.yml returned %.1f s; %s" % (count, started, "; ".join(
                "%s stage1 %.1f gate %.1f IDLE %.1f" % (h[-3:], t["stage1"], t["gate"], t["idle"])
                for h, t in sorted(times.items()))))
        report.add("%d at once: lab_guest.yml returned" % count, returned)
        for key in ("stage1", "gate", "idle"):
            report.add("%d at once: %s, per guest" % (count, key), [r[key] for r in rows])
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
