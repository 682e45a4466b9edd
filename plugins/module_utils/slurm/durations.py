# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Slurm time-limit strings ('1-12:00:00', '90', 'UNLIMITED') to seconds and back."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput

UNLIMITED_WORDS = ("INFINITE", "UNLIMITED")

# The forms sbatch(1) accepts for --time.
_FORMS = (
    (re.compile(r"^(\d+)$"), ("m",)),
    (re.compile(r"^(\d+):(\d+)$"), ("m", "s")),
    (re.compile(r"^(\d+):(\d+):(\d+)$"), ("h", "m", "s")),
    (re.compile(r"^(\d+)-(\d+)$"), ("d", "h")),
    (re.compile(r"^(\d+)-(\d+):(\d+)$"), ("d", "h", "m")),
    (re.compile(r"^(\d+)-(\d+):(\d+):(\d+)$"), ("d", "h", "m", "s")),
)
_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(value):
    """Seconds in a Slurm time string; None for INFINITE/UNLIMITED."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value * 60
    text = str(value).strip()
    if text.upper() in UNLIMITED_WORDS:
        return None
    for pattern, units in _FORMS:
        match = pattern.match(text)
        if match:
            return sum(int(part) * _SECONDS[unit] for part, unit in zip(match.groups(), units))
    raise InvalidInput("invalid Slurm time %r: use minutes, [days-]hours:minutes:seconds or days-hours" % (value,))


def format_duration(seconds):
    """Seconds as Slurm's canonical D-HH:MM:SS (HH:MM:SS under a day)."""
    if seconds is None:
        return "UNLIMITED"
    seconds = int(seconds)
    if seconds < 0:
        raise InvalidInput("a duration cannot be negative: %d" % seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return "%d-%02d:%02d:%02d" % (days, hours, minutes, secs)
    return "%02d:%02d:%02d" % (hours, minutes, secs)
