# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_plan in the controller's process: the planner is pure and its inputs (the
inventory plugin's snapshot, the image table) are the controller's, so there is
nothing to ship to a host. Saves the ~0.8 s an AnsiballZ run costs on every scheduler run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import plan_run as vm_plan_task
from ansible_collections.hpc.slurm_vm.plugins.plugin_utils.controller_action import ControllerAction


class ActionModule(ControllerAction):
    TASK = vm_plan_task

    def run_task(self, args, check_mode):
        result = vm_plan_task.run(args)
        result["changed"] = False
        return result
