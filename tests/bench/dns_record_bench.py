#!/usr/bin/env python
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark dns_record: 1,000 A+PTR pairs, batched (one UPDATE per zone) vs one update per record.

Run inside the lab:  lab/exec .venv/bin/python tests/bench/dns_record_bench.py [--count N] [--runs R] [--no-playbook]

Both paths go through the same code (dns_service.manage_records: read, plan,
update with prerequisites, verify by query) against the lab's BIND:
- batched: one call with all N records (what one dns_record task does);
- per record: N calls with one record each, over one reused TCP connection
  (what a loop of N tasks would do, minus Ansible's own per-task cost).
Each path runs present, present again (no change) and absent, every name with the ownership
mark (TXT) as the scheduler writes it. With
--playbook (default) the batched path is also run as one ansible-playbook task
per step, the way users run it. Names are t5-bench-NNNN, addresses in
10.77.60.0/22; everything is removed afterwards. Each path runs R rounds (default 3, see
benchstats.py); target: the median of the paired speed-up (per record / batched, all three steps)
at least 5x.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import ipaddress
import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, ".cache", "collections"))

import dns.query  # noqa: E402
import dns.tsig  # noqa: E402
import dns.tsigkeyring  # noqa: E402
import dns.update  # noqa: E402

import benchstats  # noqa: E402
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import client as dns_client  # noqa: E402
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import run as dns_service  # noqa: E402

SERVER = "10.77.0.1"
KEY = "hpcvm-ddns"
FWD = "vms.lab.test."
REV = "77.10.in-addr.arpa."
BASE = ipaddress.ip_address("10.77.60.0")
# every name carries the ownership mark, as the scheduler's do: a name with records and no mark is not
# ours (issue 16), so an unmarked "again" or "absent" is refused
MARK = {"image": "bench", "job": "bench"}


def records(count):
    return [dict(name="t5-bench-%04d" % i, ip=str(BASE + 1 + i)) for i in range(count)]


def request(recs, state):
    return dns_service.build_request(dict(records=recs, zone="vms.lab.test", ptr=True, state=state, mark=MARK))


def ours():
    """(forward names, PTR names) of the benchmark that exist now (AXFR)."""
    fwd, rev = set(), set()
    for zone, into in ((FWD, fwd), (REV, rev)):
        for message in dns.query.xfr(SERVER, zone, relativize=False, timeout=10):
            for rrset in message.answer:
                name = rrset.name.to_text().lower()
                ptr_of_bench = any(name.endswith(".%d.77.10.in-addr.arpa." % n) for n in range(60, 64))
                if (zone == FWD and name.startswith("t5-bench-")) or (zone == REV and ptr_of_bench):
                    into.add(name)
    return fwd, rev


def cleanup(secret):
    fwd, rev = ours()
    keyring = dns.tsigkeyring.from_text({KEY: secret})
    for zone, names in ((FWD, fwd), (REV, rev)):
        names = sorted(names)
        for start in range(0, len(names), 500):
            update = dns.update.UpdateMessage(zone, keyring=keyring, keyname=KEY, keyalgorithm=dns.tsig.HMAC_SHA256)
            for name in names[start:start + 500]:
                update.delete(name)
            dns.query.tcp(update, SERVER, timeout=30)


def expect(condition, what):
    if not condition:
        raise SystemExit("benchmark check failed: %s" % what)


def run_batched(client, recs):
    times = {}
    for step, state, changed in (("present", "present", True), ("again", "present", False),
                                 ("absent", "absent", True)):
        start = time.monotonic()
        result = dns_service.manage_records(client, request(recs, state))
        times[step] = time.monotonic() - start
        expect(result["changed"] is changed, "batched %s changed=%s" % (step, result["changed"]))
        if step == "present":
            expect(tuple(map(len, ours())) == (len(recs), len(recs)), "batched present incomplete")
            times["present_updates"] = result["updates"]
    expect(tuple(map(len, ours())) == (0, 0), "batched absent left names behind")
    return times


