# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the Slurm module tests: this area's pool nodes, always returned to FUTURE."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ..conftest import wait_until

# The pool nodes these tests own (other areas' tests use other pool nodes at the same time).
NODE_IPS = {"vm-disk-001": "10.77.2.1", "vm-disk-002": "10.77.2.2", "vm-disk-003": "10.77.2.3",
            "vm-deb12-007": "10.77.1.7"}
RESERVATION_PREFIX = "itslurm-"


def return_to_pool(lab, name):
    """Stop the node's stand-in and put it back to plain FUTURE, whatever state a test left."""
    lab.standin("down", name)
    for state in (["state=down", "reason=hpc.slurm_vm tests: cleanup"], ["state=future"]):
        lab.run(["scontrol", "update", "nodename=%s" % name] + state, check=False)
    wait_until(lambda: lab.node("vm", name).get("State") == "FUTURE", 10, what="%s FUTURE" % name)


class Pool(object):
    def __init__(self, lab):
        self.lab = lab
        self.used = set()

    def take(self, name):
        assert name in NODE_IPS, name
        self.used.add(name)
        return_to_pool(self.lab, name)
        return name

    def register(self, name, timeout=15):
        """Start a stand-in slurmd under this name and wait until the FUTURE node turns IDLE."""
        self.used.add(name)
        self.lab.standin("up", name, NODE_IPS[name], "vm")
        wait_until(lambda: self.lab.node("vm", name).get("State") == "IDLE", timeout, what="%s IDLE" % name)

    def stop(self, name):
        self.lab.standin("down", name)

    def state(self, name):
        return self.lab.node("vm", name).get("State")

    def reason(self, name):
        return (self.lab.node("vm", name).get("Reason") or "").rsplit(" [", 1)[0] or None


@pytest.fixture
def pool(lab):
    pool = Pool(lab)
    try:
        yield pool
    finally:
        for name in sorted(pool.used):
            return_to_pool(lab, name)


def delete_test_reservations(lab):
    proc = lab.run(["scontrol", "-o", "show", "res"], check=False)
    for line in proc.stdout.splitlines():
        name = line.split(" ", 1)[0].partition("=")[2]
        if name.startswith(RESERVATION_PREFIX):
            lab.run(["scontrol", "delete", "ReservationName=%s" % name], check=False)


@pytest.fixture
def reservations(lab):
    delete_test_reservations(lab)
    try:
        yield RESERVATION_PREFIX
    finally:
        delete_test_reservations(lab)


@pytest.fixture
def vm_conf(lab):
    return lab.conf["vm"]
