# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/gc.yml against the lab: orphans made by hand are removed (grace 0) or kept
(large grace); an unmarked record and the records of a live VM survive.

Orphans of vm-disk-003 (no host job): DNS A + PTR + TXT mark, the dnsmasq hostsdir file,
a guest file vm-disk-003.tmp, and a reservation hpcvm-vm-share-002 as role spawn makes it (Nodes
vm-share-002, Users root), naming no pool host: gc runs with an image table without image share, as
after an image left the table. Foreign: hpcvm-vm-recon-004 on vm-disk-004, named like ours but without
the mark (its nodes are not its name's host); it survives. Live: vm-deb12-006 with a host job
hpcvm:vm-deb12-006 (a sleep on a stand-in hypervisor) and the same records.
Unmarked: keep-reconcile.<zone> A. gc runs only on these names (slurm_vm_reconcile_only_hosts)
so that other tests' records in the shared lab are not judged, and under the scheduler's lock.

Other tests run playbooks/scheduler.yml at the same time (without the lock), and its teardown
finishes any pool host that has a reservation hpcvm-<host> or a non-FUTURE node without a host
job. So the orphan's reservation names no pool host and its node stays FUTURE (the node rule is
covered by the unit tests), and the live VM's records exist only while its host job does. The
host job runs rather than being held: the scheduler cancels pending host jobs no demand needs,
while a running one it would only tear down after boot_timeout (180 s, far longer than this test).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import signal
import subprocess
import time

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring
import dns.update
import pytest
import yaml

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import (
    DHCP_NAME_PREFIX,
    MARK_TAG,
    reservation_name,
)

from ..conftest import REPO

ORPHAN = "vm-disk-003"
ORPHAN_IP, ORPHAN_MAC = "10.77.2.3", "52:54:00:77:02:03"
ORPHAN_RES = "vm-share-002"  # reservation hpcvm-vm-share-002 on node vm-share-002 (image share left the table)
FOREIGN_RES, FOREIGN_NODE = "vm-recon-004", "vm-disk-004"  # hpcvm-vm-recon-004 on vm-disk-004: not ours
LIVE = "vm-deb12-006"
LIVE_IP, LIVE_MAC = "10.77.1.6", "52:54:00:77:01:06"
UNMARKED = "keep-reconcile"
HOSTS = [ORPHAN, ORPHAN_RES, FOREIGN_RES, LIVE, UNMARKED]


