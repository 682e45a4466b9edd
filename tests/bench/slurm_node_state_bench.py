# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark slurm_node_state on 1,000 nodes (targets: < 3 s all change, < 1 s none change).

Leaves the lab's clusters alone: starts a throwaway slurmctld of its own (ClusterName
bench, SlurmctldPort 7017, 1,000 State=FUTURE nodes, state under
/tmp/hpcvm-lab/bench-slurm, the VM cluster's munge socket) inside the lab's network
namespace, times the module, then stops that slurmctld by its PID.

    .venv/bin/python tests/bench/slurm_node_state_bench.py [N]   (re-enters the lab netns itself)

Every step runs N times (default 3, see benchstats.py); the targets apply to the module time's median.

"Module time" is the module process alone (python -m ...slurm_node_state ARGS.json,
as Ansible runs it on the target). The ansible-playbook wall time adds Ansible's
fixed cost (about 1.5 s for a one-task play on this machine).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import benchstats

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB_DIR = "/tmp/hpcvm-lab"
NETNS = "/run/netns/hpcvm-lab"
BENCH = os.path.join(LAB_DIR, "bench-slurm")
CONF = os.path.join(BENCH, "slurm.conf")
PIDFILE = os.path.join(BENCH, "slurmctld.pid")
PYTHON = os.path.join(REPO, ".venv", "bin", "python")
PLAYBOOK = os.path.join(REPO, ".venv", "bin", "ansible-playbook")
COUNT = 1000
NODES = "bench-[0001-%04d]" % COUNT
PORT = 7017


def in_lab():
    return os.path.exists(NETNS) and os.stat("/proc/self/ns/net").st_ino == os.stat(NETNS).st_ino


def write_conf():
    if os.path.exists(BENCH):
        shutil.rmtree(BENCH)
    for sub in ("state", "log", "spool"):
        os.makedirs(os.path.join(BENCH, sub))
    host = socket.gethostname().split(".")[0]
    lines = [
        "ClusterName=bench",
        "SlurmctldHost=%s(10.77.0.1)" % host,
        "SlurmctldPort=%d" % PORT,
        "SlurmdPort=%d" % (PORT + 1),
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        "AuthInfo=socket=%s/run/munge-vm/munge.socket" % LAB_DIR,
        "StateSaveLocation=%s/state" % BENCH,
        "SlurmdSpoolDir=%s/spool/%%n" % BENCH,
        "SlurmctldPidFile=%s" % PIDFILE,
        "SlurmctldLogFile=%s/log/slurmctld.log" % BENCH,
        "SlurmctldDebug=error",
        "MailProg=/bin/true",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core_Memory",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/none",
        "MpiDefault=none",
        "ReturnToService=1",
        "SlurmdTimeout=300",
        "NodeName=%s CPUs=1 RealMemory=100 State=FUTURE" % NODES,
        "PartitionName=bench Nodes=%s MaxTime=1:00:00 State=UP Default=YES" % NODES,
    ]
    with open(CONF, "w") as handle:
        handle.write("\n".join(lines) + "\n")


def scontrol(*args):
    env = dict(os.environ, SLURM_CONF=CONF, LC_ALL="C")
    return subprocess.run(["scontrol"] + list(args), env=env, capture_output=True, text=True, check=False)


def start_slurmctld():
    env = dict(os.environ, SLURM_CONF=CONF)
    subprocess.run(["slurmctld", "-i", "-f", CONF], env=env, check=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if scontrol("ping").stdout.find("is UP") >= 0:
            with open(PIDFILE) as handle:
                return int(handle.read().strip())
        time.sleep(0.1)
    raise SystemExit("bench slurmctld did not answer; see %s/log/slurmctld.log" % BENCH)


def stop_slurmctld(pid):
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def run_module(args):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
        path = handle.name
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, ".cache", "collections"))
    try:
        started = time.monotonic()
        proc = subprocess.run([PYTHON, "-m", "ansible_collections.hpc.slurm_vm.plugins.modules.slurm_node_state",
                               path], env=env, capture_output=True, text=True, check=False)
        elapsed = time.monotonic() - started
    finally:
        os.unlink(path)
    result = json.loads(proc.stdout)
    if result.get("failed"):
        raise SystemExit("module failed: %s" % result.get("msg"))
    return elapsed, result


