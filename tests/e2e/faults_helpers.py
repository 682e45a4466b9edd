# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the fault tests (tests/e2e/test_faults.py): whole-lab views of what the
scheduler allocated (DNS zones by AXFR, dnsmasq hostsdir files, host jobs), the lab's
daemons stopped by their pid file, the scheduler run as a killable subprocess."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time

from .story import HOST_CONF, LAB_DIR, REPO, VM_CONF, StoryError, job, run

HOSTSDIR = os.path.join(LAB_DIR, "dnsmasq", "hosts.d")
HISTORY = os.path.join(LAB_DIR, "scheduler", "history.json")
PLAYBOOK = os.path.join(REPO, ".venv", "bin", "ansible-playbook")
ZONE = "vms.lab.test"
REVERSE_ZONE = "77.10.in-addr.arpa"


def pool(prefix, count):
    return ["%s%03d" % (prefix, index) for index in range(1, count + 1)]


DEB12 = pool("vm-deb12-", 8)
DISK = pool("vm-disk-", 4)


def axfr(zone):
    """[(owner, type, data)] of a zone (the lab allows transfers from inside the lab)."""
    proc = subprocess.run(["dig", "+noall", "+answer", "@10.77.0.1", zone, "AXFR"], capture_output=True,
                          text=True, check=False, timeout=20)
    if proc.returncode != 0 or "Transfer failed" in proc.stdout:
        raise StoryError("AXFR of %s failed: %s%s" % (zone, proc.stdout, proc.stderr))
    records = []
    for line in proc.stdout.splitlines():
        words = line.split(None, 4)
        if len(words) == 5 and words[3] not in ("SOA", "NS"):
            records.append((words[0].rstrip(".").lower(), words[3], words[4].strip('"')))
    return records


def allocations():
    """Everything the scheduler allocates per name, from the servers themselves."""
    forward = axfr(ZONE)
    reverse = axfr(REVERSE_ZONE)
    files = {}
    for name in sorted(os.listdir(HOSTSDIR)) if os.path.isdir(HOSTSDIR) else []:
        if name.startswith("hpc-slurm-vm-"):
            with open(os.path.join(HOSTSDIR, name)) as handle:
                lines = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
            files[name[len("hpc-slurm-vm-"):]] = lines[-1] if lines else ""
    jobs = run(["squeue", "-h", "-o", "%i|%j|%T"], conf=HOST_CONF).stdout.split()
    host_jobs = [line.split("|") for line in jobs if "|hpcvm:" in line]
    return {
        "a": [(owner.split(".")[0], data) for owner, rtype, data in forward if rtype == "A" and owner != "ns1." + ZONE],
        "txt": [(owner.split(".")[0], data) for owner, rtype, data in forward if rtype == "TXT"],
        "ptr": [(owner, data.rstrip(".").split(".")[0]) for owner, rtype, data in reverse if rtype == "PTR"],
        "dhcp": files,
        "host_jobs": [(name[len("hpcvm:"):], job_id, state) for job_id, name, state in host_jobs],
    }


def duplicates(values):
    seen = set()
    twice = set()
    for value in values:
        if value in seen:
            twice.add(value)
        seen.add(value)
    return sorted(twice)


def assert_no_duplicates(alloc):
    """No hostname, MAC or IP allocated twice, in any of the records."""
    problems = []
    for what, values in (
        ("A record names", [n for n, ip in alloc["a"]]),
        ("A record addresses", [ip for n, ip in alloc["a"]]),
        ("PTR addresses", [ip for ip, n in alloc["ptr"]]),
        ("PTR names", [n for ip, n in alloc["ptr"]]),
        ("DHCP MACs", [line.split(",")[0] for line in alloc["dhcp"].values()]),
        ("DHCP IPs", [line.split(",")[1] for line in alloc["dhcp"].values()]),
        ("DHCP names", [line.split(",")[-1] for line in alloc["dhcp"].values()]),
        ("host jobs per name", [n for n, job_id, state in alloc["host_jobs"]]),
    ):
        twice = duplicates(values)
        if twice:
            problems.append("%s allocated twice: %s" % (what, twice))
    for name, line in alloc["dhcp"].items():
        if line.split(",")[-1] != name:
            problems.append("DHCP file of %s names %s" % (name, line))
    assert problems == [], "%s\n%s" % (problems, json.dumps(alloc, indent=1))


