#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: scheduler_report
short_description: Write what one scheduler run did (failure history, JSON summary, Prometheus textfile)
version_added: 0.1.0
description:
  - Writes four files, each atomically and only when its content changes.
  - C(history.json) in O(state_dir), the boot failures in a row per image, which the next run's
    M(hpc.slurm_vm.vm_plan) reads (its O(hpc.slurm_vm.vm_plan#module:history_file)) to put an image into backoff.
  - C(registered.json) in O(state_dir), the hostnames of the VMs registered now mapped to their host job ids,
    which the next run's M(hpc.slurm_vm.vm_plan) reads (its O(hpc.slurm_vm.vm_plan#module:registered_file))
    to tell a VM hidden by a slurmctld restart from one still booting.
  - C(summary.json) in O(state_dir), what the run spawned, cancelled and tore down, and per image the demand,
    the VMs by state and any backoff.
  - The same numbers as a Prometheus textfile (metric names start with C(hpc_slurm_vm_)), for node_exporter's
    textfile collector. Point O(textfile) into its C(--collector.textfile.directory).
extends_documentation_fragment:
  - hpc.slurm_vm.scheduler.controller
attributes:
  check_mode:
    support: full
    description: Reports which files would change and writes nothing.
  diff_mode:
    support: none
    description: The files are reports; RV(summary) and RV(history) are returned instead of a diff.
options:
  state_dir:
    description: The scheduler's state folder (C(slurm_vm_state_dir)); created if missing.
    type: path
    required: true
  plan:
    description: The registered result of M(hpc.slurm_vm.vm_plan).
    type: dict
    required: true
  submitted:
    description: The spawn items whose host jobs this run submitted (each with C(image) and C(hostname)).
    type: list
    elements: dict
    default: []
  removed:
    description: What the reconciler removed this run (role C(hpc.slurm_vm.reconcile)'s C(reconcile_removed)).
    type: list
    elements: dict
    default: []
  started:
    description: When the run started (epoch seconds), for its duration.
    type: float
  textfile:
    description: Where to write the Prometheus textfile. Default C(hpc_slurm_vm.prom) in O(state_dir).
    type: path
  base_images:
    description:
      - The base images the run's spawns measured (role C(hpc.slurm_vm.spawn)'s C(spawn_base) of each hypervisor),
        each with C(image), C(image_version), C(path), C(size), C(mtime), C(sha256) and C(hypervisor).
      - The first measure of an image version is recorded in C(base_images.json) in O(state_dir) and never
        replaced; M(hpc.slurm_vm.vm_plan) reads it (O(hpc.slurm_vm.vm_plan#module:base_records_file)) so that
        M(hpc.slurm_vm.libvirt_guest) refuses an overlay on a base image changed in place.
    type: list
    elements: dict
    default: []
  flagged:
    description:
      - What the reconciler reported and left alone in this run (role C(hpc.slurm_vm.reconcile)'s
        C(reconcile_flagged)), each with C(kind), C(hostname), C(image), C(where) and C(reason); for example
        C(base_changed), a running VM whose base image was changed in place. Listed in the summary's C(flagged) and
        counted in the metric C(hpc_slurm_vm_flagged).
    type: list
    elements: dict
    default: []
  spawn_failed:
    description:
      - The VMs that did not start on their hypervisor in this run (role C(hpc.slurm_vm.spawn)'s C(spawn_failed)),
        each with C(hostname), C(image), C(image_version), C(hypervisor) and C(msg) (for example a base image
        changed in place, named with its image). Listed in the summary's C(spawn_failed) and counted in the metric
        C(hpc_slurm_vm_spawn_failed).
    type: list
    elements: dict
    default: []
author:
  - hpc.slurm_vm contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Write the run report
  hpc.slurm_vm.scheduler_report:
    state_dir: /var/lib/hpc-slurm-vm
    plan: "{{ scheduler_plan }}"
    submitted: "{{ claim_submitted | default([]) }}"
    started: "{{ scheduler_plan.started }}"
    textfile: /var/lib/prometheus/node-exporter/hpc_slurm_vm.prom
"""

RETURN = r"""
files:
  description: The files written (or, in check mode, that would be).
  returned: always
  type: list
  elements: str
summary:
  description:
    - The run summary as written to C(summary.json), with C(next_due), when the next time-based rule fires (epoch
      seconds or null), for a trigger that starts a run then.
  returned: success
  type: dict
history:
  description: The failure history as written to C(history.json).
  returned: success
  type: dict
  sample: {"deb12": {"failures": 0, "last_failure": null}}
base_images_recorded:
  description: The image versions whose base image this run recorded first (C(<image> <version>)).
  returned: success
  type: list
  elements: str
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.module_exit import exit_with_result
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import run_report


def main():
    module = AnsibleModule(argument_spec=run_report.ARGUMENT_SPEC, supports_check_mode=True)
    exit_with_result(module, run_report.write_report, module.params, time.time(), check_mode=module.check_mode)


if __name__ == "__main__":
    main()
