#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: slurm_job_comment
short_description: Say in a VM job's comment why it waits (squeue -O comment), and clear it when it no longer does
version_added: 0.2.0
description:
  - Slurm shows a generic pending reason for a job that no VM will serve, such as "Nodes required for job are DOWN,
    DRAINED or reserved". The scheduler knows the real one (the time limit is over the image's VM lifetime, no
    image provides the gres, the image is in backoff, a limit such as C(max_vms), or slurm.conf disagreeing with
    the image table). The plan of M(hpc.slurm_vm.vm_plan) lists the comments to write in
    RV(hpc.slurm_vm.vm_plan#module:job_comments); this module writes them, so that C(squeue -O comment) and
    C(scontrol show job) show them to the user.
  - A comment is the collection's when it starts with O(prefix). Right before writing, the jobs' comments are read
    again with one C(squeue). A job whose comment is neither empty nor the collection's keeps it (the user set it),
    and a job that left the queue is skipped; both are listed in RV(kept).
  - Each distinct comment is one C(scontrol update JobId=<ids> Comment=<text>). The pending tasks of a job array
    share one record, so a whole array is named by its array id; naming one pending task would split it off.
  - The comments are read back after the update; one that Slurm did not keep fails the task.
extends_documentation_fragment:
  - hpc.slurm_vm.slurm
  - hpc.slurm_vm.slurm.attributes
attributes:
  check_mode:
    support: full
    details: Reads the comments and lists the updates it would run in RV(commands).
  diff_mode:
    support: none
    details: RV(changed_jobs) and RV(commands) say what changes.
options:
  comments:
    description:
      - The comments to write, one item per distinct text. An empty O(comments[].comment) clears the jobs'
        comments (only where they are the collection's).
    type: list
    elements: dict
    required: true
    suboptions:
      comment:
        description: One line, at most 1024 characters, starting with O(prefix); empty to clear.
        type: str
        required: true
      jobs:
        description: Job ids as C(squeue -r) prints them (C(123), C(123_4)), or an array's id for all its tasks.
        type: list
        elements: str
        required: true
  prefix:
    description:
      - How the collection's comments start. The same prefix as the node reasons of the teardown
        (C(slurm_vm_teardown_reason_prefix)).
    type: str
    default: "hpc.slurm_vm:"
seealso:
  - module: hpc.slurm_vm.vm_plan
author:
  - hpc.slurm_vm contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Plan this run
  hpc.slurm_vm.vm_plan: {}
  register: plan

- name: Tell the users why their jobs wait
  hpc.slurm_vm.slurm_job_comment:
    comments: "{{ plan.job_comments }}"
  when: plan.job_comments | length > 0

- name: Clear the collection's comment of a job by hand
  hpc.slurm_vm.slurm_job_comment:
    slurm_conf: /etc/slurm-vm/slurm.conf
    comments:
      - comment: ""
        jobs: ["4711"]
"""

RETURN = r"""
changed_jobs:
  description: The job ids whose comment changed (or would change, in check mode).
  returned: always
  type: list
  elements: str
  sample: ["4711", "4712"]
kept:
  description: Jobs left alone, with why (their comment is the user's, or they left the queue).
  returned: always
  type: dict
  sample: {"4713": "holds a comment that is not ours: 'my run 42'"}
commands:
  description: The C(scontrol update) command lines run (or, in check mode, that would run).
  returned: always
  type: list
  elements: list
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import DEFAULT_REASON_PREFIX
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.module_exit import exit_with_result
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.connection_options import SLURM_ARGUMENT_SPEC
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.job_comment import (
    JobCommentClient,
    run_slurm_job_comment,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.run import slurm_client


def _run(module):
    return run_slurm_job_comment(module, JobCommentClient(slurm_client(module)))


def main():
    argument_spec = dict(
        comments=dict(type="list", elements="dict", required=True, options=dict(
            comment=dict(type="str", required=True),
            jobs=dict(type="list", elements="str", required=True),
        )),
        prefix=dict(type="str", default=DEFAULT_REASON_PREFIX),
        **SLURM_ARGUMENT_SPEC
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    exit_with_result(module, _run, module)


if __name__ == "__main__":
    main()
