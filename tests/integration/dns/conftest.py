# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the DNS module tests against the lab's BIND.

`dns.play(tasks)` runs the tasks as one playbook on localhost, the way users
run the modules, with the TSIG connection set once through module_defaults
(group/hpc.slurm_vm.dns) and the secret in a vars file (never on a command
line). It returns each task's registered result.

Every name these tests touch starts with `t5-` (addresses in 10.77.50.0/24,
PTRs under 50.77.10.in-addr.arpa.); the autouse fixture removes them after
each test, so a failing test leaves nothing behind.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import tempfile

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest

from ..conftest import REPO

KEY = "hpcvm-ddns"
FWD = "vms.lab.test."
REV = "77.10.in-addr.arpa."
PREFIX = "t5-"
PTR_SUFFIX = ".50.77.10.in-addr.arpa."
ANSIBLE_PLAYBOOK = os.path.join(REPO, ".venv", "bin", "ansible-playbook")


class DnsLab(object):
    def __init__(self, lab):
        self.lab = lab
        self.server = lab.gateway
        self.secret = lab.secret(KEY)
        self.keyring = dns.tsigkeyring.from_text({KEY: self.secret})

    # -- running the modules as users do
    def play(self, tasks, connection=None, timeout=120):
        """Run tasks (dicts) in one playbook; returns the list of per-task results (failed ones included)."""
        conn = dict(server=self.server, key_name=KEY, key_secret="{{ t5_dns_secret }}")  # noqa: S106 - a template
        conn.update(connection or {})
        conn = {k: v for k, v in conn.items() if v is not None}
        tasks = [dict(task, register="t5_result_%d" % i, ignore_errors=True) for i, task in enumerate(tasks)]
        with tempfile.TemporaryDirectory(prefix="t5-dns-it-") as tmp:
            out = os.path.join(tmp, "results.json")
            collect = "[%s]" % ", ".join("t5_result_%d" % i for i in range(len(tasks)))
            tasks.append({"name": "Collect the results", "ansible.builtin.copy": dict(
                content="{{ %s | to_json }}" % collect, dest=out, mode="0600")})
            playbook = [dict(hosts="localhost", connection="local", gather_facts=False, vars_files=["secret.yml"],
                             vars=dict(ansible_python_interpreter=os.path.join(REPO, ".venv", "bin", "python")),
                             module_defaults={"group/hpc.slurm_vm.dns": conn}, tasks=tasks)]
            with open(os.path.join(tmp, "secret.yml"), "w") as handle:
                os.chmod(handle.name, 0o600)
                json.dump({"t5_dns_secret": self.secret}, handle)
            path = os.path.join(tmp, "play.yml")
            with open(path, "w") as handle:
                json.dump(playbook, handle)
            env = dict(os.environ, ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_NOCOLOR="1",
                       ANSIBLE_LOCALHOST_WARNING="0")
            proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", "localhost,", path], cwd=REPO, env=env,
                                  capture_output=True, text=True, timeout=timeout, check=False,
                                  stdin=subprocess.DEVNULL)
            if not os.path.exists(out):
                raise AssertionError("the playbook did not finish (rc %d):\n%s\n%s"
                                     % (proc.returncode, proc.stdout, proc.stderr))
            with open(out) as handle:
                return json.load(handle)

    # -- looking at the server directly (dnspython, not the module under test)
    def query(self, name, rtype="A"):
        """(rcode, sorted values) of one query to the lab's BIND."""
        reply = dns.query.tcp(dns.message.make_query(name, rtype), self.server, timeout=5)
        values = sorted(rr.to_text() for rrset in reply.answer if rrset.rdtype == dns.rdatatype.from_text(rtype)
                        for rr in rrset)
        return dns.rcode.to_text(reply.rcode()), values

    def names(self, zone):
        """{name: [rdata text...]} of the zone, by AXFR."""
        found = {}
        for message in dns.query.xfr(self.server, zone, relativize=False, timeout=10):
            for rrset in message.answer:
                found.setdefault(rrset.name.to_text().lower(), []).extend(
                    "%s %s" % (dns.rdatatype.to_text(rrset.rdtype), rr.to_text()) for rr in rrset)
        return found

    def ours(self):
        """Every t5- name (bench names excepted) and every PTR under 10.77.50.0/24 that exists now."""
        fwd = {n: v for n, v in self.names(FWD).items()
               if n.startswith(PREFIX) and not n.startswith(PREFIX + "bench-")}
        rev = {n: v for n, v in self.names(REV).items() if n.endswith(PTR_SUFFIX)}
        return fwd, rev

    def raw_update(self, zone, build):
        update = dns.update.UpdateMessage(zone, keyring=self.keyring, keyname=KEY, keyalgorithm=dns.tsig.HMAC_SHA256)
        build(update)
        reply = dns.query.tcp(update, self.server, timeout=10)
        return dns.rcode.to_text(reply.rcode())

    def cleanup(self):
        fwd, rev = self.ours()
        if fwd:
            self.raw_update(FWD, lambda u: [u.delete(n) for n in fwd])
        if rev:
            self.raw_update(REV, lambda u: [u.delete(n) for n in rev])


@pytest.fixture
def dnslab(lab):
    helper = DnsLab(lab)
    helper.cleanup()
    yield helper
    helper.cleanup()
