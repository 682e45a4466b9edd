# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the VM layer's smoke tests: real guests through lab/guest/vm.

Only vm-deb12-001 .. vm-deb12-004 are used here; other tests own the rest of the pool.
Each guest is destroyed and its node returned to FUTURE afterwards.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import uuid

import pytest
import yaml

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table

from ..conftest import REPO

GUEST_VM = os.path.join(REPO, "lab", "guest", "vm")
OUR_HOSTS = ("vm-deb12-001", "vm-deb12-002", "vm-deb12-003", "vm-deb12-004")


@pytest.fixture(scope="session")
def images():
    with open(os.path.join(REPO, "inventories", "lab", "group_vars", "all", "images.yml")) as handle:
        return image_table.normalize_table(yaml.safe_load(handle)["slurm_vm_images"])


class Guests(object):
    """Start and stop lab guests; each is fenced by a Slurm reservation while it lives."""

    def __init__(self, lab):
        self.lab = lab
        self.started = []
        self.reservations = []

    def vm(self, *args, timeout=240):
        return subprocess.run([GUEST_VM] + list(args), capture_output=True, text=True, timeout=timeout, check=False)

    def reserve(self, host):
        """Keep other tests' vm_* jobs off this node while it is ours."""
        assert host in OUR_HOSTS
        name = "lab-guest-test-%s" % uuid.uuid4().hex[:8]
        self.lab.run(["scontrol", "create", "reservation", "ReservationName=" + name, "Nodes=" + host,
                      "StartTime=now", "Duration=30", "Users=root"])
        self.reservations.append(name)
        return name

    def start(self, *hosts, wait="idle", timeout=180):
        for host in hosts:
            assert host in OUR_HOSTS, "these tests use only %s" % (OUR_HOSTS,)
            if self.vm("list").stdout.split().count(host):
                pytest.fail("domain %s is already defined; another run still uses it" % host, pytrace=False)
        self.started.extend(hosts)
        return self.vm("start", "--wait", wait, "--timeout", str(timeout), *hosts, timeout=timeout + 60)

    def console(self, host):
        with open(os.path.join(self.lab.dir, "guests", host + ".console.log"), errors="replace") as handle:
            return handle.read()

    def cleanup(self):
        if self.started:
            self.vm("stop", *self.started)
        for name in self.reservations:
            jobs = self.lab.run(["squeue", "-h", "-R", name, "-o", "%i"], check=False).stdout.split()
            self.lab.scancel("vm", *jobs)
        for name in self.reservations:
            self.lab.run(["scontrol", "delete", "reservationname=" + name], check=False)


@pytest.fixture
def guests(lab):
    helper = Guests(lab)
    yield helper
    helper.cleanup()