def user_jobs(prefix):
    out = run(["squeue", "-h", "-o", "%i|%j"], conf=VM_CONF).stdout.split()
    return [line.split("|")[0] for line in out if line.split("|", 1)[1].startswith(prefix)]


def clean_up(story, prefix, names, timeout=240):
    """Cancel the test's user jobs, then run the scheduler until no trace of `names` is left."""
    for job_id in user_jobs(prefix):
        run(["scancel", job_id], check=False)

    def clean():
        return not user_jobs(prefix) and all(story.traces(vm) == [] for vm in names)
    story.wait("no trace left of %s" % sorted(names), clean, timeout=timeout, every=4)
    for vm in sorted(names):
        assert story.traces(vm) == []
    assert user_jobs(prefix) == []


UNFINISHED = ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED")


def job_finished(job_id, each=None):
    """A predicate for Story.wait: the job's fields once it has finished (story.job fails on a job
    slurmctld does not know); `each(fields)` runs at every poll, for checks along the way."""
    def check():
        fields = job(job_id)
        if each is not None:
            each(fields)
        return fields if fields["JobState"] not in UNFINISHED else None
    return check


def sbatch(name, *args, wrap="hostname"):
    return run(["sbatch", "--parsable", "--chdir=/", "-J", name, "-t", "5"] + list(args)
               + ["--wrap", wrap]).stdout.strip().split(";")[0]


def pid_of(pid_file):
    try:
        with open(pid_file) as handle:
            return int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def stop_daemon(pid_file, timeout=15):
    """Stop a lab daemon by the pid in its pid file (lab/up starts it again)."""
    pid = pid_of(pid_file)
    if pid is None or not alive(pid):
        raise StoryError("no live daemon behind %s" % pid_file)
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + timeout
    while alive(pid):
        if time.time() > deadline:
            os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.1)
    return pid


def host_netns():
    """The network namespace lab/exec was started from: that of the nearest ancestor outside the lab."""
    mine = os.stat("/proc/self/ns/net").st_ino
    pid = os.getppid()
    while pid > 1:
        path = "/proc/%d/ns/net" % pid
        if os.stat(path).st_ino != mine:
            return path
        with open("/proc/%d/stat" % pid) as handle:
            pid = int(handle.read().split(") ", 1)[1].split()[1])
    raise StoryError("no ancestor outside the lab's network namespace")


def lab_up():
    """lab/up from the host network namespace (inside the lab, its unreachable route would cut the bridge off)."""
    proc = subprocess.run(["nsenter", "--net=" + host_netns(), os.path.join(REPO, "lab", "up")], capture_output=True,
                          text=True, check=False, timeout=300)
    if proc.returncode != 0:
        raise StoryError("lab/up failed: %s%s" % (proc.stdout[-2000:], proc.stderr[-2000:]))


def playbook(name, extra_vars_file, *more):
    """A playbook run started as its own process group (so a SIGKILL takes its workers too)."""
    argv = [PLAYBOOK, "-i", "inventories/lab", "-i", "inventories/lab_demand", "playbooks/" + name,
            "-e", "@" + extra_vars_file] + list(more)
    return subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True,
                            env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_DISPLAY_SKIPPED_HOSTS="0"))


def gc(extra_vars_file, grace=0):
    proc = playbook("gc.yml", extra_vars_file, "-e", "slurm_vm_reconcile_grace=%d" % grace)
    output = proc.communicate(timeout=300)[0]
    if proc.returncode != 0:
        raise StoryError("gc.yml failed (rc %d):\n%s" % (proc.returncode, output[-6000:]))
    return output


def kill_group(proc):
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


class HistoryKept(object):
    """Keeps the failure history as it was (a test that fails boots on purpose must not put the
    image into backoff for later runs)."""

    def __init__(self):
        self.saved = HISTORY + ".before-faults"
        self.had = False

    def __enter__(self):
        self.had = os.path.exists(HISTORY)
        if self.had:
            shutil.copy(HISTORY, self.saved)
        return self

    def __exit__(self, *exc):
        if self.had:
            shutil.move(self.saved, HISTORY)
        elif os.path.exists(HISTORY):
            os.unlink(HISTORY)
        return False
