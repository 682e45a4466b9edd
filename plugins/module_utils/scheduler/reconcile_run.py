# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vm_reconcile_plan task: its argument spec and its one function, shared by the
module and the action plugin (which runs it in the controller's process). It reads the
reconciler's first-seen memory, runs the pure planner and writes the memory back."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import DEFAULT_REASON_PREFIX
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import reconcile as reconcile_plan
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import snapshot as slurm_snapshot
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import vm_state
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import state_files
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput, SlurmVmError
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.run_report import to_json, write_if_changed

MEMORY_FILE = "reconcile-first-seen.json"

ARGUMENT_SPEC = {
    "snapshot": {"type": "dict"},
    "snapshot_file": {"type": "path"},
    "images": {"type": "dict", "required": True},
    "state_dir": {"type": "path", "required": True},
    "grace": {"type": "int", "default": 900},
    "dns_names": {"type": "list", "elements": "dict"},
    "dns_zone": {"type": "str"},
    "ptr_names": {"type": "list", "elements": "dict"},
    "reverse_zone": {"type": "str"},
    "dhcp_reservations": {"type": "list", "elements": "dict"},
    "dhcp_where": {"type": "str", "default": "dhcp"},
    "domains": {"type": "dict"},
    "files": {"type": "dict"},
    "read_as": {"type": "dict", "default": {}},
    "live_hosts": {"type": "list", "elements": "str", "default": []},
    "only_hosts": {"type": "list", "elements": "str"},
    "reason_prefix": {"type": "str", "default": DEFAULT_REASON_PREFIX},
}
REQUIRED_ONE_OF = [("snapshot", "snapshot_file")]
MUTUALLY_EXCLUSIVE = [("snapshot", "snapshot_file")]


class ReconcileStateError(SlurmVmError):
    """The reconciler's memory file cannot be read or written."""


def read_memory(path):
    """The first-seen memory a previous run wrote; {} before the first run."""
    data = state_files.read_json(path, "reconciler's memory", error=ReconcileStateError, missing={})
    if not isinstance(data, dict) or not isinstance(data.get("first_seen", {}), dict):
        raise ReconcileStateError("the reconciler's memory %s is not a mapping with first_seen" % path)
    return data.get("first_seen", {})


def _paths(entries):
    """Paths from a list of strings or of ansible.builtin.find `files` entries."""
    paths = []
    for entry in entries or []:
        if isinstance(entry, dict):
            if "path" not in entry:
                raise InvalidInput("files: an entry without path: %r" % (entry,))
            entry = entry["path"]
        paths.append(str(entry))
    return paths


def _per_hypervisor(mapping, what):
    if mapping is None:
        return None
    result = {}
    for hypervisor, entries in mapping.items():
        if entries is not None and not isinstance(entries, list):
            raise InvalidInput("%s[%s] must be a list, not %s" % (what, hypervisor, type(entries).__name__))
        result[str(hypervisor)] = entries or []
    return result


def run(params, check_mode=False, now=None):
    """params (validated) -> the reconcile plan, with the memory file written unless check_mode."""
    snapshot = slurm_snapshot.task_snapshot(params)
    images = image_table.normalize_table(params["images"])
    memory_path = os.path.join(params["state_dir"], MEMORY_FILE)
    previous = read_memory(memory_path)
    now = int(time.time() if now is None else now)
    files = _per_hypervisor(params.get("files"), "files")
    if files is not None:
        files = {hv: _paths(entries) for hv, entries in files.items()}
    try:
        result = reconcile_plan.plan(reconcile_plan.ReconcileInputs(
            snapshot, images, now, params["grace"], first_seen=previous,
            dns=params.get("dns_names"), dns_zone=params.get("dns_zone"),
            ptrs=params.get("ptr_names"), reverse_zone=params.get("reverse_zone"),
            dhcp=params.get("dhcp_reservations"), dhcp_where=params.get("dhcp_where") or "dhcp",
            domains=_per_hypervisor(params.get("domains"), "domains"), files=files,
            read_as=params.get("read_as") or {}, live_hosts=params.get("live_hosts") or [],
            reason_prefix=params.get("reason_prefix") or DEFAULT_REASON_PREFIX,
            only_hosts=params.get("only_hosts"),
            registered=state_files.read_state(os.path.join(params["state_dir"], vm_state.REGISTERED_FILE),
                                              "registered-VM memory", error=ReconcileStateError)))
    except (KeyError, TypeError, AttributeError) as exc:
        raise InvalidInput("a reconciler input is malformed (%s: %s); pass the _info modules' results as documented"
                           % (type(exc).__name__, exc)) from exc
    content = to_json({"first_seen": result["first_seen"], "grace": params["grace"]})
    try:
        if not check_mode:
            os.makedirs(params["state_dir"], mode=0o755, exist_ok=True)
        changed = write_if_changed(memory_path, content, check_mode=check_mode)
    except OSError as exc:
        raise ReconcileStateError("cannot write the reconciler's memory %s: %s" % (memory_path, exc)) from exc
    result.update({
        "changed": changed,
        "memory_file": memory_path,
        "lines": reconcile_plan.removal_lines(result),
        "now": now,
    })
    return result
