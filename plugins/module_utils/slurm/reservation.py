# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions for slurm_reservation(_info): validate, normalize, compare.

A reservation is compared as the model of slurm/parse.py (reservation_from_record) (sorted node/user/account/flag
lists, epoch times, duration in seconds). Only the fields the user gave are
compared, and an update carries only the fields that differ.

Times: absolute ('2026-12-02T22:18:48', '2026-12-02T22:18', '2026-12-02') or
relative ('now', 'now+7days', 'now+90' = minutes, units seconds, minutes,
hours, days, weeks as scontrol accepts them). They are resolved to absolute
times here, so check mode and the real run send Slurm the same value. A
relative time moves on every run, so it counts as unchanged while it lies
within `tolerance` seconds of the reservation's current value; an absolute time
must match to the second.

Ownership: a reservation named hpcvm-<host> that does not carry the collection's mark (common/marks.py,
reservation_mark_mismatches: that name, Nodes exactly <host>, Users root, nothing else) was not made by the
collection; check_ownership refuses to change or delete it unless force. Other names carry no claim of the
collection: they are the caller's, managed as asked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import nodeset
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput, SlurmVmError
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import (
    host_of_reservation,
    reservation_mark_mismatches,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.durations import format_duration, parse_duration
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.parse import (
    IMPLICIT_RESERVATION_FLAGS,
    SLURM_TIME_FORMAT,
    parse_time,
)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,127}$")
WORD_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,127}$")
FLAG_RE = re.compile(r"^[A-Z_]+(=[0-9:-]+)?$")
_RELATIVE_RE = re.compile(r"^now(?:\s*([+-])\s*(\d+)\s*([a-z]*))?$", re.IGNORECASE)
_UNITS = (("seconds", 1), ("minutes", 60), ("hours", 3600), ("days", 86400), ("weeks", 604800))
_ABS_FORMATS = (SLURM_TIME_FORMAT, "%Y-%m-%dT%H:%M", "%Y-%m-%d")


class ReservationNotOwned(SlurmVmError):
    """A reservation named as the collection's (hpcvm-<host>) without the collection's mark."""


def check_ownership(current, action, force):
    """Raise ReservationNotOwned when `current` (the reservation model, or None) is named hpcvm-<host> but
    does not carry the collection's mark, unless force. action: what would be done ('delete', 'change')."""
    if force or current is None or host_of_reservation(current["name"]) is None:
        return
    mismatches = _mark_mismatches(current)
    if mismatches:
        found = "; ".join("%s=%s where ours has %s" % (field, _shown(field, held), _shown(field, wanted))
                          for field, held, wanted in mismatches)
        raise ReservationNotOwned(
            "refusing to %s reservation %s: its name is hpc.slurm_vm's but hpc.slurm_vm did not create it (%s); "
            "force=true %ss it anyway" % (action, current["name"], found, action),
            reservation=current["name"], mismatches=[dict(field=f, found=h, ours=w) for f, h, w in mismatches])


def owned(current):
    """True when the reservation model `current` is the collection's: named hpcvm-<host>, with its mark."""
    return host_of_reservation(current["name"]) is not None and not _mark_mismatches(current)


def _mark_mismatches(current):
    return reservation_mark_mismatches(current["name"], current["nodes"], current["users"], current["accounts"],
                                       current["flags"], current["partition"])


def _shown(field, value):
    if value is None or value == []:
        return "(none)"
    if field == "Nodes":
        return nodeset.fold(value)
    return ",".join(value) if isinstance(value, list) else str(value)


def resolve_time(value, now):
    """(epoch seconds, relative?) for a user's absolute or 'now+N<unit>' time."""
    text = str(value).strip()
    match = _RELATIVE_RE.match(text)
    if match:
        sign, amount, unit = match.groups()
        if not sign:
            return int(now), True
        seconds = _unit_seconds(unit, value)
        offset = int(amount) * seconds
        return int(now) + (offset if sign == "+" else -offset), True
    epoch = parse_time(text, _ABS_FORMATS)
    if epoch is not None:
        return epoch, False
    raise InvalidInput("invalid time %r: use YYYY-MM-DDTHH:MM[:SS] or now[+N[seconds|minutes|hours|days|weeks]]"
                       % (value,))


