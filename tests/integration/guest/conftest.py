# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the VM layer's smoke tests: real fast guests through hpc.slurm_vm.libvirt_guest.

The guests are defined by lab_guest.yml the way role spawn defines a VM (libvirt_guest with the
lab's slurm_vm_boot settings, the boot bundle from the provisioning server, the DHCP reservation
through dhcp_host). Only vm-deb12-001 .. vm-deb12-004 are used here; other tests own the rest of
the pool. Each guest is removed with its files and reservation, and its node returned to FUTURE
afterwards.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time
import uuid

import pytest
import yaml

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table

from ..conftest import LAB_DIR, REPO
from ..slurm.ansible_runner import run_module, run_playbook

PLAYBOOK = os.path.join(REPO, "tests", "integration", "guest", "lab_guest.yml")
GUEST_DIR = os.path.join(LAB_DIR, "guests")   # slurm_vm_vm_dir of the lab inventory: libvirt_guest's state_dir
HOSTSD = os.path.join(LAB_DIR, "dnsmasq", "hosts.d")
# the provisioning server logs each VM's gate report here (one file per VM, appended)
REPORTS = os.path.join(LAB_DIR, "provision", "reports")
URI = "qemu:///system"
OUR_HOSTS = ("vm-deb12-001", "vm-deb12-002", "vm-deb12-003", "vm-deb12-004")
# the lab initramfs, the bundle's start script and its readiness gate say so on the console
BOOT_FAILURES = ("HPCVM-BOOT-FAIL", "HPCVM-GATE-FAIL", "Kernel panic")
GATE_PASSED = "HPCVM-GATE-PASS host=%s"   # the gate passed: slurmd starts now
REGISTERED_BASES = ("IDLE", "ALLOCATED", "MIXED", "COMPLETING")
UNREGISTERED_FLAGS = ("NOT_RESPONDING", "DRAIN", "FUTURE", "POWER")


@pytest.fixture(scope="session")
def images():
    with open(os.path.join(REPO, "inventories", "lab", "group_vars", "all", "images.yml")) as handle:
        return image_table.normalize_table(yaml.safe_load(handle)["slurm_vm_images"])


def lab_guests(hosts, state="running", wait="", timeout=300):
    """Run lab_guest.yml for these hosts; returns the finished ansible-playbook process."""
    extra = {"lab_guests": list(hosts), "lab_guest_state": state, "lab_guest_wait": wait,
             "lab_guest_timeout": timeout}
    return run_playbook(PLAYBOOK, extra, timeout=timeout * max(1, len(hosts)) + 120)


def defined_domains(*names):
    """The domains of these names that libvirt knows (ours or not), through libvirt_guest_info."""
    info = run_module("libvirt_guest_info", {"uri": URI, "name": list(names), "all": True})
    assert not info.failed, info
    return [guest["name"] for guest in info["guests"]]


def guest_files(host):
    """What a guest leaves on disk: its files in the state dir and its DHCP reservation."""
    left = [os.path.join(GUEST_DIR, name) for name in sorted(os.listdir(GUEST_DIR)) if name.startswith(host + ".")]
    reservation = os.path.join(HOSTSD, "hpc-slurm-vm-" + host)
    return left + ([reservation] if os.path.exists(reservation) else [])


def console(host):
    path = os.path.join(GUEST_DIR, host + ".console.log")
    if not os.path.exists(path):
        return ""
    with open(path, errors="replace") as handle:
        return handle.read()


def node_registered(state):
    """The node's slurmd has registered: IDLE, or already busy with a pending job (+RESERVED etc. allowed)."""
    flags = state.split("+")
    return flags[0] in REGISTERED_BASES and not set(flags[1:]) & set(UNREGISTERED_FLAGS)


