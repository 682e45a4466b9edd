# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""scheduler_report in the controller's process: the state folder is the controller's
(the next run reads it there), so the files are written directly, without AnsiballZ."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.plugins.action import ActionBase

from ansible_collections.hpc.slurm_vm.plugins.module_utils import run_report
from ansible_collections.hpc.slurm_vm.plugins.module_utils.errors import SlurmVmError


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=run_report.ARGUMENT_SPEC)
        try:
            result.update(run_report.write_report(args, time.time(), check_mode=self._task.check_mode))
        except SlurmVmError as exc:
            result.update(exc.to_result())
            result["failed"] = True
        return result
