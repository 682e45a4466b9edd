# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scheduler trigger `watch` in the lab, for tests/e2e/test_trigger.py and tests/bench/trigger_*_bench.py.

Watch starts the watcher with lab/watch (the ExecStart of the unit role scheduler_host rendered, with the
story's extra variables for every run), stops it by its PID, and reads its log: when each run started, why,
and when it ended. Only these tests and benchmarks run it: the others start their runs by hand.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import subprocess
import time

from .story import HOST_CONF, LAB_DIR, REPO, StoryError, run

LAB_WATCH = os.path.join(REPO, "lab", "watch")
UNIT = os.environ.get("HPCVM_LAB_WATCH_UNIT", os.path.join(LAB_DIR, "etc", "systemd", "hpc-slurm-vm-watch.service"))
PID_FILE = os.path.join(LAB_DIR, "run", "watch.pid")
LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3}) (.*)$")
START = re.compile(r"^start a run: (.*)$")
END = re.compile(r"^run \((.*)\): exit (-?\d+) after ([\d.]+) s$")


def unit_value(key):
    with open(UNIT) as handle:
        for line in handle:
            if line.startswith(key + "="):
                return line.rstrip("\n")[len(key) + 1:]
    raise StoryError("%s has no %s=" % (UNIT, key))


def log_path():
    value = unit_value("StandardOutput")
    if not value.startswith("append:"):
        raise StoryError("%s: StandardOutput=%s is not append:FILE" % (UNIT, value))
    return value[len("append:"):]


def parse_log(text):
    """[(epoch seconds, message)] of the watcher's log lines."""
    out = []
    for line in text.splitlines():
        found = LINE.match(line)
        if found:
            stamp = time.mktime(time.strptime(found.group(1), "%Y-%m-%dT%H:%M:%S")) + int(found.group(2)) / 1000.0
            out.append((stamp, found.group(3)))
    return out


def runs_in(entries):
    """[{start, reason, end, rc}] of the runs in parsed log entries (end and rc None while one goes)."""
    runs = []
    for stamp, message in entries:
        started = START.match(message)
        ended = END.match(message)
        if started:
            runs.append(dict(start=stamp, reason=started.group(1), end=None, rc=None))
        elif ended and runs and runs[-1]["end"] is None:
            runs[-1].update(end=stamp, rc=int(ended.group(2)))
    return runs


class Watch(object):
    """The lab's watcher, started with `extra_vars` (a JSON file) for every run it starts."""

    def __init__(self, extra_vars=None):
        if not os.path.exists(UNIT):
            raise StoryError("no %s: the lab's scheduler host needs scheduler_host_trigger: watch "
                             "(inventories/lab/group_vars/scheduler.yml), then lab/up" % UNIT)
        self.extra_vars = extra_vars
        self.log = log_path()
        self.offset = 0
        self.pid = None

    def start(self):
        if os.path.exists(PID_FILE):
            raise StoryError("a watcher already runs (%s): lab/watch stop" % PID_FILE)
        self.offset = os.path.getsize(self.log) if os.path.exists(self.log) else 0
        argv = [LAB_WATCH, "start"] + (["-e", "@" + self.extra_vars] if self.extra_vars else [])
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode != 0:
            raise StoryError("lab/watch start failed: %s%s" % (proc.stdout, proc.stderr))
        with open(PID_FILE) as handle:
            self.pid = int(handle.read().strip())
        return self.pid

    def stop(self):
        """Stops it by PID (lab/watch stop) and checks it is gone; returns the seconds the stop took."""
        started = time.time()
        proc = subprocess.run([LAB_WATCH, "stop"], capture_output=True, text=True, timeout=300, check=False)
        if proc.returncode != 0:
            raise StoryError("lab/watch stop failed: %s%s" % (proc.stdout, proc.stderr))
        if self.pid and alive(self.pid):
            raise StoryError("the watcher (pid %d) still runs after lab/watch stop" % self.pid)
        if os.path.exists(PID_FILE):
            raise StoryError("lab/watch stop left %s" % PID_FILE)
        return time.time() - started

    def entries(self):
        with open(self.log) as handle:
            handle.seek(self.offset)
            return parse_log(handle.read())

    def runs(self):
        return runs_in(self.entries())

    def wait_idle(self, timeout=300):
        """Until the runs it started have ended and the last ended `quiet` seconds ago (its first run at
        start, and any it started for changes left by earlier tests)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.pid and not alive(self.pid):
                raise StoryError("the watcher (pid %d) ended:\n%s" % (self.pid, self.tail()))
            runs = self.runs()
            if runs and runs[-1]["end"] is not None and time.time() - runs[-1]["end"] > 3:
                return runs
            time.sleep(0.5)
        raise StoryError("the watcher's runs did not settle within %d s:\n%s" % (timeout, self.tail()))

    def tail(self, lines=30):
        with open(self.log) as handle:
            handle.seek(self.offset)
            return "\n".join(handle.read().splitlines()[-lines:])


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def host_jobs():
    """The lab's live host jobs (hpcvm:*) as 'name state' lines; fails when the host cluster does not answer."""
    text = run(["squeue", "-h", "-o", "%j %T"], conf=HOST_CONF).stdout
    return [line for line in text.splitlines() if line.startswith("hpcvm:")]


def sbatch_vm_job(image_gres="vm_deb12", name="trigger", command="hostname"):
    """(job id, epoch second of the submit) of a one-node VM job."""
    submitted = time.time()
    out = run(["sbatch", "--parsable", "--chdir=/", "--gres=%s:1" % image_gres, "-t", "5", "-J", name,
               "--wrap", command]).stdout
    return out.strip().split(";")[0], submitted


def wait_running(job_id, timeout=240, every=0.1):
    """(epoch second it was first seen RUNNING or later, node list); polls squeue every `every` s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = run(["squeue", "-h", "-j", job_id, "-o", "%T|%N"], check=False).stdout.strip()
        state, _sep, nodes = line.partition("|")
        if state in ("RUNNING", "COMPLETING"):
            return time.time(), nodes
        if not line:  # ended between two polls: its record says where it ran
            fields = run(["scontrol", "-o", "show", "job", job_id]).stdout
            node = re.search(r"\bNodeList=(\S+)", fields)
            if "JobState=COMPLETED" in fields and node:
                return time.time(), node.group(1)
            raise StoryError("job %s left the queue without running: %s" % (job_id, fields))
        time.sleep(every)
    raise StoryError("job %s not RUNNING within %d s" % (job_id, timeout))
