# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Slurm client: scontrol as argv lists, parsed output, typed errors.

Slurm 22.05's scontrol has no JSON, so the one-line (-o) text forms are parsed.
Values may hold spaces (Reason=..., OS=...), and a node's Reason is the last
field of its line. The client never calls fail_json: the modules' main() turns
its typed errors into one failure.

The runner is injected (see command_runner.CommandRunner): unit tests replay
captured real scontrol output through a fake with the same interface.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import nodeset
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.runner import CommandError
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput, SlurmVmError

# Shared by every Slurm-facing module (doc fragment hpc.slurm_vm.slurm).
SLURM_ARGUMENT_SPEC = dict(
    slurm_conf=dict(type="path"),
    cluster=dict(type="str"),
)

_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_/:]*$")
_REASON_RE = re.compile(r"^(?P<text>.*?)\s*\[(?P<user>[^\]@]*)@(?P<time>[^\]]*)\]$")
_NULL = ("", "(null)", "None", "N/A", "n/a")


# ---------------------------------------------------------------- errors
class SlurmError(SlurmVmError):
    """Base class of the Slurm client's errors."""


class SlurmConfNotFound(InvalidInput):
    """slurm_conf names a file that does not exist."""


class SlurmCommandError(CommandError):
    """scontrol failed in a way the client does not map to a more precise error."""


class UnknownNodes(InvalidInput):
    """Node names that the cluster does not define (not even as FUTURE nodes)."""


class ReservationError(SlurmCommandError):
    """A reservation command that Slurm refused; nothing was created or changed."""


class ReservationExists(ReservationError):
    pass


class ReservationOverlap(ReservationError):
    pass


class ReservationNodesBusy(ReservationError):
    pass


class ReservationInvalidNodes(ReservationError):
    pass


class ReservationNeedsUsers(ReservationError):
    pass


class ReservationInvalidUser(ReservationError):
    pass


# Slurm's messages (22.05, seen in the lab) -> the error to raise.
_RESERVATION_ERRORS = (
    ("Duplicate reservation name", ReservationExists),
    ("overlaps with another reservation", ReservationOverlap),
    ("Requested nodes are busy", ReservationNodesBusy),
    ("Invalid node name specified", ReservationInvalidNodes),
    ("Users/Groups and/or Accounts must be specified", ReservationNeedsUsers),
    ("Invalid user id", ReservationInvalidUser),
)


# ---------------------------------------------------------------- parsers
def parse_record(line):
    """One line of `scontrol -o show node|res` as a dict of strings.

    Words without a Key= continue the previous value (OS=Linux 6.1 #1 SMP).
    Reason= is the last field of a node line and may itself hold '=': the rest
    of the line is its value.
    """
    fields = {}
    key = None
    words = line.strip().split(" ")
    for index, word in enumerate(words):
        name, sep, value = word.partition("=")
        if sep and _KEY_RE.match(name):
            if name == "Reason":
                fields[name] = " ".join([value] + words[index + 1:])
                break
            key = name
            fields[key] = value
        elif key is not None:
            fields[key] += " " + word
    return {k: v.strip() for k, v in fields.items()}


def null(value):
    """None for Slurm's empty markers ((null), None, N/A)."""
    return None if value is None or value.strip() in _NULL else value.strip()


def split_state(state):
    """'IDLE+DRAIN+NOT_RESPONDING' -> ('IDLE', ['DRAIN', 'NOT_RESPONDING'])."""
    parts = [p for p in (state or "").strip().upper().split("+") if p]
    if not parts:
        return "UNKNOWN", []
    base = parts[0].rstrip("*~#%$@^-!")
    return base, parts[1:]


def join_state(base, flags):
    return "+".join([base] + list(flags))


def split_reason(value):
    """'drained [root@2026-11-25T22:16:52]' -> ('drained', 'root', '2026-11-25T22:16:52')."""
    value = null(value)
    if value is None:
        return None, None, None
    match = _REASON_RE.match(value)
    if not match:
        return value, None, None
    return match.group("text"), match.group("user") or None, match.group("time") or None


def node_from_record(record):
    """The canonical view of one node that the planner works with."""
    base, flags = split_state(record.get("State"))
    reason, reason_user, reason_time = split_reason(record.get("Reason"))
    slurmd_start = null(record.get("SlurmdStartTime"))
    boot_time = null(record.get("BootTime"))
    return dict(
        name=record["NodeName"],
        state=join_state(base, flags),
        base=base,
        flags=flags,
        reason=reason,
        reason_user=reason_user,
        reason_time=reason_time,
        slurmd_start_time=slurmd_start,
        boot_time=boot_time,
        registered=is_registered(base, flags, slurmd_start, boot_time),
    )


def is_registered(base, flags, slurmd_start_time, boot_time):
    """Has this node's slurmd registered (and is it still answering)?

    - FUTURE never counts.
    - A node whose slurmd never registered has SlurmdStartTime=None and BootTime=None.
    - After a return to the pool (future, then down) Slurm keeps the old
      SlurmdStartTime but clears BootTime, so both must be set.
    - NOT_RESPONDING: slurmctld cannot reach the slurmd. A slurmd that died
      only seconds ago still counts until slurmctld's next ping notices it.
    """
    return (base != "FUTURE" and slurmd_start_time is not None and boot_time is not None
            and "NOT_RESPONDING" not in flags)


