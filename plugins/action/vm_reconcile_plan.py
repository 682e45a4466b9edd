# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_reconcile_plan in the controller's process: its inputs (the snapshot, the _info
results) and its memory file are the controller's, so nothing is shipped to a host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import reconcile_run as reconcile_task
from ansible_collections.hpc.slurm_vm.plugins.plugin_utils.controller_action import ControllerAction


class ActionModule(ControllerAction):
    TASK = reconcile_task

    def run_task(self, args, check_mode):
        return reconcile_task.run(args, check_mode=check_mode)
