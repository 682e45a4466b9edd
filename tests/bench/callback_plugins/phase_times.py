# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark helper (not part of the collection): writes each task's start and end
(wall clock) to the JSON file named by HPCVM_PHASES_FILE when the playbook ends."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "phase_times"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.tasks = []

    def _close(self):
        if self.tasks and self.tasks[-1]["end"] is None:
            self.tasks[-1]["end"] = time.time()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self.tasks.append({"name": task.get_name(), "start": time.time(), "end": None})

    def v2_playbook_on_play_start(self, play):
        self._close()

    def v2_playbook_on_stats(self, stats):
        self._close()
        path = os.environ.get("HPCVM_PHASES_FILE")
        if path:
            with open(path, "w") as handle:
                json.dump(self.tasks, handle)
