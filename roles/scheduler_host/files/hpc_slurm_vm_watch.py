# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""hpc-slurm-vm-watch: start a scheduler run within about a second of a change in the queue.

Installed by role hpc.slurm_vm.scheduler_host (scheduler_host_trigger: watch) and run by the
systemd service hpc-slurm-vm-watch.service (Restart=always). Python 3 standard library only.

Every --poll seconds (default 1) it reads a fingerprint of demand and supply with three Slurm
commands, each an argv list with SLURM_CONF of its cluster:

- VM cluster: squeue of the pending and running jobs; only those whose GRES names --gres-prefix
  (vm_) count, by id and state;
- VM cluster: sinfo, every listed node and its state (FUTURE nodes are hidden from sinfo: a pool
  node appears when its VM registers and disappears when it returns to the pool);
- host cluster: squeue of the host jobs (name hpcvm:<host>), by name, id, state and, while they run,
  end time (a lowered time limit moves it). --host-job-user restricts that squeue to the user who
  submits them (slurmctld then sends only that user's jobs).

It starts the run wrapper (`hpc-slurm-vm-run scheduler [ARGS after --]`, which takes the runs' lock)
when:

- the fingerprint differs from the one read before the last run started (a change during a run
  therefore starts another run as soon as it ends: nothing is lost);
- the `next_due` epoch second of the last run summary (summary.json in --state-dir, written by the
  scheduler: the next idle timeout, lifetime drain or boot timeout) has come since the last start;
- --interval seconds have passed since the last run ended (the safety net).

Exit 75 of the wrapper (another run holds the lock) changes nothing here: the same reason holds at
the next poll, so the run is retried until one starts. A failed run is retried after a backoff
(10 s doubling up to --interval). A Slurm command that fails is logged and read again at the next
poll: it is never taken for an empty queue. SIGTERM: no new run; a run that is going ends first
(a second SIGTERM stops it). The runs' output is appended to --run-log.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections import namedtuple

HOST_JOB_PREFIX = "hpcvm:"  # plugins/module_utils/common/marks.py HOST_JOB_PREFIX
SUMMARY_FILE = "summary.json"  # plugins/module_utils/scheduler/run_report.py
JOB_STATES = "PENDING,RUNNING,CONFIGURING,COMPLETING"
VM_JOBS_ARGV = ["squeue", "-h", "-a", "-t", JOB_STATES, "-o", "%i|%T|%b"]
NODES_ARGV = ["sinfo", "-h", "-N", "-o", "%N|%T"]
# the name last: it is free text and may hold the separator
HOST_JOBS_ARGV = ["squeue", "-h", "-a", "-t", JOB_STATES, "-o", "%i|%T|%e|%j"]
LOCK_BUSY = 75
FIRST_BACKOFF = 10.0
COMMAND_TIMEOUT = 30

Fingerprint = namedtuple("Fingerprint", "vm_jobs nodes host_jobs")


class SlurmError(Exception):
    """A Slurm command failed or printed what it should not: the fingerprint is unknown."""


class Unreadable(SlurmError):
    pass


def _fields(line, count, what):
    parts = line.split("|", count - 1)
    if len(parts) != count:
        raise Unreadable("%s: unexpected line %r" % (what, line))
    return [part.strip() for part in parts]


def parse_vm_jobs(text, gres_prefix="vm_"):
    """squeue -o '%i|%T|%b' of the VM cluster -> sorted ((job id, state), ...) of the jobs whose GRES
    (22.05: 'gres:vm_deb12:1', several comma-separated) names one starting with gres_prefix."""
    jobs = set()
    for line in text.splitlines():
        if not line.strip():
            continue
        job_id, state, gres = _fields(line, 3, "squeue (VM cluster)")
        names = [item.split(":")[1] if item.startswith("gres:") else item.split(":")[0]
                 for item in gres.split(",") if item]
        if any(name.startswith(gres_prefix) for name in names):
            jobs.add((job_id, state))
    return tuple(sorted(jobs))


def parse_nodes(text):
    """sinfo -N -o '%N|%T' -> sorted ((node, state), ...), each node once (-N lists it per partition)."""
    nodes = set()
    for line in text.splitlines():
        if line.strip():
            nodes.add(tuple(_fields(line, 2, "sinfo (VM cluster)")))
    return tuple(sorted(nodes))


def parse_host_jobs(text, prefix=HOST_JOB_PREFIX):
    """squeue -o '%i|%T|%e|%j' of the host cluster -> sorted ((name, job id, state, end), ...) of the host
    jobs (name prefix + VM host). end only while the job runs: a pending job's end is an estimate that
    moves with every backfill pass, a running one's moves only when its time limit changes."""
    jobs = set()
    for line in text.splitlines():
        if not line.strip():
            continue
        job_id, state, end, name = _fields(line, 4, "squeue (host cluster)")
        if name.startswith(prefix) and len(name) > len(prefix):
            jobs.add((name, job_id, state, end if state == "RUNNING" else ""))
    return tuple(sorted(jobs))


def describe_change(old, new):
    """A short text of what differs between two fingerprints, for the log."""
    if old is None:
        return "first reading"
    parts = []
    for label, before, after in (("vm jobs", old.vm_jobs, new.vm_jobs), ("nodes", old.nodes, new.nodes),
                                 ("host jobs", old.host_jobs, new.host_jobs)):
        gone = [item for item in before if item not in after]
        came = [item for item in after if item not in before]
        if gone or came:
            shown = ["-" + "/".join(i) for i in gone[:3]] + ["+" + "/".join(i) for i in came[:3]]
            more = len(gone) + len(came) - len(shown)
            parts.append("%s %s%s" % (label, " ".join(shown), " (+%d more)" % more if more > 0 else ""))
    return "; ".join(parts) or "no difference"


class WatchState(object):
    """What the decision needs to remember between polls."""

    def __init__(self):
        self.seen = None             # fingerprint read before the last run that ended (0 or failed)
        self.last_end = None         # monotonic time that run ended
        self.last_start_epoch = 0.0  # epoch time the last run started (exit 75 is no start)
        self.not_before = 0.0        # monotonic: no run before this (backoff after a failed run)
        self.backoff = 0.0
        self.due_started = None      # the next_due that last started a run (each value starts one run)


def decide(state, fingerprint, now, now_epoch, next_due, interval):
    """Why a run must start now, or None. Pure. fingerprint None: the queue could not be read (no
    change is assumed; due and safety-net runs still start)."""
    if now < state.not_before:
        return None
    if fingerprint is not None and fingerprint != state.seen:
        return "change: " + describe_change(state.seen, fingerprint)
    if next_due is not None and now_epoch >= next_due > state.last_start_epoch and next_due != state.due_started:
        return "due: next_due %d of the last run summary" % next_due
    if state.last_end is None or now - state.last_end >= interval:
        return "safety net: no run for %d s" % interval if state.last_end is not None else "first run"
    return None


def after_run(state, rc, fingerprint, started_epoch, now, interval, next_due=None):
    """Update state after the wrapper ended with rc (next_due: the one the decision saw); returns what to log."""
    if rc == LOCK_BUSY:
        return "another run holds the lock (exit 75): retried at the next poll"
    state.last_end = now
    state.last_start_epoch = started_epoch
    if next_due is not None and started_epoch >= next_due:
        state.due_started = next_due
    if rc == 0:
        state.seen, state.backoff, state.not_before = fingerprint, 0.0, 0.0
        return None
    # the change that started it is kept unseen, so it starts the retry
    state.backoff = min(max(state.backoff * 2, FIRST_BACKOFF), max(float(interval), FIRST_BACKOFF))
    state.not_before = now + state.backoff
    return "the run failed (exit %s): retried in %d s" % (rc, state.backoff)


def read_next_due(text):
    """next_due (epoch seconds) of a run summary's JSON text, or None (absent, null or not a number)."""
    try:
        value = json.loads(text).get("next_due")
    except (ValueError, AttributeError):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


class Watcher(object):
    def __init__(self, args, log=None):
        self.args = args
        self.log = log or self._print
        self.state = WatchState()
        self.stopping = 0
        self.run_proc = None
        self.in_run = False
        self.summary_stamp = None
        self.next_due = None
        self.errors = {}

    @staticmethod
    def _print(text):
        now = time.time()
        print("%s.%03d %s" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now)), int(now * 1000) % 1000, text),
              flush=True)

    def slurm(self, argv, conf):
        env = dict(os.environ, SLURM_CONF=conf, LC_ALL="C")
        try:
            # Python 3.6 (EL 8) has neither capture_output nor text
            proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,  # noqa: S603,UP022
                                  universal_newlines=True, timeout=COMMAND_TIMEOUT, check=False)  # noqa: UP021
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SlurmError("%s: %s" % (" ".join(argv), error)) from None
        if proc.returncode != 0:
            raise SlurmError("%s (SLURM_CONF=%s) failed (rc %d): %s" % (
                " ".join(argv), conf, proc.returncode, (proc.stderr or proc.stdout).strip()[-300:]))
        return proc.stdout

    def host_jobs_argv(self):
        argv = list(HOST_JOBS_ARGV)
        if self.args.host_job_user:
            argv[1:1] = ["-u", self.args.host_job_user]
        return argv

    def fingerprint(self):
        """The fingerprint, or None when a command failed (logged once per distinct error, and when it heals)."""
        try:
            result = Fingerprint(
                parse_vm_jobs(self.slurm(VM_JOBS_ARGV, self.args.vm_slurm_conf), self.args.gres_prefix),
                parse_nodes(self.slurm(NODES_ARGV, self.args.vm_slurm_conf)),
                parse_host_jobs(self.slurm(self.host_jobs_argv(), self.args.host_slurm_conf)))
        except SlurmError as error:
            text = str(error)
            self.errors[text] = self.errors.get(text, 0) + 1
            if self.errors[text] == 1 or self.errors[text] % 60 == 0:
                self.log("cannot read the queue (%d time(s)), read again at the next poll: %s"
                         % (self.errors[text], text))
            return None
        if self.errors:
            self.log("the queue reads again after %d failed poll(s)" % sum(self.errors.values()))
            self.errors = {}
        return result

    def read_summary(self):
        path = os.path.join(self.args.state_dir, SUMMARY_FILE)
        try:
            info = os.stat(path)
        except OSError:
            self.summary_stamp, self.next_due = None, None
            return None
        stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        if stamp != self.summary_stamp:
            try:
                with open(path) as handle:
                    self.next_due = read_next_due(handle.read())
            except OSError as error:
                self.log("cannot read %s: %s" % (path, error))
                self.next_due = None
            self.summary_stamp = stamp
        return self.next_due

    def run(self, reason):
        argv = [self.args.wrapper, "scheduler"] + self.args.run_args
        started = time.monotonic()
        self.in_run = True
        with open(self.args.run_log, "a") as output:
            self.run_proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=output,  # noqa: S603 - argv list
                                             stderr=subprocess.STDOUT, start_new_session=True)
            try:
                rc = self.run_proc.wait(timeout=self.args.run_timeout)
            except subprocess.TimeoutExpired:
                self.log("the run took over %d s: stopping it" % self.args.run_timeout)
                self.kill_run()
                rc = self.run_proc.wait()
            finally:
                self.run_proc, self.in_run = None, False
        if rc != LOCK_BUSY or self.args.verbose:
            self.log("run (%s): exit %s after %.1f s" % (reason, rc, time.monotonic() - started))
        return rc

    def kill_run(self):
        proc = self.run_proc
        if proc is None or proc.poll() is not None:
            return
        for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 0)):
            try:
                os.killpg(proc.pid, sig)
            except OSError:
                return
            deadline = time.monotonic() + grace
            while grace and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
            if proc.poll() is not None:
                return

    def on_signal(self, _signum, _frame):
        self.stopping += 1
        if self.stopping == 1:
            self.log("stopping%s" % (": the run that is going ends first" if self.in_run else ""))
        else:
            self.kill_run()

    def loop(self):
        busy_logged = False
        while not self.stopping:
            fingerprint = self.fingerprint()
            next_due = self.read_summary()
            reason = decide(self.state, fingerprint, time.monotonic(), time.time(), next_due, self.args.interval)
            if reason:
                if not busy_logged or self.args.verbose:
                    self.log("start a run: %s" % reason)
                started_epoch = time.time()
                rc = self.run(reason)
                note = after_run(self.state, rc, fingerprint, started_epoch, time.monotonic(), self.args.interval,
                                 next_due)
                if note and not (rc == LOCK_BUSY and busy_logged):
                    self.log(note)
                busy_logged = rc == LOCK_BUSY
                if rc != LOCK_BUSY:
                    continue  # read again at once: a change during the run starts the next one
            self.sleep(self.args.poll)
        self.log("stopped")

    def sleep(self, seconds):
        end = time.monotonic() + seconds
        while not self.stopping:
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.5))


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="hpc-slurm-vm-watch", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--wrapper", required=True, help="the run wrapper (hpc-slurm-vm-run)")
    parser.add_argument("--vm-slurm-conf", required=True, help="SLURM_CONF of the VM cluster")
    parser.add_argument("--host-slurm-conf", required=True, help="SLURM_CONF of the host cluster")
    parser.add_argument("--state-dir", required=True, help="the scheduler's state folder (summary.json)")
    parser.add_argument("--run-log", required=True, help="the runs' output is appended here")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between two readings (default 1)")
    parser.add_argument("--interval", type=int, default=300, help="at most this many seconds without a run")
    parser.add_argument("--run-timeout", type=int, default=900, help="a run is stopped after this many seconds")
    parser.add_argument("--gres-prefix", default="vm_", help="VM jobs ask for a GRES starting with this")
    parser.add_argument("--host-job-user", default="", help="the user who submits the host jobs (squeue -u)")
    parser.add_argument("--verbose", action="store_true", help="also log every retry after exit 75")
    parser.add_argument("--once", action="store_true", help="print one reading as JSON and exit (1: unreadable)")
    parser.add_argument("run_args", nargs="*", help="after --: more arguments for the wrapper (ansible-playbook)")
    args = parser.parse_args(argv)
    if args.poll <= 0 or args.interval <= 0 or args.run_timeout <= 0:
        parser.error("--poll, --interval and --run-timeout must be positive")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    watcher = Watcher(args)
    if args.once:
        fingerprint = watcher.fingerprint()
        if fingerprint is None:
            return 1
        print(json.dumps(dict(fingerprint._asdict(), next_due=watcher.read_summary()), sort_keys=True))
        return 0
    signal.signal(signal.SIGTERM, watcher.on_signal)
    signal.signal(signal.SIGINT, watcher.on_signal)
    watcher.log("watching (poll %s s, safety net %d s): VM cluster %s, host cluster %s, runs: %s scheduler %s"
                % (args.poll, args.interval, args.vm_slurm_conf, args.host_slurm_conf, args.wrapper,
                   " ".join(args.run_args)))
    watcher.loop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