def run_per_record(client, recs):
    times = {}
    for step, state, changed in (("present", "present", True), ("again", "present", False),
                                 ("absent", "absent", True)):
        start = time.monotonic()
        updates = 0
        for rec in recs:
            result = dns_service.manage_records(client, request([rec], state))
            expect(result["changed"] is changed, "per-record %s %s changed=%s" % (step, rec["name"], result["changed"]))
            updates += result["updates"]
        times[step] = time.monotonic() - start
        if step == "present":
            expect(tuple(map(len, ours())) == (len(recs), len(recs)), "per-record present incomplete")
            times["present_updates"] = updates
    expect(tuple(map(len, ours())) == (0, 0), "per-record absent left names behind")
    return times


def run_playbook(recs, secret):
    """The batched path as users run it: one ansible-playbook, one task per step; wall time per step."""
    times = {}
    with tempfile.TemporaryDirectory(prefix="t5-bench-") as tmp:
        with open(os.path.join(tmp, "vars.json"), "w") as handle:
            os.chmod(handle.name, 0o600)
            json.dump({"t5_secret": secret, "t5_records": recs}, handle)
        for step, state in (("present", "present"), ("again", "present"), ("absent", "absent")):
            task = {"hpc.slurm_vm.dns_record": dict(server=SERVER, key_name=KEY, key_secret="{{ t5_secret }}",  # noqa: S106
                                                    zone="vms.lab.test", ptr=True, state=state, mark=MARK,
                                                    records="{{ t5_records }}"), "register": "r"}
            assert_task = {"ansible.builtin.assert": {"that": ["r.changed == %s" % (step != "again")],
                                                      "quiet": True}}
            play = [dict(hosts="localhost", connection="local", gather_facts=False, vars_files=["vars.json"],
                         vars=dict(ansible_python_interpreter=sys.executable), tasks=[task, assert_task])]
            path = os.path.join(tmp, "play.yml")
            with open(path, "w") as handle:
                json.dump(play, handle)
            start = time.monotonic()
            proc = subprocess.run([os.path.join(REPO, ".venv", "bin", "ansible-playbook"), "-i", "localhost,", path],
                                  cwd=REPO, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
            times[step] = time.monotonic() - start
            expect(proc.returncode == 0, "playbook %s failed:\n%s%s" % (step, proc.stdout[-3000:], proc.stderr[-2000:]))
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--no-playbook", action="store_true")
    args = parser.parse_args()
    rounds = benchstats.runs(given=args.runs)
    with open("/tmp/hpcvm-lab/secrets/%s.secret" % KEY) as handle:  # noqa: S108 - the lab's fixed location
        secret = handle.read().strip()
    recs = records(args.count)
    client = dns_client.DnsClient(SERVER, key_name=KEY, key_secret=secret, timeout=30)
    cleanup(secret)
    paths = {"batched": [], "per record": [], "playbook": []}
    try:
        for _round in range(rounds):
            paths["batched"].append(run_batched(client, recs))
            paths["per record"].append(run_per_record(client, recs))
            if not args.no_playbook:
                paths["playbook"].append(run_playbook(recs, secret))
    finally:
        cleanup(secret)
        client.close()
    print("dns_record benchmark: %d A+PTR pairs against the lab's BIND (%s), %d rounds" % (args.count, SERVER, rounds))
    print("UPDATE messages for present: batched %s, per record %s" % (
        paths["batched"][0]["present_updates"], paths["per record"][0]["present_updates"]))
    report = benchstats.Report("dns_record")
    labels = {"batched": "batched (one UPDATE per zone)", "per record": "one update per record",
              "playbook": "batched, ansible-playbook wall"}
    steps = ("present", "again", "absent")
    for path, times in paths.items():
        for step in steps:
            if times:
                report.add("%s %s" % (labels[path], step), [t[step] for t in times])
    totals = {path: [sum(t[step] for step in steps) for t in times] for path, times in paths.items()}
    report.add("speed-up of batching, all steps (paired)", benchstats.ratios(totals["per record"], totals["batched"]),
               unit="x", target=(">=", 5.0))
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
