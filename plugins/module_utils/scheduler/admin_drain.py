# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The admin verb hpc.slurm_vm.drain: which VMs an admin's request names, which of them Slurm can drain
now, and the node reason that says an admin drained them. Pure.

The VMs come from the slurm_demand inventory's host variables, read from the snapshot the scheduler
uses: each pool host's slurm_vm_state (vm_state.VmState) and slurm_vm_hypervisor, and each hypervisor's
slurm_vm_guests (the VMs whose host job runs there).

What the scheduler does with a drained VM (lifecycle._draining_step): once no job runs on it, it ends
the host job and tears the VM down; its jobs finish first. A replacement starts like any VM, when
demand (or the image's min_idle) asks for one: so "replace a VM" is "drain it".

The admin's reason gets its own prefix (ADMIN_REASON_PREFIX), never the teardown's
(slurm_vm_teardown_reason_prefix): a node whose reason starts with the teardown prefix is one the
scheduler drained itself (vm_state.is_our_teardown_tail), which the scheduler may clean up or undo
on its own; an admin's drain is the admin's to lift.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import nodeset
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import DEFAULT_REASON_PREFIX, admin_reason_text
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.vm_state import ALIVE, VmState

ADMIN_REASON_PREFIX = "hpc.slurm_vm admin drain:"

# Registered in Slurm and serving: drained now.
DRAINABLE = (VmState.IDLE.value, VmState.BUSY.value)
# Why a VM (with a host job) is not drained by the verb.
NOT_DRAINED = {
    VmState.DRAINING.value: "already drained",
    VmState.FAILED.value: "its node is DOWN or FAILED: the scheduler ends its host job already",
    VmState.ENDING.value: "its host job is ending",
    VmState.PENDING.value: ("its host job waits for a hypervisor and its node is FUTURE (Slurm would drain the "
                            "name, not a VM): drain it again once it is idle or busy"),
    VmState.BOOTING.value: ("its slurmd has not registered and its node is FUTURE (Slurm would drain the name, not "
                            "a VM): drain it again once it is idle or busy"),
    VmState.HIDDEN.value: ("its node is FUTURE after a slurmctld restart (the reconciler resumes it): drain it "
                           "again once it is idle or busy"),
}


def admin_reason(reason, prefix=None, teardown_prefix=None):
    """'<prefix> <reason>': the node reason of an admin's drain. Refuses an empty or multi-line reason, and
    a prefix that would make the node look drained by the scheduler's own teardown."""
    text = admin_reason_text(reason, "a drain needs a reason (reason=...): it is the node's reason in sinfo -R")
    full = "%s %s" % (prefix or ADMIN_REASON_PREFIX, text)
    teardown_prefix = teardown_prefix or DEFAULT_REASON_PREFIX
    if full.startswith(teardown_prefix):
        raise InvalidInput("the admin drain reason %r starts with the teardown reason prefix %r: the scheduler "
                           "would take the node for one it drained itself; choose another prefix"
                           % (full, teardown_prefix))
    return full


def drain_targets(pool_vars, images, vms=None, hypervisor=None):
    """What hpc.slurm_vm.drain does: {"drain": [hostnames], "skipped": [{hostname, state, why, message}],
    "vms": [{hostname, image, state, hypervisor, node_reason}]} (every VM named, sorted).

    pool_vars: {hostname: host variables} of the slurm_demand inventory (a HostVars works); images: the
    image table; vms: hostnames or hostlist expressions (a list or one comma-separated string);
    hypervisor: a host-cluster node name. Give exactly one of vms and hypervisor. Raises InvalidInput
    (NotInPool for a name in no image's pool) before anything is changed."""
    if bool(vms) == bool(hypervisor):
        raise InvalidInput("give either vms (VM hostnames or a nodeset) or hypervisor, not %s"
                           % ("both" if vms else "neither"))
    table = image_table.normalize_table(images)
    if vms:
        names = _expand(vms)
        for name in names:
            image_table.image_of_host(table, name)  # NotInPool: "'x' is in no image's pool"
    else:
        names = _guests(pool_vars, hypervisor)
    rows = [_vm(pool_vars, name) for name in names]
    alive = [row for row in rows if row["state"] in ALIVE]
    if not alive:
        raise InvalidInput("no VM to drain: %s" % ", ".join("%s is %s" % (r["hostname"], r["state"]) for r in rows))
    drain = [row["hostname"] for row in alive if row["state"] in DRAINABLE]
    skipped = []
    for row in rows:
        if row["state"] not in DRAINABLE:
            why = _why_not(row)
            skipped.append({"hostname": row["hostname"], "state": row["state"], "why": why,
                            "message": "not drained: %s (%s): %s" % (row["hostname"], row["state"], why)})
    return {"drain": drain, "skipped": skipped, "vms": rows}


def _expand(vms):
    expressions = [vms] if isinstance(vms, str) else list(vms)
    names = set()
    for expression in expressions:
        names.update(nodeset.expand(str(expression).strip()))
    if not names:
        raise InvalidInput("vms names no host")
    return sorted(names)


def _guests(pool_vars, hypervisor):
    hypervisor = str(hypervisor).strip()
    # `in` first: Ansible's HostVars gives an undefined value, not None, for a host it does not have
    variables = pool_vars[hypervisor] if hypervisor in pool_vars else {}  # noqa: SIM401
    guests = list(variables.get("slurm_vm_guests") or ())
    if not guests:
        raise InvalidInput("hypervisor %s runs no VM of hpc.slurm_vm: no host job hpcvm:<host> runs there in the "
                           "snapshot (hypervisors with VMs: %s)" % (hypervisor, ", ".join(_hypervisors(pool_vars))
                                                                    or "none"))
    return sorted(guests)


def _hypervisors(pool_vars):
    try:
        return sorted(h for h in pool_vars if pool_vars[h].get("slurm_vm_guests"))
    except (TypeError, AttributeError):  # pragma: no cover - a HostVars that does not iterate
        return []


def _vm(pool_vars, name):
    if name not in pool_vars or "slurm_vm_state" not in pool_vars[name]:
        raise InvalidInput("the slurm_demand inventory has no VM state for %s: run with the demand inventory "
                           "(-i <site inventory> -i <demand inventory>)" % name)
    variables = pool_vars[name]
    return {"hostname": name, "image": variables.get("slurm_vm_image"), "state": variables["slurm_vm_state"],
            "hypervisor": variables.get("slurm_vm_hypervisor"), "node_reason": variables.get("slurm_node_reason")}


def _why_not(row):
    why = NOT_DRAINED.get(row["state"])
    if why is None:
        return "no VM (%s)" % row["state"]
    if row["state"] == VmState.DRAINING.value and row["node_reason"]:
        return "%s (%s)" % (why, row["node_reason"])
    return why
