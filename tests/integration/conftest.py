# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for tests against the local lab's real services.

These tests run inside the lab's network namespace: `make integration` starts
them through lab/exec. Outside it they fail at once instead of sending
packets anywhere.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shlex
import subprocess
import time
import uuid

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB_DIR = os.environ.get("HPCVM_LAB_DIR", "/tmp/hpcvm-lab")


def _load_lab_env():
    path = os.path.join(LAB_DIR, "etc", "lab.env")
    if not os.path.exists(path):
        pytest.fail("%s is missing: start the lab with 'make lab-up'" % path, pytrace=False)
    env = {}
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, _sep, value = line.partition("=")
            words = shlex.split(value)
            env[key] = " ".join(words)
    return env


class Lab(object):
    """The lab's topology plus helpers to run commands against its clusters."""

    def __init__(self, env):
        self.env = env
        self.dir = LAB_DIR
        self.gateway = env["LAB_GATEWAY"]
        self.domain = env["LAB_DOMAIN"]
        self.reverse_zone = env["LAB_REVERSE_ZONE"]
        self.conf = {"host": env["HOST_SLURM_CONF"], "vm": env["VM_SLURM_CONF"]}
        self.hypervisors = dict(pair.split("=") for pair in env["LAB_HYPERVISORS"].split())

    def run(self, argv, cluster="vm", check=True, timeout=60, **kwargs):
        env = dict(os.environ, SLURM_CONF=self.conf[cluster], LC_ALL="C")
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)
        if check and proc.returncode != 0:
            raise AssertionError("%s failed (rc %d):\n%s%s" % (argv, proc.returncode, proc.stdout, proc.stderr))
        return proc

    def sbatch(self, cluster, *args):
        # --chdir=/: a guest sees the host's root over 9p but its own /tmp, so a checkout
        # under /tmp (as CI may use) does not exist there, and slurmstepd says so in the output.
        out = self.run(["sbatch", "--parsable", "--chdir=/"] + list(args), cluster=cluster).stdout.strip()
        return out.split(";")[0]

    def job(self, cluster, job_id):
        """One job's fields from `scontrol -o show job` (empty once it is purged)."""
        proc = self.run(["scontrol", "-o", "show", "job", job_id], cluster=cluster, check=False)
        return parse_scontrol_line(proc.stdout) if proc.returncode == 0 else {}

    def node(self, cluster, name):
        proc = self.run(["scontrol", "-F", "-o", "show", "node", name], cluster=cluster, check=False)
        return parse_scontrol_line(proc.stdout) if proc.returncode == 0 else {}

    def scancel(self, cluster, *job_ids):
        if job_ids:
            self.run(["scancel"] + list(job_ids), cluster=cluster, check=False)

    def secret(self, name):
        with open(os.path.join(self.dir, "secrets", name + ".secret")) as handle:
            return handle.read().strip()

    def standin(self, *args):
        return subprocess.run([os.path.join(REPO, "lab", "standin")] + list(args), capture_output=True,
                              text=True, check=True, timeout=60)

    def scratch(self, prefix):
        path = os.path.join(self.dir, "jobs", "%s-%s" % (prefix, uuid.uuid4().hex[:8]))
        os.makedirs(path)
        return path


def parse_scontrol_line(text):
    """Parse one `scontrol -o show ...` line; values may hold spaces (Reason=...)."""
    fields = {}
    key = None
    for word in text.strip().split(" "):
        name, sep, value = word.partition("=")
        if sep and name and name.replace("/", "").replace(":", "").isalnum():
            key = name
            fields[key] = value
        elif key is not None:
            fields[key] += " " + word
    return fields


def wait_until(predicate, timeout, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


@pytest.fixture(scope="session")
def lab():
    env = _load_lab_env()
    ns = "/run/netns/%s" % env["LAB_NS"]
    if not os.path.exists(ns):
        pytest.fail("the lab is down: run 'make lab-up'", pytrace=False)
    if os.stat("/proc/self/ns/net").st_ino != os.stat(ns).st_ino:
        pytest.fail("run the integration tests inside the lab: lab/exec pytest tests/integration", pytrace=False)
    return Lab(env)
