#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vm_plan
short_description: Plan one scheduler run of hpc.slurm_vm (spawn, cancel, teardown, gc)
version_added: 0.1.0
description:
  - Takes one snapshot of both clusters (written by the P(hpc.slurm_vm.slurm_demand#inventory) inventory plugin), the
    image table and the rules, and returns what the scheduler should do. It changes nothing.
  - C(spawn) lists free hostnames (FUTURE, no host job, no reservation, no records) with their MAC, IP and
    host-job parameters. C(cancel) lists pending host jobs that demand no longer needs. C(teardown) lists VMs with
    their next step (C(drain), C(end_host_job), C(wait), C(finish)) and why. C(gc) lists what belongs to no VM.
  - "Pending jobs are packed: each job's units (gres count times nodes) go to the idle, booting or pending VM with
    the shortest remaining life that still covers its time limit; what is left needs new VMs. A job longer than
    every VM's remaining life is demand for a new VM. A job longer than the image's lifetime cannot be served
    and is reported."
  - Per-image rules come from the image table (C(max_vms), C(min_idle), C(max_spawn_per_run), C(idle_timeout),
    C(lifetime), C(boot_timeout), C(backoff_failures), C(backoff_seconds), C(failed_hold)); global rules from
    O(rules).
  - Deterministic (the same inputs give the same plan) and explainable (each decision has a reason).
    RV(preview) is the plan as a table, for check mode.
extends_documentation_fragment:
  - hpc.slurm_vm.scheduler
  - hpc.slurm_vm.scheduler.controller
attributes:
  check_mode:
    support: full
    description: The module never changes anything; check mode returns the same plan.
  diff_mode:
    support: none
    description: There is nothing to diff; the plan is the result.
options:
  rules:
    description: Global rules.
    type: dict
    default: {}
    suboptions:
      max_total_vms:
        description: Cap on live VMs of all images together.
        type: int
      max_spawn_per_run:
        description: Cap on VMs started by one run, all images together.
        type: int
      grace:
        description: Seconds between the end of a VM's usable life and its host job's end (signal grace + KillWait).
        type: int
        default: 70
      drain_margin:
        description: Drain a VM this many seconds before its usable life ends.
        type: int
        default: 300
  history:
    description:
      - "Boot failures per image, as C({image: {failures: N, last_failure: EPOCH}}), from the previous run."
      - An image with C(backoff_failures) failures in a row spawns nothing for C(backoff_seconds) after the last.
    type: dict
    default: {}
  history_file:
    description:
      - The C(history.json) a previous run wrote (see M(hpc.slurm_vm.scheduler_report)), read instead of O(history).
      - A missing file is an empty history.
    type: path
  registered_file:
    description:
      - The C(registered.json) a previous run wrote (see M(hpc.slurm_vm.scheduler_report)), which maps the hostname of
        each VM that run saw registered to its host job id. A missing file is an empty memory.
      - After a restart of the VM cluster's slurmctld, the nodes of running VMs are FUTURE again and look like VMs
        still booting. A VM whose node had registered under its current host job (by this memory, by a job running
        on the node, or by its SlurmdStartTime) is C(hidden) instead, listed in RV(resume), and never torn down for
        O(images) C(boot_timeout).
    type: path
  boot:
    description:
      - How each image boots (the site's C(slurm_vm_boot), by image name, as role C(hpc.slurm_vm.spawn) reads it).
      - "Part of each image's version id, with the image's optional C(version) label in O(images): a change of
        either starts a rollout - no new VM of the old version, idle old VMs replaced first, busy ones drained and
        torn down when their jobs end."
    type: dict
    default: {}
  paused_file:
    description:
      - The C(paused.json) the admin verb C(hpc.slurm_vm.pause) writes (M(hpc.slurm_vm.image_pause)), mapping each
        paused image to C({reason, since, by}). A missing file pauses nothing.
      - "A paused image spawns no VM, its pending host jobs are cancelled, and its waiting jobs' comment says
        C(image <name> paused: <reason>). Its running VMs serve on."
    type: path
  base_records_file:
    description:
      - "The C(base_images.json) M(hpc.slurm_vm.scheduler_report) writes, mapping each image and image version to
        the base image M(hpc.slurm_vm.libvirt_guest) measured when it first started a VM of that version
        (C({image: {version: {path, size, mtime, sha256}}})). A missing file records nothing."
      - RV(spawn) and RV(start) items carry the record of their version as C(base_record), so that
        M(hpc.slurm_vm.libvirt_guest) refuses an overlay on a base image changed in place.
    type: path
  claimed:
    description: Hostnames that still hold DNS or DHCP records (from the C(_info) modules); they are not free.
    type: list
    elements: str
    default: []
  reason_prefix:
    description:
      - Prefix of the node reasons the collection sets when it drains a VM or sets its node DOWN (the site's
        C(slurm_vm_teardown_reason_prefix)).
      - A node without host job whose reason starts with it is the tail of a teardown (C(finish)), even in the
        seconds its gone slurmd still looks registered. A node DOWN with reason C(<prefix> boot failed) is held DOWN
        for the image's C(failed_hold).
      - The comments of RV(job_comments) start with it too.
    type: str
    default: "hpc.slurm_vm:"
  reconcile:
    description:
      - When given, the plan also says whether this run is due to reconcile (RV(reconcile_due)) and whether that
        reconcile reads every hypervisor (RV(sweep_due)), from the stamp files the scheduler writes after each.
      - A stamp file that is missing, empty or not a number counts as never written, so the run is due.
    type: dict
    suboptions:
      interval:
        description: Seconds between reconciles.
        type: int
        default: 300
      sweep_interval:
        description: Seconds between sweeps (reconciles that read every hypervisor, not only those with host jobs).
        type: int
        default: 3600
      sweep:
        description: Sweep (V(true)) or not (V(false)) whatever the stamp says; unset, by O(reconcile.sweep_interval).
        type: bool
      stamp_file:
        description: The file holding the time (epoch seconds) of the last reconcile.
        type: path
        required: true
      sweep_stamp_file:
        description: The file holding the time (epoch seconds) of the last sweep.
        type: path
        required: true
author:
  - hpc.slurm_vm contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Plan this run from the inventory's snapshot
  hpc.slurm_vm.vm_plan:
    snapshot_file: "{{ hostvars['localhost'].slurm_vm_snapshot_file }}"
    images: "{{ slurm_vm_images }}"
    rules:
      max_total_vms: 200
      max_spawn_per_run: 20
    reconcile:
      interval: 300
      stamp_file: /var/lib/hpc-slurm-vm/reconcile.stamp
      sweep_stamp_file: /var/lib/hpc-slurm-vm/sweep.stamp
  register: plan

- name: Show the preview
  ansible.builtin.debug:
    msg: "{{ plan.preview.splitlines() }}"
"""

RETURN = r"""
spawn:
  description:
    - Hostnames to claim and start, with C(image), C(hostname), C(mac), C(ip), C(host_job), C(reason),
      C(image_version) (the image's version id, also in the host job's comment) and C(base_record) (the base image
      recorded for that version, see O(base_records_file); null before the first VM of the version started).
  returned: always
  type: list
  elements: dict
start:
  description:
    - VMs whose host job runs but whose node has not registered yet, with C(hostname), C(image), C(mac), C(ip),
      C(host_job_id), C(hypervisor), C(host_job_start), C(host_job_end), C(reason), C(image_version) (the version
      its host job was submitted for) and C(base_record).
    - The scheduler applies role C(hpc.slurm_vm.spawn) to them (idempotent), so a host job that started after the
      run that submitted it stopped waiting still gets its VM.
  returned: always
  type: list
  elements: dict
resume:
  description:
    - VMs hidden by a slurmctld restart (node FUTURE while the host job runs, with evidence the VM had registered),
      with C(hostname), C(image), C(host_job_id), C(hypervisor) and C(reason).
    - Role C(hpc.slurm_vm.reconcile) resumes their nodes once it has seen their domains running; the scheduler runs
      it whenever this list is not empty.
  returned: always
  type: list
  elements: dict
registered:
  description:
    - The hostnames of the VMs registered (or hidden) now, mapped to their host job ids.
    - M(hpc.slurm_vm.scheduler_report) writes it to C(registered.json) for the next run's O(registered_file).
  returned: always
  type: dict
cancel:
  description:
    - Pending host jobs to cancel, with C(hostname), C(host_job_id) and C(reason) - demand gone, the image paused,
      or the job submitted for an image version the table no longer has (rollout).
  returned: always
  type: list
  elements: dict
teardown:
  description:
    - VMs to take down, with C(hostname), C(step), C(state), C(host_job_id), C(hypervisor) and C(reason).
    - Besides the life rules (idle_timeout, lifetime, boot_timeout, failed or drained nodes), a VM is drained when
      its hypervisor is drained, down or failed in the host cluster (the reason names the hypervisor; a booting
      VM's host job ends at once), and when its image version is not the table's (rollout - idle VMs go at once,
      busy ones are drained and go when their jobs end, pending host jobs of the old version are cancelled).
      O(images) C(max_vms) holds throughout, as the VMs of both versions count.
  returned: always
  type: list
  elements: dict
gc:
  description: Things that belong to no live VM, with C(hostname), C(kind) and C(reason).
  returned: always
  type: list
  elements: dict
job_comments:
  description:
    - The VM jobs' comments to write so that users see why their job waits (C(squeue -O comment)), one item per
      distinct C(comment) with its C(jobs). An empty comment clears one the collection wrote earlier whose reason
      no longer applies. Only jobs whose comment is empty or starts with O(reason_prefix) are listed.
    - Reasons said, after the prefix, for example C(time limit 1-00:00:00 is over what a deb12 VM can give
      (11:58:50)), C(no VM image provides gres vm_old), C(image deb12 paused after 3 failed VM boots, until ...),
      C(waiting for a deb12 VM, limited by max_vms 4).
    - M(hpc.slurm_vm.slurm_job_comment) writes them.
  returned: always
  type: list
  elements: dict
  sample: [{comment: "hpc.slurm_vm: waiting for a deb12 VM: limited by max_vms 4", jobs: ["4711", "4712"]}]
images:
  description:
    - Per image, the demand, the VMs by state, how many to spawn, what limited it and any backoff; its C(version)
      (id), C(paused) (C({reason, since, by}) or null) and C(rollout) (C({old, new}), its VMs of an older version
      still to go, and of the current one).
  returned: always
  type: dict
vms:
  description:
    - One row per pool host that is not free, by image then hostname, for C(hpc.slurm_vm.status) - C(hostname),
      C(image), C(state), C(version) (its image version id, null when unknown), C(current_version),
      C(hypervisor), C(host_job_id), C(host_job_state), C(started), C(age) (seconds), C(jobs) (the VM-cluster jobs
      running on it), C(node_state), C(node_reason), C(action) and C(action_reason) (the step this plan takes -
      C(drain), C(end_host_job), C(wait), C(finish), C(start), C(resume), C(gc), C(cancel), or null), and, when
      it takes none, the next time rule due for the VM - C(next_at) (epoch), C(next_in) (seconds after the
      snapshot), C(next_rule) (C(idle_timeout), C(lifetime), C(boot_timeout) or C(failed_hold)) and C(next_step)
      (the step it brings), all null when no rule is ahead.
  returned: always
  type: list
  elements: dict
next_due:
  description:
    - The epoch second at which the next time-based rule fires (idle_timeout, a lifetime's drain margin,
      boot_timeout, a failed boot's hold, the end of a backoff), or null. A trigger may start a run then.
  returned: always
  type: int
started:
  description: When the plan was made (epoch seconds); the scheduler writes it into its stamps and run summary.
  returned: always
  type: float
reconcile_due:
  description: Whether the last reconcile is at least O(reconcile.interval) ago.
  returned: when O(reconcile) is given
  type: bool
sweep_due:
  description:
    - Whether this run's reconcile reads every hypervisor (O(reconcile.sweep), else by O(reconcile.sweep_interval)).
  returned: when O(reconcile) is given
  type: bool
reconcile_last:
  description: The time of the last reconcile from O(reconcile.stamp_file) (epoch seconds; V(0) for never).
  returned: when O(reconcile) is given
  type: float
sweep_last:
  description: The time of the last sweep from O(reconcile.sweep_stamp_file) (epoch seconds; V(0) for never).
  returned: when O(reconcile) is given
  type: float
preview:
  description: The plan as a fixed-width table.
  returned: always
  type: str
  sample: |-
    ACTION  IMAGE  HOST          STEP       REASON
    spawn   deb12  vm-deb12-001  10.77.1.1  1 unit(s) of 1 pending job(s) unserved
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.module_exit import exit_with_result
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import plan_run as vm_plan_task


def main():
    module = AnsibleModule(
        argument_spec=vm_plan_task.ARGUMENT_SPEC,
        required_one_of=vm_plan_task.REQUIRED_ONE_OF,
        mutually_exclusive=vm_plan_task.MUTUALLY_EXCLUSIVE,
        supports_check_mode=True,
    )
    exit_with_result(module, _plan, module.params)


def _plan(params):
    return dict(vm_plan_task.run(params), changed=False)  # a plan changes nothing


if __name__ == "__main__":
    main()