class Lab(object):
    def __init__(self, lab):
        self.lab = lab
        self.keyring = dns.tsigkeyring.from_text({"hpcvm-ddns": lab.secret("hpcvm-ddns")})
        self.zone = lab.domain.rstrip(".") + "."
        self.rzone = lab.reverse_zone.rstrip(".") + "."
        self.hostsdir = os.path.join(lab.dir, "dnsmasq", "hosts.d")
        self.vm_dir = os.path.join(lab.dir, "guests")

    def update(self, zone, *changes):
        msg = dns.update.UpdateMessage(zone, keyring=self.keyring, keyalgorithm="hmac-sha256")
        for verb, name, rtype, value in changes:
            if verb == "add":
                msg.add(name, 300, rtype, value)
            else:
                msg.delete(name)
        answer = dns.query.tcp(msg, self.lab.gateway, timeout=10)
        assert answer.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(answer.rcode())

    def rrset(self, name, rtype):
        answer = dns.query.tcp(dns.message.make_query(name, rtype), self.lab.gateway, timeout=10)
        return sorted(r.to_text() for rrset in answer.answer for r in rrset)

    @staticmethod
    def ptr_name(ip):
        return ".".join(reversed(ip.split("."))) + ".in-addr.arpa."

    def add_vm_records(self, host, ip, mac, image, job, res=None):
        fqdn = "%s.%s" % (host, self.zone)
        self.update(self.zone, ("add", fqdn, "A", ip),
                    ("add", fqdn, "TXT", '"hpc.slurm_vm vm=%s image=%s job=%s"' % (host, image, job)))
        self.update(self.rzone, ("add", self.ptr_name(ip), "PTR", fqdn))
        with open(os.path.join(self.hostsdir, DHCP_NAME_PREFIX + host), "w") as handle:
            handle.write("# %s %s\n%s,%s,%s\n" % (MARK_TAG, json.dumps({"vm": host, "image": image}), mac, ip, host))
        self.lab.run(["scontrol", "create", "reservation", "ReservationName=" + reservation_name(res or host),
                      "Nodes=" + (res or host), "StartTime=now+2hours", "Duration=60", "Users=root"])
        with open(os.path.join(self.vm_dir, host + ".tmp"), "w") as handle:
            handle.write("reconcile test\n")

    def remove_vm_records(self, host, ip, res=None):
        fqdn = "%s.%s" % (host, self.zone)
        self.update(self.zone, ("delete", fqdn, None, None))
        self.update(self.rzone, ("delete", self.ptr_name(ip), None, None))
        path = os.path.join(self.hostsdir, DHCP_NAME_PREFIX + host)
        if os.path.exists(path):
            os.unlink(path)
            with open(os.path.join(self.lab.dir, "run", "dnsmasq.pid")) as handle:
                os.kill(int(handle.read().strip()), signal.SIGHUP)  # dnsmasq forgets removed entries on HUP
        self.lab.run(["scontrol", "delete", "reservation=" + reservation_name(res or host)], check=False)
        if os.path.exists(os.path.join(self.vm_dir, host + ".tmp")):
            os.unlink(os.path.join(self.vm_dir, host + ".tmp"))

    def state_of(self, host, ip, res=None):
        fqdn = "%s.%s" % (host, self.zone)
        node = self.lab.node("vm", host)
        return {
            "A": self.rrset(fqdn, "A"),
            "TXT": self.rrset(fqdn, "TXT"),
            "PTR": self.rrset(self.ptr_name(ip), "PTR"),
            "dhcp": os.path.exists(os.path.join(self.hostsdir, DHCP_NAME_PREFIX + host)),
            "reservation": self.lab.run(["scontrol", "show", "reservation", reservation_name(res or host)],
                                        check=False).returncode == 0,
            "file": os.path.exists(os.path.join(self.vm_dir, host + ".tmp")),
            "node": (node.get("State") or "").split("+")[0],
        }

    def gc(self, state_dir, grace, check=False):
        with open(os.path.join(REPO, "inventories", "lab", "group_vars", "all", "images.yml")) as handle:
            images = yaml.safe_load(handle)["slurm_vm_images"]
        del images["share"]  # the orphan reservation's image left the table
        extra = {"slurm_vm_state_dir": state_dir, "slurm_vm_reconcile_grace": grace,
                 "slurm_vm_reconcile_only_hosts": HOSTS, "slurm_vm_images": images}
        argv = ["flock", "-w", "600", os.path.join(self.lab.dir, "run", "scheduler.lock"),
                os.path.join(REPO, ".venv", "bin", "ansible-playbook"), "-i", "inventories/lab",
                "-i", "inventories/lab_demand", "playbooks/gc.yml", "-e", json.dumps(extra)]
        if check:
            argv.append("--check")
        started = time.monotonic()
        proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=900, check=False,
                              env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"))
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        return proc.stdout, time.monotonic() - started


@pytest.fixture
def env(lab):
    env = Lab(lab)
    os.makedirs(env.vm_dir, exist_ok=True)
    try:
        env.update(env.zone, ("add", "%s.%s" % (UNMARKED, env.zone), "A", "10.77.9.250"))
        env.add_vm_records(ORPHAN, ORPHAN_IP, ORPHAN_MAC, "disk", "claimed", res=ORPHAN_RES)
        lab.run(["scontrol", "create", "reservation", "ReservationName=" + reservation_name(FOREIGN_RES),
                 "Nodes=" + FOREIGN_NODE, "StartTime=now+2hours", "Duration=60", "Users=root"])
        yield env
    finally:
        env.remove_vm_records(ORPHAN, ORPHAN_IP, res=ORPHAN_RES)
        lab.run(["scontrol", "delete", "reservation=" + reservation_name(FOREIGN_RES)], check=False)
        env.update(env.zone, ("delete", "%s.%s" % (UNMARKED, env.zone), None, None))


def _assert_alive(lab, job_id):
    out = lab.run(["squeue", "-h", "-j", job_id, "-o", "job %i"], cluster="host", check=False).stdout
    assert "job %s" % job_id in out, \
        "the live VM's host job %s ended during the test (cancelled by a scheduler run?)" % job_id