def run_playbook(args):
    play = [dict(name="bench", hosts="localhost", gather_facts=False,
                 tasks=[{"name": "slurm_node_state on %d nodes" % COUNT, "hpc.slurm_vm.slurm_node_state": args}])]
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        json.dump(play, handle)
        path = handle.name
    try:
        started = time.monotonic()
        proc = subprocess.run([PLAYBOOK, path], cwd=REPO, capture_output=True, text=True, check=False)
        elapsed = time.monotonic() - started
    finally:
        os.unlink(path)
    if proc.returncode != 0:
        raise SystemExit("ansible-playbook failed:\n%s" % proc.stdout[-2000:])
    return elapsed, "changed=1" in proc.stdout


def timed(argv, env=None):
    started = time.monotonic()
    subprocess.run(argv, env=env, capture_output=True, check=False)
    return time.monotonic() - started


def baselines(repeat):
    """What the module cannot go below on this machine right now."""
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, ".cache", "collections"))
    scontrol_env = dict(os.environ, SLURM_CONF=CONF, LC_ALL="C")
    imports = [PYTHON, "-c", "import ansible.module_utils.basic, ClusterShell.NodeSet"]
    show = ["scontrol", "-F", "-o", "show", "node", NODES]
    return [
        ("python + imports, no work", [timed(imports, env) for _i in range(repeat)]),
        ("scontrol -F show node x1000", [timed(show, scontrol_env) for _i in range(repeat)]),
    ]


def main():
    if not in_lab():
        lab_exec = os.path.join(REPO, "lab", "exec")  # re-enter the lab netns (argv, no shell)
        os.execvp(lab_exec, [lab_exec, PYTHON] + sys.argv)  # noqa: S606
    repeat = benchstats.runs(given=sys.argv[1] if len(sys.argv) > 1 else None)
    write_conf()
    pid = start_slurmctld()
    rows = []
    try:
        total = len([line for line in scontrol("-F", "-o", "show", "node").stdout.splitlines()
                     if line.startswith("NodeName=")])
        print("bench slurmctld pid %d on port %d: %d FUTURE nodes; load average %s" % (
            pid, PORT, total, " ".join("%.1f" % v for v in os.getloadavg())))
        steps = [
            ("drain, all change", dict(state="drain", reason="bench: teardown"), COUNT),
            ("drain, none change", dict(state="drain", reason="bench: teardown"), 0),
            ("down, all change", dict(state="down", reason="bench: vm gone"), COUNT),
            ("future, all change", dict(state="future"), COUNT),
            ("future, none change", dict(state="future"), 0),
        ]
        times = {label: [] for label, _extra, _expected in steps}
        for _round in range(repeat):  # each round ends with every node FUTURE again
            for label, extra, expected in steps:
                args = dict(extra, slurm_conf=CONF, nodes=[NODES])
                elapsed, result = run_module(args)
                assert len(result["changed_nodes"]) == expected, (label, len(result["changed_nodes"]))
                times[label].append(elapsed)
        for label, _extra, expected in steps:
            rows.append((label, "module", times[label], expected))
        playbook_steps = (("playbook drain, all change", COUNT), ("playbook drain, none change", 0))
        walls = {label: [] for label, _expected in playbook_steps}
        for _round in range(repeat):  # each round drains all nodes, then returns them to FUTURE
            for label, expected in playbook_steps:
                elapsed, changed = run_playbook(dict(state="drain", reason="bench: playbook", slurm_conf=CONF,
                                                     nodes=[NODES]))
                assert (COUNT if changed else 0) == expected, (label, changed)
                walls[label].append(elapsed)
            drained = scontrol("-F", "-o", "show", "node").stdout.count("State=FUTURE+DRAIN ")
            print("nodes FUTURE+DRAIN after the playbook run: %d of %d" % (drained, COUNT))
            assert drained == COUNT
            for reset in (dict(state="down", reason="bench: reset"), dict(state="future")):
                run_module(dict(reset, slurm_conf=CONF, nodes=[NODES]))
        rows.extend((label, "ansible-playbook wall", walls[label], expected) for label, expected in playbook_steps)
        rows.extend((label, "baseline", values, 0) for label, values in baselines(repeat))
    finally:
        stop_slurmctld(pid)
        shutil.rmtree(BENCH, ignore_errors=True)
        print("bench slurmctld (pid %d) stopped, %s removed" % (pid, BENCH))
    print("load average at the end: %s" % " ".join("%.1f" % v for v in os.getloadavg()))
    report = benchstats.Report("slurm_node_state")
    for label, what, values, changed in rows:
        # targets on the module process: < 3 s when all 1,000 nodes change, < 1 s when none does
        target = (("<", 3.0) if changed else ("<", 1.0)) if what == "module" else None
        report.add("%s (%s)" % (label, what), values, target=target, note="%d changed" % changed)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