def _unit_seconds(unit, value):
    unit = (unit or "minutes").lower()
    for name, seconds in _UNITS:
        if name.startswith(unit) or name.rstrip("s") == unit:
            return seconds
    raise InvalidInput("invalid time unit in %r: use seconds, minutes, hours, days or weeks" % (value,))


def format_time(epoch):
    return time.strftime(SLURM_TIME_FORMAT, time.localtime(epoch))


def _words(values, what, pattern=WORD_RE):
    out = []
    for value in values or []:
        for word in str(value).split(","):
            word = word.strip()
            if not word:
                continue
            if not pattern.match(word):
                raise InvalidInput("invalid %s %r: letters, digits and _ . @ - only" % (what, word))
            if word not in out:
                out.append(word)
    return sorted(out)


def validate_name(name):
    if not name or not NAME_RE.match(name):
        raise InvalidInput("invalid reservation name %r: letters, digits and _ . : + - only "
                           "(no spaces, '=' or ',')" % (name,))
    return name


def desired_from_params(params, now):
    """The user's options as a canonical partial reservation (None = not managed)."""
    name = validate_name(params["name"])
    desired = dict(name=name)
    if params.get("nodes") is not None:
        names = nodeset.expand(params["nodes"])
        if not names:
            raise InvalidInput("nodes is empty")
        desired["nodes"] = sorted(set(names))
    for key in ("users", "accounts"):
        if params.get(key) is not None:
            desired[key] = _words(params[key], key[:-1])
    if params.get("flags") is not None:
        flags = _words([f.upper() for f in params["flags"]], "flag", FLAG_RE)
        desired["flags"] = [f for f in flags if f not in IMPLICIT_RESERVATION_FLAGS]
    if params.get("partition") is not None:
        desired["partition"] = _words([params["partition"]], "partition")[0]
    if params.get("start_time") is not None:
        desired["start"], desired["start_relative"] = resolve_time(params["start_time"], now)
    if params.get("end_time") is not None and params.get("duration") is not None:
        raise InvalidInput("end_time and duration are mutually exclusive")
    if params.get("end_time") is not None:
        desired["end"], desired["end_relative"] = resolve_time(params["end_time"], now)
    if params.get("duration") is not None:
        seconds = parse_duration(params["duration"])
        if seconds is not None and seconds <= 0:
            raise InvalidInput("duration must be positive")
        desired["duration"] = seconds
    if desired.get("start") is not None and desired.get("end") is not None and desired["end"] <= desired["start"]:
        raise InvalidInput("end_time %s is not after start_time %s" % (
            format_time(desired["end"]), format_time(desired["start"])))
    return desired


def public_view(resv):
    """What modules return: readable times and the node list folded."""
    view = {k: v for k, v in resv.items() if not k.endswith("_relative")}
    if "nodes" in view:
        view["nodes_expression"] = nodeset.fold(view["nodes"]) if view["nodes"] else ""
    for key, out in (("start", "start_time"), ("end", "end_time")):
        if view.get(key) is not None:
            view[out] = format_time(view[key])
    if view.get("duration") is not None or "duration" in view:
        view["duration_text"] = format_duration(view["duration"])
    return view


def _same_time(current, wanted, relative, tolerance):
    if current is None:
        return False
    return abs(current - wanted) <= (tolerance if relative else 0)


