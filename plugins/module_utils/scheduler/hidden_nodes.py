# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pool nodes a slurmctld restart hid. Pure.

A restarted slurmctld brings nodes declared State=FUTURE back as FUTURE, even those of
running VMs (FACTS.md), and forgets their SlurmdStartTime; their jobs keep running but
no new job is sent to them, and the VM's slurmd is not pinged, so it never registers
again by itself. Without more evidence such a VM looks like one still booting, and
boot_timeout would end its host job. The evidence that the VM of the *current* host job
had registered, any of:
  1. the node's SlurmdStartTime is not before the host job's start (kept by the restart
     on some versions);
  2. a VM-cluster job runs on the node (only a registered slurmd gets jobs);
  3. an earlier scheduler run saw the node registered under this host job: the
     `registered` memory ({host: host job id}) run_report writes each run.
The planner then calls the VM `hidden` (alive, not booting) and the reconciler resumes
its node once it has seen the domain running.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import nodeset

REGISTERED_FILE = "registered.json"
JOB_STATES_ON_NODE = ("RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED")
REGISTERED_STATES = ("idle", "busy", "draining", "hidden")


def hosts_with_jobs(vm_jobs):
    """The VM-cluster nodes some job runs on (from the snapshot's vm_jobs)."""
    lists = {job.get("nodelist") for job in vm_jobs or () if job.get("state") in JOB_STATES_ON_NODE}
    hosts = set()
    for expression in sorted(lists - {None, "", "(null)"}):
        hosts.update(nodeset.expand(expression))
    return hosts


def hidden_reason(host, node, host_job, busy_hosts, registered):
    """Why the FUTURE node `host` belongs to a VM that had registered under its running host
    job, or None (not hidden: not FUTURE, no running host job, or no evidence)."""
    if node is None or host_job is None or node.get("state") != "FUTURE" or host_job.get("state") != "RUNNING":
        return None
    started = host_job.get("start")
    slurmd_start = node.get("slurmd_start")
    if slurmd_start and started and slurmd_start >= started:
        return "its slurmd registered after host job %s started" % host_job.get("id")
    if host in busy_hosts:
        return "VM-cluster jobs still run on it"
    if str((registered or {}).get(host)) == str(host_job.get("id")):
        return "an earlier run saw it registered under host job %s" % host_job.get("id")
    return None


def registered_memory(vms):
    """{host: host job id} of the VMs that are registered (or hidden) now, for the next run."""
    return {vm["hostname"]: str(vm["host_job"]["id"]) for vm in vms
            if vm["state"] in REGISTERED_STATES and vm.get("host_job")}