def _memory(state_dir):
    with open(os.path.join(state_dir, "reconcile-first-seen.json")) as handle:
        return json.load(handle)["first_seen"]


def test_gc_removes_marked_orphans_and_keeps_the_rest(lab, env, tmp_path):
    before_orphan = env.state_of(ORPHAN, ORPHAN_IP, res=ORPHAN_RES)
    assert before_orphan == {"A": [ORPHAN_IP], "TXT": ['"hpc.slurm_vm vm=%s image=disk job=claimed"' % ORPHAN],
                             "PTR": ["%s.%s" % (ORPHAN, env.zone)], "dhcp": True, "reservation": True, "file": True,
                             "node": "FUTURE"}
    state_dir = str(tmp_path / "state")
    live_job = None
    try:
        # The live VM: a host job, then its records (never without the job: see the docstring).
        live_job = lab.sbatch("host", "--job-name=hpcvm:" + LIVE, "--partition=hosts", "--exclusive",
                              "--time=5", "--wrap=sleep 240")
        env.add_vm_records(LIVE, LIVE_IP, LIVE_MAC, "deb12", live_job)
        before_live = env.state_of(LIVE, LIVE_IP)

        # A large grace: the orphans start their clock, nothing is removed.
        out, _seconds = env.gc(state_dir, 86400)
        assert "removed 0 orphan(s)" in out
        assert "wait   dns         %s" % ORPHAN in out
        assert env.state_of(ORPHAN, ORPHAN_IP, res=ORPHAN_RES) == before_orphan
        memory = _memory(state_dir)
        assert sorted(k.split("|")[0] for k in memory) == ["dhcp", "dns", "file", "reservation"]
        assert all(ORPHAN in k or ORPHAN_RES in k for k in memory)

        # Check mode with grace 0 lists the removals and changes nothing (not even the memory).
        out, _seconds = env.gc(state_dir, 0, check=True)
        assert "removed 4 orphan(s)" in out, out[-6000:]
        _assert_alive(lab, live_job)
        assert env.state_of(ORPHAN, ORPHAN_IP, res=ORPHAN_RES) == before_orphan
        assert _memory(state_dir) == memory

        # Grace 0: every orphan goes, each with its reason.
        out, seconds = env.gc(state_dir, 0)
        print("gc.yml (grace 0, 4 removals) took %.1f s" % seconds)
        _assert_alive(lab, live_job)
        for kind, host in (("file", ORPHAN), ("reservation", ORPHAN_RES), ("dhcp", ORPHAN), ("dns", ORPHAN)):
            assert "remove %-11s %s" % (kind, host) in out, out
        assert "DNS name %s.%s marked by hpc.slurm_vm (image disk, host job claimed)" % (ORPHAN, env.zone) in out
        assert "reservation %s, which names no pool host" % reservation_name(ORPHAN_RES) in out
        assert "removed 4 orphan(s)" in out
        assert env.state_of(ORPHAN, ORPHAN_IP, res=ORPHAN_RES) == {
            "A": [], "TXT": [], "PTR": [], "dhcp": False, "reservation": False, "file": False, "node": "FUTURE"}

        # The live VM (held host job), the unmarked name and the reservation without our mark are untouched.
        assert env.state_of(LIVE, LIVE_IP) == before_live
        assert lab.run(["scontrol", "show", "reservation", reservation_name(FOREIGN_RES)],
                       check=False).returncode == 0
        assert "remove %-11s %s" % ("reservation", FOREIGN_RES) not in out
        assert not any(FOREIGN_RES in key for key in _memory(state_dir))
        assert env.rrset("%s.%s" % (UNMARKED, env.zone), "A") == ["10.77.9.250"]
        assert "remove dns         %s" % LIVE not in out
    finally:
        lab.scancel("host", *([live_job] if live_job else []))
        env.remove_vm_records(LIVE, LIVE_IP)

    # Nothing of ours left: a last run removes nothing and empties the memory.
    out, _seconds = env.gc(state_dir, 0)
    assert "removed 0 orphan(s)" in out
    assert _memory(state_dir) == {}
