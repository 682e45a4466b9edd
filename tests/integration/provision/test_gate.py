# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The readiness gate script itself: failing checks stop it (reason on the console
and sent to the provisioning server); passing checks exec the command."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import time
import uuid

import pytest

from .helpers import GATE, PORT, VM, VM_IP, ClientNamespace, manifest_tokens, reports, sh


def write_conf(folder, **settings):
    base = dict(GATE_MOUNTS="/", GATE_TMP_DIR=folder, GATE_TMP_MIN_FREE_MB="1", GATE_MUNGE_SOCKET="",
                GATE_HOSTNAME="", GATE_ATTEMPTS="1", GATE_RETRY_DELAY="0", GATE_REPORT_URL="", GATE_CONSOLE="")
    base.update(settings)
    path = os.path.join(folder, "gate-%s.conf" % uuid.uuid4().hex[:6])
    with open(path, "w") as handle:
        for key, value in base.items():
            handle.write("%s='%s'\n" % (key, value))
    return path


def run_gate(conf, command=(), ns=None, env=None):
    argv = ["sh", GATE, conf] + (["--"] + list(command) if command else [])
    if ns is not None:
        return ns.run(argv, env=env)
    return sh(argv, check=False, env=env)


@pytest.fixture
def folder(lab):
    return lab.scratch("bp-gate")


@pytest.mark.parametrize("case,settings,check,reason", [
    ("mount missing", dict(GATE_MOUNTS="/ /hpcvm-no-such-mount"), "mounts", "/hpcvm-no-such-mount is not mounted"),
    ("tmp too small", dict(GATE_TMP_MIN_FREE_MB="99999999"), "tmp", "MiB free, needs 99999999 MiB"),
    ("tmp missing", dict(GATE_TMP_DIR="/hpcvm-no-such-dir"), "tmp", "/hpcvm-no-such-dir does not exist"),
    ("munge down", dict(GATE_MUNGE_SOCKET="/nonexistent/munge.socket"), "munge", "munge encode/decode via"),
    ("clock behind", dict(GATE_CLOCK_MIN_EPOCH=str(int(time.time()) + 86400)), "clock", "clock not sane"),
    ("clock ahead", dict(GATE_CLOCK_MAX_EPOCH=str(int(time.time()) - 86400)), "clock", "clock not sane"),
    ("wrong hostname", dict(GATE_HOSTNAME="vm-elsewhere-001"), "hostname", "expected 'vm-elsewhere-001'"),
])
def test_failing_check_stops_the_gate(folder, case, settings, check, reason):
    marker = os.path.join(folder, "ran")
    proc = run_gate(write_conf(folder, **settings), ["touch", marker])
    assert proc.returncode == 1, case
    assert "HPCVM-GATE-FAIL" in proc.stderr and "check=%s " % check in proc.stderr
    assert reason in proc.stderr
    assert not os.path.exists(marker), "the command ran although the gate failed"


def test_custom_check_reason_is_its_last_output_line(folder):
    checks = os.path.join(folder, "checks")
    os.makedirs(checks)
    with open(os.path.join(checks, "10-ok"), "w") as handle:
        handle.write("echo fine\n")
    with open(os.path.join(checks, "20-gpu"), "w") as handle:
        handle.write("echo probing\necho 'no GPU visible'\nexit 3\n")
    proc = run_gate(write_conf(folder, GATE_CHECKS_DIR=checks), ["true"])
    assert proc.returncode == 1
    assert "check=custom:20-gpu" in proc.stderr and "reason=rc 3: no GPU visible" in proc.stderr


def test_retries_then_gives_up(folder):
    proc = run_gate(write_conf(folder, GATE_MOUNTS="/hpcvm-nope", GATE_ATTEMPTS="3"), ["true"])
    assert proc.returncode == 1
    assert [line.split("attempt=")[1].split()[0] for line in proc.stderr.splitlines() if "GATE-FAIL" in line] == \
        ["1/3", "2/3", "3/3"]


def test_munge_round_trip_against_the_vm_clusters_munged(lab, folder):
    socket = os.path.join(lab.dir, "run", "munge-vm", "munge.socket")
    proc = run_gate(write_conf(folder, GATE_MUNGE_SOCKET=socket), ["echo", "slurmd-would-start"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "slurmd-would-start"


def test_passing_gate_execs_the_command(folder):
    conf = write_conf(folder)
    # exec, not fork: the command keeps the gate's PID and its exit code comes through
    proc = subprocess.Popen(["sh", GATE, conf, "--", "sh", "-c", "echo pid=$$; exit 7"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 7
    assert out.strip() == "pid=%d" % proc.pid
    assert "HPCVM-GATE-PASS" in err


def test_bad_usage_exits_2(folder):
    assert sh(["sh", GATE], check=False).returncode == 2
    assert sh(["sh", GATE, os.path.join(folder, "missing.conf")], check=False).returncode == 2
    assert sh(["sh", GATE, write_conf(folder), "slurmd"], check=False).returncode == 2


def test_failure_is_reported_to_the_provisioning_server(lab, folder):
    token = manifest_tokens(lab.dir)[VM]
    url = "http://%s:%d/report/%s" % (lab.gateway, PORT, VM)
    mount = "/hpcvm-missing-%s" % uuid.uuid4().hex[:8]
    conf = write_conf(folder, GATE_MOUNTS=mount, GATE_REPORT_URL=url, GATE_TOKEN=token, GATE_IMAGE="disk")
    before = len(reports(lab.dir, VM))
    with ClientNamespace("hpcvm-bp-gate", VM_IP, lab.env["LAB_BRIDGE"]) as ns:
        proc = run_gate(conf, ["true"], ns=ns)
    assert proc.returncode == 1
    assert "could not send" not in proc.stderr
    entries = reports(lab.dir, VM)
    assert len(entries) == before + 1
    report = entries[-1]["report"]
    assert (report["status"], report["check"], report["image"]) == ("fail", "mounts", "disk")
    assert report["reason"] == "%s is not mounted" % mount


def test_report_from_a_wrong_address_is_refused_and_said_so(lab, folder):
    token = manifest_tokens(lab.dir)[VM]
    url = "http://%s:%d/report/%s" % (lab.gateway, PORT, VM)
    before = len(reports(lab.dir, VM))
    # from the gateway (10.77.0.1), not from the VM's reserved IP
    proc = run_gate(write_conf(folder, GATE_MOUNTS="/hpcvm-nope", GATE_REPORT_URL=url, GATE_TOKEN=token), ["true"])
    assert proc.returncode == 1
    assert "HPCVM-GATE-WARN" in proc.stderr and "could not send the report" in proc.stderr
    assert len(reports(lab.dir, VM)) == before


def test_gate_runs_under_busybox_sh(folder):
    busybox = "/bin/busybox" if os.path.exists("/bin/busybox") else None
    if busybox is None:
        pytest.skip("busybox is not installed")
    proc = sh([busybox, "sh", GATE, write_conf(folder, GATE_MOUNTS="/hpcvm-nope"), "--", "true"], check=False)
    assert proc.returncode == 1 and "/hpcvm-nope is not mounted" in proc.stderr
    proc = sh([busybox, "sh", GATE, write_conf(folder), "--", "echo", "ok"], check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok"
