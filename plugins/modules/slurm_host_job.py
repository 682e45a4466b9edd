#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: slurm_host_job
short_description: Submit or cancel the host jobs of VMs (one exclusive job per VM, named hpcvm:<host>)
version_added: 0.1.0
description:
  - Each VM runs inside a host job on the host cluster, which holds the hypervisor while the VM lives. The job is
    named C(hpcvm:<host>) (the collection's ownership mark) and its script comes from the caller (role
    C(hpc.slurm_vm.claim) renders it).
  - With O(state=present), submits one job per listed host that has no live (pending, running, completing...)
    job of that name, with one C(squeue) for all hosts and one C(sbatch) per missing job. A host that already
    has a live job keeps it; it is never submitted twice, so a run retried after a crash does not duplicate
    host jobs.
  - With O(state=absent), cancels every live job of the listed hosts.
  - Not a job array. The tasks of an array share one job name, and the name C(hpcvm:<host>) is how every other
    part of the collection (planner, teardown, reconciler, the host's Epilog) finds a VM's host job; each job
    also carries its own VM's script. One C(sbatch) took 9 ms (median of 10) on the lab's slurmctld.
  - Host jobs are submitted with C(--no-requeue). A VM dies with its hypervisor, so a requeued host job would hold
    another hypervisor for a VM whose node is down; instead the job ends, the scheduler cleans the VM's records and
    the name returns to the pool. The users' jobs in the VM are requeued by the VM cluster.
  - A job that C(sbatch) refuses does not fail the task; it is listed in RV(failed_jobs) with the reason, so the
    caller can roll back that VM's DNS and DHCP records. Set O(fail_on_error) to fail instead.
extends_documentation_fragment:
  - hpc.slurm_vm.slurm
  - hpc.slurm_vm.slurm.attributes
attributes:
  check_mode:
    support: full
    details: Lists the jobs it would submit or cancel, with their C(sbatch) command lines; runs only C(squeue).
  diff_mode:
    support: none
    details: RV(jobs) and RV(commands) say what changes.
options:
  jobs:
    description: The host jobs, one per VM.
    type: list
    elements: dict
    required: true
    suboptions:
      hostname:
        description: The VM's hostname; the job is named C(hpcvm:<hostname>).
        type: str
        required: true
      script:
        description: The batch script (with O(state=present)); given to C(sbatch) on its standard input.
        type: str
      time_limit:
        description: The job's time limit, C([D-]HH:MM:SS) or minutes.
        type: str
      comment:
        description: The job's comment (one line).
        type: str
  state:
    description: Whether the jobs should exist (V(present)) or be cancelled (V(absent)).
    type: str
    choices: [present, absent]
    default: present
  partition:
    description: Partition of the host cluster for the jobs.
    type: str
  exclusive:
    description: Submit with C(--exclusive), so the VM has the whole hypervisor.
    type: bool
    default: true
  signal_grace:
    description:
      - Seconds before the time limit at which Slurm sends the batch shell SIGTERM (C(--signal=B:TERM@N)), so the
        script's trap destroys the domain in time. 0 leaves it out.
    type: int
    default: 60
  chdir:
    description: Working directory of the job on the hypervisor.
    type: str
    default: /
  output_dir:
    description: Folder for the jobs' output files (C(<dir>/<host>-<jobid>.out)), as the hypervisors see it.
    type: str
  fail_on_error:
    description: Fail the task when C(sbatch) refuses a job (after submitting the others).
    type: bool
    default: false
  wait:
    description:
      - With O(state=present), wait up to this many seconds for the jobs to leave PENDING (one C(squeue) every
        quarter second), and return their state, node, start and end. 0 returns right after C(sbatch).
      - A job still pending at the end is not an error; RV(jobs[].state) says V(PENDING).
    type: int
    default: 0
author:
  - hpc.slurm_vm contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Submit the host jobs of two VMs
  hpc.slurm_vm.slurm_host_job:
    slurm_conf: /etc/slurm/slurm.conf
    partition: hosts
    signal_grace: 60
    jobs:
      - hostname: vm-deb12-001
        script: "{{ lookup('ansible.builtin.template', 'host_job.sh.j2') }}"
        time_limit: "04:00:00"
        comment: hpc.slurm_vm image=deb12 vm=vm-deb12-001
  register: host_jobs

- name: Cancel the host job of a VM
  hpc.slurm_vm.slurm_host_job:
    slurm_conf: /etc/slurm/slurm.conf
    jobs: [{hostname: vm-deb12-001}]
    state: absent
"""

RETURN = r"""
jobs:
  description: One entry per listed host, in order.
  returned: always
  type: list
  elements: dict
  contains:
    hostname:
      description: The VM's hostname.
      type: str
    job_id:
      description: The host job's id (null in check mode for a job not yet submitted, or when it failed).
      type: str
    action:
      description: V(submitted), V(kept) (a live job existed), V(cancelled), V(absent) or V(failed).
      type: str
    state:
      description: The job's state after O(wait) (V(PENDING), V(RUNNING), ...), with O(state=present).
      type: str
    node:
      description: The hypervisor the job runs on, once it runs.
      type: str
    start:
      description: The job's start (epoch seconds), once it runs.
      type: int
    end:
      description: The job's expected end (epoch seconds), once it runs; the VM's life ends before it.
      type: int
  sample: [{hostname: vm-deb12-001, job_id: "100081", action: submitted, state: RUNNING, node: hv01,
            start: 1795656195, end: 1795670595}]
failed_jobs:
  description: Hosts whose job C(sbatch) refused, with the message.
  returned: always
  type: list
  elements: dict
  sample: [{hostname: vm-deb12-002, msg: "sbatch failed for vm-deb12-002: invalid partition specified: nope"}]
commands:
  description: The C(sbatch) and C(scancel) command lines run (or, in check mode, that would run).
  returned: always
  type: list
  elements: list
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.module_exit import exit_with_result
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.connection_options import SLURM_ARGUMENT_SPEC
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.run import run_slurm_host_job


def main():
    argument_spec = dict(
        jobs=dict(type="list", elements="dict", required=True, options=dict(
            hostname=dict(type="str", required=True),
            script=dict(type="str"),
            time_limit=dict(type="str"),
            comment=dict(type="str"),
        )),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        partition=dict(type="str"),
        exclusive=dict(type="bool", default=True),
        signal_grace=dict(type="int", default=60),
        chdir=dict(type="str", default="/"),
        output_dir=dict(type="str"),
        fail_on_error=dict(type="bool", default=False),
        wait=dict(type="int", default=0),
        **SLURM_ARGUMENT_SPEC
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    exit_with_result(module, run_slurm_host_job, module)


if __name__ == "__main__":
    main()