class Guests(object):
    """Start and stop lab guests; each is fenced by a Slurm reservation while it lives."""

    def __init__(self, lab):
        self.lab = lab
        self.started = []
        self.reservations = []
        self.report_sizes = {}   # host -> its gate report log's size before our boot (None: no log yet)

    def reserve(self, host):
        """Keep other tests' vm_* jobs off this node while it is ours."""
        assert host in OUR_HOSTS
        name = "lab-guest-test-%s" % uuid.uuid4().hex[:8]
        self.lab.run(["scontrol", "create", "reservation", "ReservationName=" + name, "Nodes=" + host,
                      "StartTime=now", "Duration=30", "Users=root"])
        self.reservations.append(name)
        return name

    def start(self, *hosts, wait="idle", timeout=180):
        """Start the guests at once; wait for each one's gate to pass ('marker') or its node to register
        ('idle'). Returns {host: seconds from the start of the playbook}; fails with the console's tail."""
        for host in hosts:
            assert host in OUR_HOSTS, "these tests use only %s" % (OUR_HOSTS,)
        if defined_domains(*hosts):
            pytest.fail("domain(s) %s already defined; another run still uses them" % defined_domains(*hosts),
                        pytrace=False)
        for host in hosts:
            bundle = os.path.join(LAB_DIR, "provision", "vm", host, "bundle.tar.gz")
            if not os.path.exists(bundle):
                pytest.fail("no boot bundle %s: run lab/provision up" % bundle, pytrace=False)
        for host in hosts:
            path = os.path.join(REPORTS, host + ".log")
            self.report_sizes[host] = os.path.getsize(path) if os.path.exists(path) else None
        self.started.extend(hosts)
        began = time.monotonic()
        proc = lab_guests(hosts)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        done = {}
        while len(done) < len(hosts):
            for host in hosts:
                if host in done:
                    continue
                out = console(host)
                failed = [line for line in out.splitlines() if any(word in line for word in BOOT_FAILURES)]
                assert not failed, "%s did not boot: %s\n%s" % (host, failed[:3], out[-2000:])
                if wait == "marker":
                    ready = GATE_PASSED % host in out
                else:
                    ready = node_registered(self.lab.node("vm", host).get("State", ""))
                if ready:
                    done[host] = time.monotonic() - began
            if time.monotonic() - began > timeout:
                late = [host for host in hosts if host not in done]
                raise AssertionError("not %s within %ss: %s\n%s" % (wait, timeout, late, console(late[0])[-2000:]))
            time.sleep(0.2)
        return done

    def return_to_pool(self, host):
        """As lab/vmlayer and role teardown do: down (its slurmd is gone), then future."""
        state = self.lab.node("vm", host).get("State", "")
        if state and state.split("+")[0] != "FUTURE":
            self.lab.run(["scontrol", "update", "nodename=" + host, "state=down",
                          "reason=lab guest %s stopped" % host], check=False)
            self.lab.run(["scontrol", "update", "nodename=" + host, "state=future"], check=False)

    def restore_report(self, host):
        """Take our boot's gate report out of the server's log again (the guest is gone: nothing more comes)."""
        path = os.path.join(REPORTS, host + ".log")
        if self.report_sizes.get(host) is None:
            if os.path.exists(path):
                os.unlink(path)
        elif os.path.exists(path):
            os.truncate(path, self.report_sizes[host])

    def cleanup(self):
        problems = []
        if self.started:
            proc = lab_guests(self.started, state="absent")
            if proc.returncode != 0:
                problems.append("removing %s failed:\n%s%s" % (self.started, proc.stdout[-3000:], proc.stderr[-1000:]))
            for host in self.started:
                self.return_to_pool(host)
                self.restore_report(host)
        for name in self.reservations:
            jobs = self.lab.run(["squeue", "-h", "-R", name, "-o", "%i"], check=False).stdout.split()
            self.lab.scancel("vm", *jobs)
        for name in self.reservations:
            self.lab.run(["scontrol", "delete", "reservationname=" + name], check=False)
        if self.started:
            left = defined_domains(*self.started)
            if left:
                problems.append("domain(s) still defined: %s" % left)
            files = [path for host in self.started for path in guest_files(host)]
            if files:
                problems.append("files left behind: %s" % files)
        assert not problems, "\n".join(problems)


@pytest.fixture
def guests(lab):
    helper = Guests(lab)
    yield helper
    helper.cleanup()