_NODE_FIELDS = ("NodeName", "State", "SlurmdStartTime", "BootTime")
_NODE_FIELD_RE = re.compile(r"(?:^| )(NodeName|State|SlurmdStartTime|BootTime)=(\S*)")


def node_record_fields(line):
    """The few fields the planner needs from one node line, without parsing all ~40 of them
    (1,000 nodes per run). Reason is the last field and the only free text, so it is split off
    first and no other value can fake a key."""
    head, sep, reason = line.rstrip("\n").partition(" Reason=")
    record = dict(_NODE_FIELD_RE.findall(head))
    if sep:
        record["Reason"] = reason.strip()
    return record


def parse_nodes(text):
    """`scontrol -F -o show node` output -> {name: node}; 'Node X not found' lines are skipped."""
    nodes = {}
    for line in text.splitlines():
        if line.startswith("NodeName="):
            node = node_from_record(node_record_fields(line))
            nodes[node["name"]] = node
    return nodes


def parse_reservations(text):
    """`scontrol -o show res` output -> list of record dicts."""
    return [parse_record(line) for line in text.splitlines() if line.startswith("ReservationName=")]


# ---------------------------------------------------------------- client
class SlurmClient(object):
    """Talks to one cluster: SLURM_CONF=slurm_conf, and -M cluster when cluster is set."""

    def __init__(self, runner, slurm_conf=None, cluster=None):
        if slurm_conf is not None and not os.path.isfile(slurm_conf):
            raise SlurmConfNotFound("slurm_conf %s does not exist (or is not a file)" % slurm_conf,
                                    slurm_conf=slurm_conf)
        self.runner = runner
        self.slurm_conf = slurm_conf
        self.cluster = cluster
        self.env = {"SLURM_CONF": slurm_conf} if slurm_conf else {}

    def scontrol(self, args, changes=False):
        argv = ["scontrol"]
        if self.cluster:
            argv += ["--clusters", self.cluster]
        return self.runner.run(argv + list(args), env=self.env, changes=changes)

    @staticmethod
    def _fail(result, message, cls=SlurmCommandError):
        detail = result.output.strip()
        return cls("%s: %s" % (message, detail) if detail else message, cmd=list(result.argv),
                   rc=result.rc, stdout=result.stdout, stderr=result.stderr)

    # ----- nodes
    def show_nodes(self, names, expression=None):
        """All named nodes (FUTURE included) in one call; UnknownNodes if any is not defined.

        expression: `names` already folded (folding 1,000 names costs ~70 ms).
        """
        if not names:
            return {}
        result = self.scontrol(["-F", "-o", "show", "node", expression or nodeset.fold(names)])
        nodes = parse_nodes(result.stdout)
        missing = [name for name in names if name not in nodes]
        if missing:
            if result.rc != 0 and not nodes and "not found" not in result.output:
                raise self._fail(result, "scontrol show node failed")
            raise UnknownNodes("unknown node(s) in this cluster: %s" % nodeset.fold(missing),
                               unknown_nodes=missing)
        if result.rc != 0:
            raise self._fail(result, "scontrol show node failed")
        return nodes

    def update_nodes(self, names, state, reason=None, expression=None):
        """One `scontrol update nodename=<hostlist> state=...`; raises SlurmCommandError."""
        args = ["update", "nodename=%s" % (expression or nodeset.fold(names)), "state=%s" % state]
        if reason is not None:
            args.append("reason=%s" % reason)
        result = self.scontrol(args, changes=True)
        if result.rc != 0:
            raise self._fail(result, "scontrol update state=%s failed" % state)
        return result

    # ----- reservations
    def reservations(self):
        result = self.scontrol(["-o", "show", "reservation"])
        if result.rc != 0:
            raise self._fail(result, "scontrol show reservation failed")
        return parse_reservations(result.stdout)

    def reservation(self, name):
        """One reservation's record, or None when it does not exist."""
        result = self.scontrol(["-o", "show", "reservation", name])
        if result.rc != 0:
            if "not found" in result.output:
                return None
            raise self._fail(result, "scontrol show reservation %s failed" % name)
        records = [r for r in parse_reservations(result.stdout) if r.get("ReservationName") == name]
        return records[0] if records else None

    def _reservation_command(self, args, what):
        result = self.scontrol(args, changes=True)
        if result.rc != 0:
            for needle, cls in _RESERVATION_ERRORS:
                if needle in result.output:
                    raise self._fail(result, what, cls=cls)
            raise self._fail(result, what)
        return result

    def create_reservation(self, args):
        """args: ['ReservationName=x', 'Nodes=...', ...]. Slurm creates it whole or not at all."""
        return self._reservation_command(["create", "reservation"] + list(args), "could not create the reservation")

    def update_reservation(self, name, args):
        """One update with every changed field; Slurm applies all of them or none."""
        return self._reservation_command(["update", "ReservationName=%s" % name] + list(args),
                                         "could not update reservation %s" % name)

    def delete_reservation(self, name):
        """True when deleted, False when it did not exist."""
        result = self.scontrol(["delete", "ReservationName=%s" % name], changes=True)
        if result.rc != 0:
            if "Requested reservation is invalid" in result.output:
                return False
            raise self._fail(result, "could not delete reservation %s" % name)
        return True
