# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base of the action plugins that do a module's work in the controller's process (pure or
controller-side work: nothing to ship to a host): validate the module's argument spec, run
one function, turn a SlurmVmError into a failed result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import SlurmVmError


class ControllerAction(ActionBase):
    """Subclasses set TASK to the module_utils module holding the module's ARGUMENT_SPEC (and, where the module
    has them, REQUIRED_ONE_OF and MUTUALLY_EXCLUSIVE), so the action and the module validate alike."""

    TRANSFERS_FILES = False
    _requires_connection = False
    TASK = None

    def run_task(self, args, check_mode):
        """The module's work on validated args; returns the result dict."""
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        result = super(ControllerAction, self).run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(
            argument_spec=self.TASK.ARGUMENT_SPEC,
            required_one_of=getattr(self.TASK, "REQUIRED_ONE_OF", None),
            mutually_exclusive=getattr(self.TASK, "MUTUALLY_EXCLUSIVE", None))
        try:
            result.update(self.run_task(args, self._task.check_mode))
        except SlurmVmError as exc:
            result.update(exc.to_result())
            result["failed"] = True
        return result
