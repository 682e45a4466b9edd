# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure planning for slurm_node_state: which nodes change, how, and what Slurm refuses.

Nodes are the models of slurm/parse.py (node_from_record). The rules below
were observed on Slurm 22.05 in the lab (see the unit tests' fixtures):
- `idle` is refused from FUTURE and from a busy (ALLOCATED/MIXED) node; `resume`
  is accepted there, but refused on a node that is already schedulable.
- `future` is refused on a busy node and on FUTURE+DRAIN/FAIL (`undrain` cleans
  those back to plain FUTURE).
- idle/resume on a node whose slurmd never registered make it IDLE+NOT_RESPONDING
  and jobs get sent to it, hence only_if_registered.
- A batch update applies node by node: when Slurm refuses one, the others
  before it may have changed, so the caller re-reads after a failure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import nodeset
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.runner import CommandError
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput, SlurmVmError
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.parse import NODE_BUSY_STATES, join_state

STATES = ("idle", "resume", "down", "drain", "undrain", "future", "fail")
REASON_STATES = ("down", "drain", "fail")
SCHEDULABLE_STATES = ("idle", "resume", "undrain")
UNSCHEDULABLE_BASES = ("DOWN", "FUTURE")
UNSCHEDULABLE_FLAGS = ("DRAIN", "FAIL")


class TransitionRefused(SlurmVmError):
    """Slurm refuses this transition (predicted, or reported by slurmctld)."""


class NodeNotRegistered(SlurmVmError):
    """A node would become schedulable although its slurmd has not registered."""


class RegistrationTimeout(SlurmVmError):
    """wait_registered: some nodes did not register in time."""


class PartialUpdate(SlurmVmError):
    """A batch failed halfway: some nodes changed, some did not."""


def validate(state, reason):
    if state not in STATES:
        raise InvalidInput("state must be one of %s, not %r" % (", ".join(STATES), state))
    if state in REASON_STATES and not (reason and reason.strip()):
        raise InvalidInput("reason is required for state=%s" % state)
    if reason is not None and ("\n" in reason or "\r" in reason):
        raise InvalidInput("reason must be a single line")
    return reason.strip() if reason else None


def is_busy(node):
    return node["base"] in NODE_BUSY_STATES or "COMPLETING" in node["flags"]


def is_schedulable(node):
    return node["base"] not in UNSCHEDULABLE_BASES and not set(node["flags"]) & set(UNSCHEDULABLE_FLAGS)


def is_satisfied(node, state, reason):
    """Is the node already in the state asked for (same reason where one is given)?"""
    flags = node["flags"]
    if state in ("idle", "resume"):
        return is_schedulable(node)
    if state == "down":
        return node["base"] == "DOWN" and node["reason"] == reason
    if state == "drain":
        return "DRAIN" in flags and node["reason"] == reason
    if state == "fail":
        return "FAIL" in flags and node["reason"] == reason
    if state == "undrain":
        return "DRAIN" not in flags
    if state == "future":
        return node["base"] == "FUTURE" and not set(flags) & set(UNSCHEDULABLE_FLAGS)
    raise InvalidInput("unknown state %r" % state)


def slurm_request(node, state):
    """The scontrol state= word for this node, or raise TransitionRefused."""
    base = node["base"]
    if state == "idle":
        if base == "FUTURE":
            raise TransitionRefused(_refusal(node, state, "from FUTURE only state=resume is accepted"))
        if is_busy(node):
            raise TransitionRefused(_refusal(node, state, "it runs jobs; use state=resume or undrain"))
        return "idle"
    if state == "future":
        if is_busy(node):
            raise TransitionRefused(_refusal(node, state, "it runs jobs; drain it and wait, or set it down first"))
        if base == "FUTURE":
            return "undrain"  # FUTURE+DRAIN/FAIL: Slurm refuses state=future, undrain cleans it
        return "future"
    return state


def _refusal(node, state, why):
    return "Slurm refuses state=%s for node %s (state %s): %s" % (state, node["name"], node["state"], why)


def predict(node, state, reason, request):
    """The node as it will read after `scontrol update state=<request>`."""
    base = node["base"]
    flags = list(node["flags"])
    new_reason = node["reason"]
    if request in ("idle", "resume"):
        if base in ("DOWN", "FUTURE", "IDLE", "UNKNOWN"):
            base = "IDLE"
        flags = [f for f in flags if f not in UNSCHEDULABLE_FLAGS]
        if not node["registered"] and "NOT_RESPONDING" not in flags:
            flags.append("NOT_RESPONDING")
        new_reason = None
    elif request == "down":
        base = "DOWN"
        new_reason = reason
    elif request == "drain":
        flags = [f for f in flags if f != "FAIL"] + ([] if "DRAIN" in flags else ["DRAIN"])
        new_reason = reason
    elif request == "fail":
        flags = [f for f in flags if f != "DRAIN"] + ([] if "FAIL" in flags else ["FAIL"])
        new_reason = reason
    elif request == "undrain":
        flags = [f for f in flags if f not in UNSCHEDULABLE_FLAGS]
        if base != "DOWN":
            new_reason = None
    elif request == "future":
        base, flags, new_reason = "FUTURE", [], None
    after = dict(node, base=base, flags=flags, state=join_state(base, flags), reason=new_reason)
    if new_reason != node["reason"]:
        after["reason_user"] = after["reason_time"] = None
    after["registered"] = node["registered"] and base != "FUTURE"
    return after


def plan(nodes, names, state, reason=None, only_if_registered=None, expression=None):
    """Decide the changes for `names` (all present in `nodes`).

    Returns a dict: changes {name: request}, after {name: predicted node},
    unchanged [names], groups [(request, reason, names, hostlist)] (one scontrol
    update each; `expression`, the folded `names`, is reused when a group holds
    every name). Raises TransitionRefused / NodeNotRegistered before
    anything changes, naming every offending node.
    """
    reason = validate(state, reason)
    if only_if_registered is None:
        only_if_registered = state in SCHEDULABLE_STATES
    changes, after, unchanged, refused, unregistered = {}, {}, [], [], []
    for name in names:
        node = nodes[name]
        if is_satisfied(node, state, reason):
            unchanged.append(name)
            after[name] = node
            continue
        try:
            request = slurm_request(node, state)
        except TransitionRefused as exc:
            refused.append(dict(node=name, state=node["state"], requested=state, msg=exc.message))
            continue
        predicted = predict(node, state, reason, request)
        if only_if_registered and is_schedulable(predicted) and not node["registered"]:
            unregistered.append(dict(node=name, state=node["state"], slurmd_start_time=node["slurmd_start_time"]))
            continue
        changes[name] = request
        after[name] = predicted
    if refused:
        raise TransitionRefused("; ".join(r["msg"] for r in refused) + ". Nothing was changed.", refused=refused)
    if unregistered:
        raise NodeNotRegistered(
            "refusing state=%s: the slurmd of %s has not registered (%s); it would turn IDLE+NOT_RESPONDING "
            "and take jobs. Wait with wait_registered=true, or set only_if_registered=false. Nothing was changed."
            % (state, ", ".join(u["node"] for u in unregistered),
               ", ".join("%s is %s" % (u["node"], u["state"]) for u in unregistered)),
            unregistered=unregistered)
    groups = [(request, request_reason, group,
               expression if expression and len(group) == len(names) else nodeset.fold(group))
              for request, request_reason, group in group_changes(changes, reason)]
    return dict(changes=changes, after=after, unchanged=unchanged, groups=groups)


def group_changes(changes, reason):
    """[(request, reason_or_None, [names])]: one scontrol update per distinct request."""
    groups = {}
    order = []
    for name, request in changes.items():
        if request not in groups:
            groups[request] = []
            order.append(request)
        groups[request].append(name)
    return [(request, reason if request in REASON_STATES else None, groups[request]) for request in order]


def changed_between(before, after):
    """Names whose state or reason differ between two readings."""
    return [name for name in before if name in after and
            (before[name]["state"] != after[name]["state"] or before[name]["reason"] != after[name]["reason"])]


def diff_view(node):
    """A node as shown in the diff: its state, plus the reason when there is one."""
    view = dict(state=node["state"])
    if node.get("reason"):
        view["reason"] = node["reason"]
    return view


# ---------------------------------------------------------------- steps that talk to Slurm
def wait_registered(client, names, timeout, interval=0.5, clock=time.monotonic, sleep=time.sleep, expression=None):
    """Poll (one scontrol call per round) until every named node has registered."""
    deadline = clock() + timeout
    expression = expression or nodeset.fold(names)
    while True:
        nodes = client.show_nodes(names, expression)
        waiting = [name for name in names if not nodes[name]["registered"]]
        if not waiting:
            return nodes
        if clock() >= deadline:
            raise RegistrationTimeout(
                "timed out after %ss waiting for the slurmd of %s to register (%s)"
                % (timeout, nodeset.fold(waiting), ", ".join("%s is %s" % (n, nodes[n]["state"]) for n in waiting)),
                waiting=waiting, nodes={n: nodes[n]["state"] for n in waiting})
        sleep(interval)


def apply(client, names, before, planned, expression=None):
    """Run the planned updates, one scontrol call per distinct request; return the nodes re-read.

    When Slurm refuses a batch, re-read and raise PartialUpdate naming the nodes
    that changed and those that did not.
    """
    changes = planned["changes"]
    if not changes:
        return before
    for request, request_reason, group, group_expression in planned["groups"]:
        try:
            client.update_nodes(group, request, request_reason, group_expression)
        except CommandError as exc:
            now = client.show_nodes(names, expression)
            changed = changed_between(before, now)
            failed = [n for n in changes if n not in changed]
            raise PartialUpdate(
                "Slurm refused state=%s for some of %s: %s. Changed: %s. Not changed: %s (%s)." % (
                    request, group_expression, (exc.stderr or exc.stdout or exc.message).strip(),
                    nodeset.fold(changed) if changed else "none", nodeset.fold(failed) if failed else "none",
                    ", ".join("%s is %s" % (n, now[n]["state"]) for n in failed[:20])),
                changed_nodes=changed, failed_nodes=failed, cmd=exc.cmd, rc=exc.rc,
                stdout=exc.stdout, stderr=exc.stderr) from exc
    return client.show_nodes(names, expression)
