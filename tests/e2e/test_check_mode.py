# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: the whole scheduler in check mode (scheduler.yml -C) with demand pending changes nothing.
Every record the scheduler writes is read from its server before and after: DNS (A, TXT, PTR, by
zone transfer), DHCP reservations, host jobs, reservations and node states of the VM cluster, domains,
the jobs' comments and the scheduler's state files. The plan it prints must still show the spawn."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import subprocess

from . import faults_helpers as fh
from .story import LAB_DIR, Story, run, scontrol_fields


def node_states():
    """{node: (State, Reason)} of every VM-cluster node, FUTURE ones included (CPULoad and the like move)."""
    states = {}
    for line in run(["scontrol", "-F", "-o", "show", "node"]).stdout.splitlines():
        fields = scontrol_fields(line)
        states[fields["NodeName"]] = (fields.get("State"), fields.get("Reason"))
    return states


def records():
    """Everything a scheduler run may change, read from the servers themselves."""
    state_dir = os.path.join(LAB_DIR, "scheduler")
    files = {}
    for name in sorted(os.listdir(state_dir)):
        path = os.path.join(state_dir, name)
        if os.path.isfile(path) and not name.endswith("-vars.json"):
            with open(path, "rb") as handle:
                files[name] = hashlib.sha256(handle.read()).hexdigest()
    domains = subprocess.run(["virsh", "-q", "-c", "qemu:///system", "list", "--all", "--name"],
                             capture_output=True, text=True, check=True, timeout=30).stdout.split()
    return {
        "allocations": fh.allocations(),
        "reservations": run(["scontrol", "-o", "show", "reservation"], check=False).stdout,
        "nodes": node_states(),
        "comments": run(["squeue", "-h", "-O", "JobID:20,Comment:300"]).stdout,
        "domains": sorted(domains),
        "state_files": files,
    }


def test_the_scheduler_in_check_mode_changes_nothing_with_demand_pending():
    story = Story(name="check-mode")
    job_id = fh.sbatch("check-mode", "--gres=vm_deb12:1", wrap="hostname")
    too_long = fh.sbatch("check-mode", "--gres=vm_deb12:1", "-t", "7-00:00:00", wrap="hostname")
    try:
        before = records()
        proc = fh.playbook("scheduler.yml", story.extra_vars, "--check")
        output = proc.communicate(timeout=300)[0]
        assert proc.returncode == 0, output[-6000:]
        # it planned the spawn and the comment, and did neither
        assert "spawn" in output and "vm-deb12-" in output, output[-4000:]
        assert "time limit 7-00:00:00 is over" in output, output[-4000:]
        after = records()
        for key in before:
            assert after[key] == before[key], "check mode changed %s:\n%s\n%s" % (key, before[key], after[key])
    finally:
        run(["scancel", job_id, too_long], check=False)
