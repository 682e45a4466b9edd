# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vm_plan task: its argument spec and its one function, shared by the module and
the action plugin (which runs it in the controller's process, without AnsiballZ)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import DEFAULT_REASON_PREFIX
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import pause
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import snapshot as slurm_snapshot
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import state_files
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import planner as vm_planner
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.reconcile_schedule import reconcile_schedule

ARGUMENT_SPEC = {
    "snapshot": {"type": "dict"},
    "snapshot_file": {"type": "path"},
    "images": {"type": "dict", "required": True},
    "boot": {"type": "dict", "default": {}},
    "rules": {"type": "dict", "default": {}, "options": {
        "max_total_vms": {"type": "int"},
        "max_spawn_per_run": {"type": "int"},
        "grace": {"type": "int", "default": 70},
        "drain_margin": {"type": "int", "default": 300},
    }},
    "history": {"type": "dict", "default": {}},
    "history_file": {"type": "path"},
    "registered_file": {"type": "path"},
    "paused_file": {"type": "path"},
    "base_records_file": {"type": "path"},
    "claimed": {"type": "list", "elements": "str", "default": []},
    "reason_prefix": {"type": "str", "default": DEFAULT_REASON_PREFIX},
    "reconcile": {"type": "dict", "options": {
        "interval": {"type": "int", "default": 300},
        "sweep_interval": {"type": "int", "default": 3600},
        "sweep": {"type": "bool"},
        "stamp_file": {"type": "path", "required": True},
        "sweep_stamp_file": {"type": "path", "required": True},
    }},
}
REQUIRED_ONE_OF = [("snapshot", "snapshot_file")]
MUTUALLY_EXCLUSIVE = [("snapshot", "snapshot_file"), ("history", "history_file")]


def read_history(path):
    """The failure history a previous run wrote; {} before the first run."""
    return state_files.read_state(path, "failure history")


def run(params, now=None):
    """params (validated) -> the plan, with the time it was made (started) and, given reconcile, whether the
    reconciler and its sweep are due. Raises SlurmVmError subclasses."""
    now = time.time() if now is None else now
    result = _plan(params)
    result["started"] = now
    if params.get("reconcile"):
        result.update(reconcile_schedule(params["reconcile"], now))
    return result


def _plan(params):
    snapshot = slurm_snapshot.task_snapshot(params)
    history = params.get("history") or {}
    if params.get("history_file"):
        history = read_history(params["history_file"])
    registered = {}
    if params.get("registered_file"):
        registered = state_files.read_state(params["registered_file"], "registered-VM memory")
    paused = pause.read_paused(params["paused_file"]) if params.get("paused_file") else {}
    base_records = {}
    if params.get("base_records_file"):
        base_records = state_files.read_state(params["base_records_file"], "recorded base images")
    images = image_table.normalize_table(params["images"], boot=params.get("boot"))
    try:
        return vm_planner.plan(snapshot, images, rules=params.get("rules") or {},
                               history=history, claimed=params.get("claimed") or [], registered=registered,
                               reason_prefix=params.get("reason_prefix") or DEFAULT_REASON_PREFIX,
                               paused=paused, base_records=base_records)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput("the snapshot is malformed (%s: %s); pass the slurm_demand inventory's slurm_vm_snapshot"
                           % (type(exc).__name__, exc)) from exc
