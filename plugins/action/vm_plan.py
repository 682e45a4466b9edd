# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_plan in the controller's process: the planner is pure and its inputs (the
inventory plugin's snapshot, the image table) are the controller's, so there is
nothing to ship to a host. Saves the ~0.8 s an AnsiballZ run costs on every scheduler run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.hpc.slurm_vm.plugins.module_utils import vm_plan_task
from ansible_collections.hpc.slurm_vm.plugins.module_utils.errors import SlurmVmError


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(
            argument_spec=vm_plan_task.ARGUMENT_SPEC,
            required_one_of=vm_plan_task.REQUIRED_ONE_OF,
            mutually_exclusive=vm_plan_task.MUTUALLY_EXCLUSIVE,
        )
        try:
            result.update(vm_plan_task.run(args))
        except SlurmVmError as exc:
            result.update(exc.to_result())
            result["failed"] = True
            return result
        result["changed"] = False
        return result
