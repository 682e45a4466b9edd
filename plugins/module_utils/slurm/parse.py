# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one Slurm parse layer: scontrol/squeue text in, node, job and reservation models out.

Nothing else in the collection reads Slurm's text, and the facts about Slurm's states
live here once. Slurm 22.05's scontrol has no JSON, so the one-line (-o) forms are read:
values may hold spaces (Reason=..., OS=...), and a node's Reason is the last field of its
line. squeue's job lines are read by parse_squeue.py, with the values and times defined here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import nodeset
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import SlurmVmError
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import (
    host_of_reservation,
    reservation_mark_mismatches,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.durations import parse_duration

# A node running (or finishing) jobs: its base state is one of these.
NODE_BUSY_STATES = ("ALLOCATED", "MIXED", "COMPLETING")
# Job states in which a job occupies its nodes.
JOB_STATES_ON_NODE = ("RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED")
# A host job in one of these states holds (or will hold) its VM: never submit a second one.
HOST_JOB_LIVE_STATES = ("PENDING", "CONFIGURING", "RUNNING", "SUSPENDED", "COMPLETING", "REQUEUED", "RESIZING")
# Flags Slurm adds to a reservation by itself (SPEC_NODES whenever Nodes= is given): never compared.
IMPLICIT_RESERVATION_FLAGS = ("SPEC_NODES",)
SLURM_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"

_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_/:]*$")
_REASON_RE = re.compile(r"^(?P<text>.*?)\s*\[(?P<user>[^\]@]*)@(?P<time>[^\]]*)\]$")
_GRES_RE = re.compile(r"gres:([A-Za-z0-9_]+)(?::[A-Za-z0-9_.-]+)?:(\d+)")
_NULL = ("", "(null)", "None", "N/A", "n/a")
_NO_TIME = _NULL + ("Unknown",)


class UnexpectedOutput(SlurmVmError):
    """A Slurm command printed a line this layer cannot read."""


# ---------------------------------------------------------------- words and values
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


_TIME_CACHE = {}


def parse_time(value, formats=(SLURM_TIME_FORMAT,)):
    """A local time as epoch seconds: Slurm's ISO form by default, or the first of `formats` that
    matches. None for N/A, None, Unknown and for a value no format matches. Cached: the 10,000
    tasks of one job array share their times."""
    if value is None:
        return None
    text = value.strip()
    if text in _NO_TIME:
        return None
    key = (text, formats)
    if key in _TIME_CACHE:
        return _TIME_CACHE[key]
    parsed = None
    for fmt in formats:
        try:
            parsed = int(time.mktime(time.strptime(text, fmt)))
            break
        except ValueError:
            continue
    if len(_TIME_CACHE) > 100000:
        _TIME_CACHE.clear()
    _TIME_CACHE[key] = parsed
    return parsed


def parse_gres(tres_per_node):
    """'gres:vm_deb12:1' / 'gres:vm_x:tesla:2,gres:y:1' -> {'vm_deb12': 1}."""
    found = {}
    for name, count in _GRES_RE.findall(tres_per_node or ""):
        found[name] = found.get(name, 0) + int(count)
    return found


_NODE_GRES_RE = re.compile(r"^([A-Za-z0-9_]+)(?::[A-Za-z0-9_.-]+)?:(\d+)(?:\(.*\))?$")


def parse_node_gres(text):
    """A node's Gres= ('vm_deb12:4', 'gpu:tesla:2(S:0),vm_x:1', '(null)') -> {'vm_deb12': 4}."""
    found = {}
    for part in (text or "").split(","):
        match = _NODE_GRES_RE.match(part.strip())
        if match:
            found[match.group(1)] = found.get(match.group(1), 0) + int(match.group(2))
    return found


# ---------------------------------------------------------------- nodes
def is_registered(base, flags, slurmd_start_time, boot_time, reason_time=None):
    """Has this node's slurmd registered (and is it still answering)? The one definition.

    - FUTURE never counts: Slurm does not ping FUTURE nodes.
    - A node whose slurmd never registered has SlurmdStartTime=None and BootTime=None: both must be set.
    - NOT_RESPONDING: slurmctld cannot reach the slurmd. A slurmd that died
      only seconds ago still counts until slurmctld's next ping notices it.
    - A DOWN node whose reason was set after its slurmd started does not count. A return to the
      pool (down, future) keeps SlurmdStartTime and BootTime of the name's earlier life, and a
      node set DOWN from FUTURE shows them without NOT_RESPONDING until the next ping (seen in the
      lab on 22.05: 12 s later). A slurmd that starts after the down registers anew and counts.
    Times are Slurm's text ('2026-11-25T22:16:45', 'None').
    """
    if base == "FUTURE" or "NOT_RESPONDING" in flags or null(slurmd_start_time) is None or null(boot_time) is None:
        return False
    if base == "DOWN" and null(reason_time) is not None:
        started, downed = parse_time(slurmd_start_time), parse_time(reason_time)
        if started is not None and downed is not None and started < downed:
            return False
    return True


