# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_reconcile_plan in the controller's process: its inputs (the snapshot, the _info
results) and its memory file are the controller's, so nothing is shipped to a host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.hpc.slurm_vm.plugins.module_utils import reconcile_task
from ansible_collections.hpc.slurm_vm.plugins.module_utils.errors import SlurmVmError


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(
            argument_spec=reconcile_task.ARGUMENT_SPEC,
            required_one_of=reconcile_task.REQUIRED_ONE_OF,
            mutually_exclusive=reconcile_task.MUTUALLY_EXCLUSIVE,
        )
        try:
            result.update(reconcile_task.run(args, check_mode=self._task.check_mode))
        except SlurmVmError as exc:
            result.update(exc.to_result())
            result["failed"] = True
        return result