def create_args(desired):
    """scontrol create reservation arguments; validates what Slurm would refuse."""
    missing = [k for k in ("nodes",) if k not in desired]
    if "end" not in desired and "duration" not in desired:
        missing.append("end_time or duration")
    if missing:
        raise InvalidInput("creating reservation %s needs %s" % (desired["name"], ", ".join(missing)))
    if not desired.get("users") and not desired.get("accounts"):
        raise InvalidInput("creating reservation %s needs users or accounts" % desired["name"])
    start = desired.get("start")
    args = ["ReservationName=%s" % desired["name"], "Nodes=%s" % nodeset.fold(desired["nodes"]),
            "StartTime=%s" % (format_time(start) if start is not None else "now")]
    if desired.get("end") is not None:
        args.append("EndTime=%s" % format_time(desired["end"]))
    else:
        args.append("Duration=%s" % format_duration(desired["duration"]))
    for key, field in (("users", "Users"), ("accounts", "Accounts")):
        if desired.get(key):
            args.append("%s=%s" % (field, ",".join(desired[key])))
    if desired.get("flags"):
        args.append("Flags=%s" % ",".join(desired["flags"]))
    if desired.get("partition"):
        args.append("PartitionName=%s" % desired["partition"])
    return args


def predict_created(desired, now):
    start = desired.get("start", int(now))
    end = desired["end"] if desired.get("end") is not None else (
        None if desired.get("duration") is None else start + desired["duration"])
    return dict(name=desired["name"], nodes=desired["nodes"], start=start, end=end,
                duration=(end - start) if end is not None else None, users=desired.get("users", []),
                accounts=desired.get("accounts", []), flags=desired.get("flags", []),
                partition=desired.get("partition"), state="ACTIVE" if start <= now else "INACTIVE")


def update_args(current, desired, now, tolerance):
    """(scontrol update arguments, predicted after) for the fields that differ; ([], current) when none do."""
    args = []
    after = dict(current)
    if "nodes" in desired and desired["nodes"] != current["nodes"]:
        args.append("Nodes=%s" % nodeset.fold(desired["nodes"]))
        after["nodes"] = desired["nodes"]
    for key, field in (("users", "Users"), ("accounts", "Accounts")):
        if key in desired and desired[key] != current[key]:
            if not desired[key]:
                raise InvalidInput("%s cannot be emptied on an existing reservation; set the other list" % key)
            args.append("%s=%s" % (field, ",".join(desired[key])))
            after[key] = desired[key]
    if "flags" in desired and desired["flags"] != current["flags"]:
        added = [f for f in desired["flags"] if f not in current["flags"]]
        removed = [f for f in current["flags"] if f not in desired["flags"]]
        if added:
            args.append("Flags=%s" % ",".join(added))
        if removed:
            args.append("Flags-=%s" % ",".join(f.split("=")[0] for f in removed))
        after["flags"] = desired["flags"]
    if "partition" in desired and desired["partition"] != current["partition"]:
        args.append("PartitionName=%s" % desired["partition"])
        after["partition"] = desired["partition"]

    start = current["start"]
    if "start" in desired:
        started = current["state"] == "ACTIVE" and current["start"] is not None and current["start"] <= now
        already = started and desired["start"] <= now + (tolerance if desired["start_relative"] else 0)
        if not already and not _same_time(current["start"], desired["start"], desired["start_relative"], tolerance):
            args.append("StartTime=%s" % format_time(desired["start"]))
            start = desired["start"]
    end = current["end"]
    if "end" in desired:
        if not _same_time(current["end"], desired["end"], desired["end_relative"], tolerance):
            args.append("EndTime=%s" % format_time(desired["end"]))
            end = desired["end"]
    elif "duration" in desired and desired["duration"] != current["duration"]:
        args.append("Duration=%s" % format_duration(desired["duration"]))
        end = None if desired["duration"] is None else start + desired["duration"]
    elif start != current["start"] and current["duration"] is not None:
        end = start + current["duration"]  # Slurm keeps the duration when only the start moves
    if start is not None and end is not None and end <= start:
        raise InvalidInput("end time %s is not after start time %s" % (format_time(end), format_time(start)))
    after["start"], after["end"] = start, end
    after["duration"] = (end - start) if (start is not None and end is not None) else current["duration"]
    return args, after


def filter_by_prefix(reservations, prefix):
    return [r for r in reservations if not prefix or r["name"].startswith(prefix)]
