# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The inputs of both scheduler planners (vm_plan, vm_reconcile_plan): one snapshot of both clusters and the
    # image table.
    DOCUMENTATION = r"""
options:
  snapshot:
    description:
      - The snapshot of both clusters, as the P(hpc.slurm_vm.slurm_demand#inventory) inventory plugin writes it.
      - Give this or O(snapshot_file).
    type: dict
  snapshot_file:
    description: The JSON file the inventory plugin wrote (its C(slurm_vm_snapshot_file) variable).
    type: path
  images:
    description: The image table (C(slurm_vm_images)).
    type: dict
    required: true
"""

    # The modules an action plugin runs on the controller (vm_plan, vm_reconcile_plan, scheduler_report); each states
    # its own check and diff support.
    CONTROLLER = r"""
options: {}
notes:
  - It runs on the controller, whatever the task's host.
attributes:
  action:
    support: full
    description:
      - An action plugin does the work in the controller's process, where its inputs and state files are, so
        nothing is shipped to a host.
"""
