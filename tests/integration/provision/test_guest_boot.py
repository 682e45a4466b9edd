# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A guest stand-in boots with its bundle: it fetches it from the provisioning server
(its reserved IP, its token), runs the rendered start script as PID 1 of its own
namespaces with a fresh /tmp "disk", and its FUTURE node turns IDLE only when the
gate passes. With a /tmp that is too small the gate fails: the node stays FUTURE,
slurmd never starts, and the reason is on the console and on the server."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import subprocess
import time

import pytest

from ..conftest import wait_until
from .helpers import PORT, STANDIN, VM, VM_IP, manifest_tokens, reports, sh, veth_name

NS = "hpcvm-bp-guest"


class GuestStandin(object):
    def __init__(self, lab, tmp_size):
        self.lab = lab
        self.work = lab.scratch("bp-guest")
        with open(os.path.join(self.work, "token"), "w") as handle:
            handle.write(manifest_tokens(lab.dir)[VM])
        url = "http://%s:%d/vm/%s/bundle.tar.gz" % (lab.gateway, PORT, VM)
        self.log = open(os.path.join(self.work, "out.log"), "w")  # noqa: SIM115 - open while the guest runs
        self.started = time.monotonic()
        self.proc = subprocess.Popen([STANDIN, NS, VM, VM_IP, url, tmp_size, self.work],
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def console(self):
        path = os.path.join(self.work, "console.log")
        if not os.path.exists(path):   # the stand-in script has not created it yet
            return ""
        with open(path) as handle:
            return handle.read()

    def output(self):
        with open(os.path.join(self.work, "out.log")) as handle:
            return handle.read()

    def slurmd_running(self):
        """Is a slurmd running inside this stand-in's PID namespace?"""
        init = sh(["pgrep", "-P", str(self.proc.pid)], check=False).stdout.split()
        if not init:
            return False
        ns = os.readlink("/proc/%s/ns/pid" % init[0])
        for pid in sh(["pgrep", "-x", "slurmd"], check=False).stdout.split():
            try:
                if os.readlink("/proc/%s/ns/pid" % pid) == ns:
                    return True
            except OSError:
                continue
        return False

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)   # unshare --kill-child takes the namespace with it
            self.proc.wait(timeout=10)
        self.log.close()
        sh(["ip", "link", "del", veth_name(NS)], check=False)
        if os.path.exists("/run/netns/" + NS):
            sh(["ip", "netns", "del", NS], check=False)
        # back to the pool, as teardown does (FACTS: down, then future)
        if self.lab.node("vm", VM).get("State", "FUTURE").split("+")[0] != "FUTURE":
            self.lab.run(["scontrol", "update", "nodename=" + VM, "state=down", "reason=boot_provision test"],
                         check=False)
            self.lab.run(["scontrol", "update", "nodename=" + VM, "state=future"], check=False)


def node_state(lab):
    return lab.node("vm", VM).get("State", "")


@pytest.fixture
def guest(lab):
    assert node_state(lab).startswith("FUTURE"), "%s is in use: %s" % (VM, node_state(lab))
    started = []

    def start(tmp_size):
        g = GuestStandin(lab, tmp_size)
        started.append(g)
        return g
    yield start
    for g in started:
        g.stop()
    wait_until(lambda: node_state(lab).startswith("FUTURE"), 20, what="%s back to FUTURE" % VM)


def test_guest_passes_the_gate_and_its_node_turns_idle(lab, guest):
    g = guest("256M")
    wait_until(lambda: node_state(lab).startswith("IDLE") or g.proc.poll() is not None, 60,
               what="%s IDLE" % VM)
    idle_after = time.monotonic() - g.started
    assert node_state(lab).startswith("IDLE"), g.output()
    assert "HPCVM-GATE-PASS host=%s image=disk" % VM in g.console()
    assert g.slurmd_running()
    # a job of the VM cluster runs on it
    out = lab.run(["srun", "-w", VM, "--gres=vm_disk:1", "-t", "1", "hostname"], timeout=60).stdout.strip()
    assert out == VM
    last = reports(lab.dir, VM)[-1]
    assert last["ip"] == VM_IP and last["report"]["status"] == "pass"
    print("stand-in guest: bundle fetched, gate passed, node IDLE after %.2f s" % idle_after)


def test_failing_gate_keeps_the_node_from_turning_idle(lab, guest):
    before = len(reports(lab.dir, VM))
    g = guest("16M")   # the image wants 64 MiB free in /tmp
    wait_until(lambda: "HPCVM-GATE-FAIL" in g.console() and "attempt=3/3" in g.console(), 60,
               what="the gate to give up")
    # the reason is on the console and on the provisioning server
    assert "check=tmp" in g.console() and "needs 64 MiB" in g.console()
    wait_until(lambda: len(reports(lab.dir, VM)) > before, 10, what="the report")
    report = reports(lab.dir, VM)[-1]["report"]
    assert (report["status"], report["check"]) == ("fail", "tmp")
    assert "needs 64 MiB" in report["reason"]
    # slurmd never starts, the node never registers
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        assert node_state(lab).startswith("FUTURE"), node_state(lab)
        assert not g.slurmd_running()
        time.sleep(0.5)
    assert g.proc.poll() is None, "start.sh as PID 1 must hold, not exit"