# The node fields the models need: NodeName, State and the times hold no spaces, Reason is split off first.
_NODE_FIELDS = ("NodeName", "State", "SlurmdStartTime", "BootTime", "LastBusyTime", "Gres", "AvailableFeatures",
                "CPUAlloc", "CPUTot", "RealMemory")
_NODE_FIELD_RE = re.compile(r"(?:^| )(%s)=(\S*)" % "|".join(_NODE_FIELDS))


def node_record_fields(line):
    """The few fields the models need from one node line, without parsing all ~40 of them
    (1,000 nodes per run). Reason is the last field and the only free text, so it is split off
    first and no other value can fake a key."""
    head, sep, reason = line.rstrip("\n").partition(" Reason=")
    record = dict(_NODE_FIELD_RE.findall(head))
    if sep:
        record["Reason"] = reason.strip()
    return record


def node_from_record(record):
    """The node model: Slurm's text values (times as Slurm prints them), plus registered."""
    base, flags = split_state(record.get("State"))
    reason, reason_user, reason_time = split_reason(record.get("Reason"))
    slurmd_start = null(record.get("SlurmdStartTime"))
    boot_time = null(record.get("BootTime"))
    features = record.get("AvailableFeatures")
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
        last_busy_time=null(record.get("LastBusyTime")),
        gres=record.get("Gres", ""),
        features="" if features in (None, "(null)") else features,
        alloc_cpus=int(record.get("CPUAlloc", "0") or 0),
        cpus=_int_or_none(record.get("CPUTot")),
        real_memory=_int_or_none(record.get("RealMemory")),
        registered=is_registered(base, flags, slurmd_start, boot_time, reason_time),
    )


def _int_or_none(value):
    return int(value) if value and value.isdigit() else None


def parse_nodes(text):
    """`scontrol -F -o show node` output -> {name: node model}; 'Node X not found' lines are skipped."""
    nodes = {}
    for line in text.splitlines():
        if line.startswith("NodeName="):
            node = node_from_record(node_record_fields(line))
            nodes[node["name"]] = node
    return nodes


def snapshot_node(node):
    """The snapshot's view of a node model: base state, epoch times, '' for no reason."""
    return {
        "state": node["base"],
        "flags": node["flags"],
        "reason": node["reason"] or "",
        "reason_time": parse_time(node["reason_time"]),
        "registered": node["registered"],
        "boot_time": parse_time(node["boot_time"]),
        "slurmd_start": parse_time(node["slurmd_start_time"]),
        "last_busy": parse_time(node["last_busy_time"]),
        "gres": node["gres"],
        "features": node["features"],
        "alloc_cpus": node["alloc_cpus"],
        "cpus": node["cpus"],
        "real_memory": node["real_memory"],
    }


def snapshot_nodes(text):
    """`scontrol -F -o show node` output -> {name: snapshot_node}."""
    return {name: snapshot_node(node) for name, node in parse_nodes(text).items()}


# ---------------------------------------------------------------- reservations
def parse_reservations(text):
    """`scontrol -o show res` output -> list of record dicts."""
    return [parse_record(line) for line in text.splitlines() if line.startswith("ReservationName=")]


def reservation_from_record(record):
    """A `scontrol -o show res` record as the reservation model: sorted lists, epoch times,
    duration in seconds."""
    flags = [f for f in (null(record.get("Flags")) or "").split(",") if f]
    duration = null(record.get("Duration"))
    nodes = null(record.get("Nodes"))
    return dict(
        name=record["ReservationName"],
        nodes=sorted(nodeset.expand(nodes)) if nodes else [],
        start=parse_time(record.get("StartTime")),
        end=parse_time(record.get("EndTime")),
        duration=parse_duration(duration) if duration else None,
        users=sorted(w for w in (null(record.get("Users")) or "").split(",") if w),
        accounts=sorted(w for w in (null(record.get("Accounts")) or "").split(",") if w),
        flags=sorted(f for f in flags if f not in IMPLICIT_RESERVATION_FLAGS),
        partition=null(record.get("PartitionName")),
        state=null(record.get("State")),
    )


def reservation_is_ours(record):
    """Whether a `scontrol -o show res` record carries the collection's mark (common/marks.py: the
    name hpcvm-<host>, Nodes exactly <host>, the users spawn sets, nothing else)."""
    if host_of_reservation(record["ReservationName"]) is None:
        return False
    model = reservation_from_record(record)
    return not reservation_mark_mismatches(model["name"], model["nodes"], model["users"], model["accounts"],
                                           model["flags"], model["partition"])


def snapshot_reservations(text):
    """`scontrol -o show res` output -> {name: {nodes, start, end, users, state, ours}} for the snapshot;
    ours: reservation_is_ours (a reservation named like ours but without the mark is someone else's)."""
    reservations = {}
    for record in parse_reservations(text):
        reservations[record["ReservationName"]] = {
            "nodes": record.get("Nodes", ""),
            "start": parse_time(record.get("StartTime")),
            "end": parse_time(record.get("EndTime")),
            "users": record.get("Users", ""),
            "state": record.get("State", ""),
            "ours": reservation_is_ours(record),
        }
    return reservations
