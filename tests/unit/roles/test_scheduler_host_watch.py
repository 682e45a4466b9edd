# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The watcher of trigger watch (roles/scheduler_host/files/hpc_slurm_vm_watch.py).

Its pure parts replay Slurm 22.05 output captured in the lab (fixtures/watch/README.md): the fingerprint
of each reading, and the decision to start a run. Then the program itself runs against stand-in squeue and
sinfo (shell scripts that print files, or fail) and a stand-in run wrapper that records each start and
exits as told: a change, a failed reading, a due time, a busy lock (exit 75) and SIGTERM, in a few seconds.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.hpc.slurm_vm.tests.unit import checkout

PROGRAM = os.path.join(checkout.ROOT, "roles", "scheduler_host", "files", "hpc_slurm_vm_watch.py")
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "watch")


def _load():
    spec = importlib.util.spec_from_file_location("hpc_slurm_vm_watch", PROGRAM)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


watch = _load()


def _fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


# ---- the fingerprint, from captured output -------------------------------------------------------------

def test_vm_jobs_keep_only_the_jobs_asking_for_a_vm_gres():
    jobs = watch.parse_vm_jobs(_fixture("squeue_vm.txt"))
    assert jobs == tuple(sorted(tuple(j) for j in json.loads(_fixture("expected.json"))["vm_jobs"]))
    assert all(state in ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING") for _id, state in jobs)
    assert watch.parse_vm_jobs(_fixture("squeue_vm.txt"), gres_prefix="nothing_") == ()


def test_vm_jobs_read_several_gres_and_skip_other_jobs():
    text = "7|PENDING|gres:gpu:1,gres:vm_deb12:1\n8|RUNNING|N/A\n9|PENDING|gres:gpu:2\n10|PENDING|vm_disk:1\n"
    assert watch.parse_vm_jobs(text) == (("10", "PENDING"), ("7", "PENDING"))


def test_nodes_list_each_node_once():
    nodes = watch.parse_nodes(_fixture("sinfo_vm.txt"))
    assert nodes == tuple(sorted(tuple(n) for n in json.loads(_fixture("expected.json"))["nodes"]))
    assert len({name for name, _state in nodes}) == len(nodes)


def test_host_jobs_keep_the_hpcvm_jobs_and_the_end_only_while_running():
    jobs = watch.parse_host_jobs(_fixture("squeue_host.txt"))
    assert jobs == tuple(sorted(tuple(j) for j in json.loads(_fixture("expected.json"))["host_jobs"]))
    assert all(name.startswith("hpcvm:") for name, _id, _state, _end in jobs)
    assert all(end == "" for _name, _id, state, end in jobs if state != "RUNNING")
    assert watch.parse_host_jobs("5|RUNNING|2026-12-02T18:00:00|hpcvm:\n6|PENDING|N/A|other|x\n") == ()


@pytest.mark.parametrize("parse, text", [
    (watch.parse_vm_jobs, "12 PENDING gres:vm_deb12:1\n"),
    (watch.parse_nodes, "vm-deb12-001 idle\n"),
    (watch.parse_host_jobs, "100001|RUNNING|hpcvm:vm-deb12-001\n"),
])
def test_a_line_of_another_shape_is_an_error_not_an_empty_queue(parse, text):
    with pytest.raises(watch.Unreadable, match="unexpected line"):
        parse(text)


def test_describe_change_names_what_came_and_went():
    old = watch.Fingerprint((("1", "PENDING"),), (), ())
    new = watch.Fingerprint((("1", "RUNNING"),), (("vm-deb12-001", "allocated"),), ())
    text = watch.describe_change(old, new)
    assert text == "vm jobs -1/PENDING +1/RUNNING; nodes +vm-deb12-001/allocated"
    assert watch.describe_change(None, new) == "first reading"


# ---- the decision ----------------------------------------------------------------------------------------

FP = watch.Fingerprint((("1", "PENDING"),), (), ())
FP2 = watch.Fingerprint((("1", "RUNNING"),), (), ())


def _after_ok(fingerprint=FP, end=100.0, start_epoch=1000.0):
    state = watch.WatchState()
    assert watch.after_run(state, 0, fingerprint, start_epoch, end, 300) is None
    return state


def test_the_first_reading_starts_a_run_and_then_nothing_until_something_changes():
    state = watch.WatchState()
    assert watch.decide(state, FP, 0.0, 1000.0, None, 300) == "change: first reading"
    assert watch.decide(state, None, 0.0, 1000.0, None, 300) == "first run"
    state = _after_ok()
    assert watch.decide(state, FP, 101.0, 1001.0, None, 300) is None
    assert watch.decide(state, FP2, 101.0, 1001.0, None, 300).startswith("change: vm jobs -1/PENDING +1/RUNNING")


def test_an_unreadable_queue_is_no_change_and_starts_nothing():
    state = _after_ok()
    assert watch.decide(state, None, 101.0, 1001.0, None, 300) is None


def test_the_safety_net_starts_a_run_after_the_interval_even_when_the_queue_is_unreadable():
    state = _after_ok()
    assert watch.decide(state, FP, 399.0, 1299.0, None, 300) is None
    assert watch.decide(state, None, 400.0, 1300.0, None, 300) == "safety net: no run for 300 s"


def test_next_due_starts_one_run_when_it_comes():
    state = _after_ok(start_epoch=1000.0)
    assert watch.decide(state, FP, 110.0, 1049.0, 1050, 300) is None
    assert watch.decide(state, FP, 111.0, 1050.0, 1050, 300) == "due: next_due 1050 of the last run summary"
    assert watch.after_run(state, 0, FP, 1050.5, 113.0, 300, next_due=1050) is None
    # the summary still says 1050 (say the run could not act on it): no second run for the same time
    assert watch.decide(state, FP, 114.0, 1060.0, 1050, 300) is None
    # a due time the last start already covered starts nothing
    assert watch.decide(state, FP, 114.0, 1060.0, 1040, 300) is None


def test_exit_75_changes_nothing_so_the_same_reason_starts_the_retry():
    state = watch.WatchState()
    reason = watch.decide(state, FP, 0.0, 1000.0, None, 300)
    note = watch.after_run(state, watch.LOCK_BUSY, FP, 1000.0, 0.5, 300)
    assert "exit 75" in note
    assert watch.decide(state, FP, 1.5, 1001.0, None, 300) == reason


def test_a_failed_run_is_retried_after_a_backoff_that_doubles_up_to_the_interval():
    state = watch.WatchState()
    assert "retried in 10 s" in watch.after_run(state, 2, FP, 1000.0, 5.0, 30)
    assert watch.decide(state, FP, 14.0, 1009.0, None, 30) is None
    assert watch.decide(state, FP, 15.0, 1010.0, None, 30) == "change: first reading"
    assert "retried in 20 s" in watch.after_run(state, 2, FP, 1010.0, 16.0, 30)
    assert "retried in 30 s" in watch.after_run(state, 2, FP, 1040.0, 40.0, 30)
    assert "retried in 30 s" in watch.after_run(state, 2, FP, 1080.0, 80.0, 30)
    assert watch.after_run(state, 0, FP, 1120.0, 120.0, 30) is None
    assert state.backoff == 0.0 and watch.decide(state, FP, 121.0, 1121.0, None, 30) is None


@pytest.mark.parametrize("text, due", [
    ('{"next_due": 1764700000}', 1764700000), ('{"next_due": 17.5}', 17.5), ('{"next_due": null}', None),
    ('{"spawned": []}', None), ('{"next_due": "soon"}', None), ('{"next_due": true}', None), ("[1]", None),
    ("{not json", None),
])
def test_next_due_of_a_summary(text, due):
    assert watch.read_next_due(text) == due


# ---- the program, against stand-in Slurm commands and a stand-in wrapper ------------------------------------

STANDIN = """#!/bin/sh
# prints $SLURM_CONF.<command>, or fails like Slurm when $SLURM_CONF.fail exists
if [ -e "$SLURM_CONF.fail" ]; then echo "slurm_load_jobs error: Unable to contact slurm controller" >&2; exit 1; fi
echo "$(basename "$0") $*" >> "$SLURM_CONF.calls"
cat "$SLURM_CONF.$(basename "$0")"
"""
WRAPPER = """#!/bin/sh
# records each start; exits with the first line of $0.rc (then drops it), else 0
echo "$*" >> "$0.starts"
rc=0
if [ -s "$0.rc" ]; then rc=$(head -n1 "$0.rc"); sed -i 1d "$0.rc"; fi
exit "$rc"
"""


class Standins(object):
    def __init__(self, tmp):
        self.tmp = tmp
        self.bin = tmp / "bin"
        self.bin.mkdir()
        for name in ("squeue", "sinfo"):
            (self.bin / name).write_text(STANDIN)
            (self.bin / name).chmod(0o755)
        self.wrapper = tmp / "hpc-slurm-vm-run"
        self.wrapper.write_text(WRAPPER)
        self.wrapper.chmod(0o755)
        self.vm, self.host = tmp / "vm.conf", tmp / "host.conf"
        self.state = tmp / "state"
        self.state.mkdir()
        self.set_vm_jobs("")
        (tmp / "vm.conf.sinfo").write_text(_fixture("sinfo_vm.txt"))
        (tmp / "host.conf.squeue").write_text(_fixture("squeue_host.txt"))
        self.log = tmp / "watch.log"
        self.proc = None

    def set_vm_jobs(self, text):
        (self.tmp / "vm.conf.squeue").write_text(text)

    def starts(self):
        path = self.tmp / "hpc-slurm-vm-run.starts"
        return path.read_text().splitlines() if path.exists() else []

    def start(self, *more):
        argv = [sys.executable, PROGRAM, "--wrapper", str(self.wrapper), "--vm-slurm-conf", str(self.vm),
                "--host-slurm-conf", str(self.host), "--state-dir", str(self.state),
                "--run-log", str(self.tmp / "runs.log"), "--poll", "0.1", "--interval", "1000",
                "--host-job-user", "slurmvm"] + list(more)
        env = dict(os.environ, PATH="%s:%s" % (self.bin, os.environ["PATH"]))
        with open(str(self.log), "w") as log:
            self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)

    def wait_for(self, what, predicate, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            assert self.proc.poll() is None, "the watcher ended: %s" % self.log.read_text()
            time.sleep(0.05)
        raise AssertionError("no %s within %s s; log:\n%s" % (what, timeout, self.log.read_text()))


@pytest.fixture
def standins(tmp_path):
    standins = Standins(tmp_path)
    yield standins
    if standins.proc and standins.proc.poll() is None:
        standins.proc.kill()
        standins.proc.wait()


def test_the_watcher_starts_runs_on_change_due_time_and_busy_lock_and_stops_on_sigterm(standins):
    standins.start("--", "-e", "@vars.json")
    standins.wait_for("first run", lambda: len(standins.starts()) == 1)
    assert standins.starts() == ["scheduler -e @vars.json"]
    time.sleep(0.5)
    assert len(standins.starts()) == 1, "a run without a change"
    calls = (standins.tmp / "host.conf.calls").read_text().splitlines()
    assert calls[0] == "squeue -u slurmvm -h -a -t PENDING,RUNNING,CONFIGURING,COMPLETING -o %i|%T|%e|%j"
    # a new VM job: a run within a poll or two
    changed = time.monotonic()
    standins.set_vm_jobs(_fixture("squeue_vm.txt"))
    standins.wait_for("a run after the change", lambda: len(standins.starts()) == 2)
    assert time.monotonic() - changed < 1.0
    # the VM cluster stops answering: logged, never an empty queue, so no run
    (standins.tmp / "vm.conf.fail").write_text("")
    standins.wait_for("the error in the log", lambda: "cannot read the queue" in standins.log.read_text())
    standins.set_vm_jobs("")
    time.sleep(0.5)
    assert len(standins.starts()) == 2
    (standins.tmp / "vm.conf.fail").unlink()
    standins.wait_for("a run once it reads again (the jobs went)", lambda: len(standins.starts()) == 3)
    assert "the queue reads again" in standins.log.read_text()
    # the last run's summary names a time: one run then; the first start finds the lock taken (75)
    (standins.tmp / "hpc-slurm-vm-run.rc").write_text("75\n0\n")
    (standins.state / "summary.json").write_text(json.dumps({"next_due": int(time.time()) + 1}))
    standins.wait_for("the due run, retried after exit 75", lambda: len(standins.starts()) == 5, timeout=5)
    time.sleep(0.5)
    assert len(standins.starts()) == 5
    log = standins.log.read_text()
    assert "start a run: due: next_due" in log and "another run holds the lock (exit 75)" in log
    standins.proc.send_signal(signal.SIGTERM)
    assert standins.proc.wait(timeout=5) == 0
    assert standins.log.read_text().rstrip().endswith("stopped")


def test_sigterm_during_a_run_lets_it_end_first(standins):
    slow = standins.tmp / "slow-run"
    slow.write_text("#!/bin/sh\necho started >> \"$0.starts\"\nsleep 1\necho ended >> \"$0.starts\"\n")
    slow.chmod(0o755)
    standins.wrapper = slow
    standins.start()
    standins.wait_for("the run", (standins.tmp / "slow-run.starts").exists)
    standins.proc.send_signal(signal.SIGTERM)
    assert standins.proc.wait(timeout=10) == 0
    assert (standins.tmp / "slow-run.starts").read_text().split() == ["started", "ended"]
    assert "the run that is going ends first" in standins.log.read_text()


def test_bad_arguments_are_refused(standins):
    proc = subprocess.run([sys.executable, PROGRAM, "--wrapper", "w", "--vm-slurm-conf", "v", "--host-slurm-conf", "h",
                           "--state-dir", "s", "--run-log", "l", "--poll", "0"], capture_output=True, text=True,
                          timeout=30, check=False)
    assert proc.returncode == 2 and "must be positive" in proc.stderr


def test_once_prints_one_reading_or_fails_when_slurm_does_not_answer(standins):
    argv = [sys.executable, PROGRAM, "--wrapper", str(standins.wrapper), "--vm-slurm-conf", str(standins.vm),
            "--host-slurm-conf", str(standins.host), "--state-dir", str(standins.state), "--run-log", "/dev/null",
            "--once"]
    env = dict(os.environ, PATH="%s:%s" % (standins.bin, os.environ["PATH"]))
    standins.set_vm_jobs(_fixture("squeue_vm.txt"))
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    reading = json.loads(proc.stdout)
    assert reading["vm_jobs"] == [list(j) for j in watch.parse_vm_jobs(_fixture("squeue_vm.txt"))]
    assert reading["next_due"] is None and not standins.starts()
    (standins.tmp / "host.conf.fail").write_text("")
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 1 and "Unable to contact slurm controller" in proc.stdout
