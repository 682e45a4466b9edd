# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""scheduler_report in the controller's process: the state folder is the controller's
(the next run reads it there), so the files are written directly, without AnsiballZ."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import run_report
from ansible_collections.hpc.slurm_vm.plugins.plugin_utils.controller_action import ControllerAction


class ActionModule(ControllerAction):
    TASK = run_report

    def run_task(self, args, check_mode):
        return run_report.write_report(args, time.time(), check_mode=check_mode)
