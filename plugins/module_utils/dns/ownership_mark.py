# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ownership mark: a TXT record '<MARK_TAG> vm=<host> image=<img> job=<hostjob>' beside our records.

It tells the records this collection created from anyone else's, so that a
claim can recognise its own re-run and a removal leaves foreign TXT data alone.
The tag itself is owned by common/marks.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import MARK_TAG
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.rdata import txt_text

MARK_FIELDS = ("vm", "image", "job")
# TXT rdata (presentation form) that carries an ownership mark starts with this
MARK_RDATA_PREFIX = '"%s ' % MARK_TAG

_MARK_VALUE = re.compile(r"^[A-Za-z0-9._:@+/-]{1,100}$")


def format_mark(mark, default_vm=None):
    """'hpc.slurm_vm vm=<host> image=<img> job=<hostjob>' from a dict (vm defaults to the host)."""
    mark = dict(mark or {})
    unknown = sorted(set(mark) - set(MARK_FIELDS))
    if unknown:
        raise InvalidInput("unknown ownership mark field(s) %s (allowed: %s)"
                           % (", ".join(unknown), ", ".join(MARK_FIELDS)))
    if not mark.get("vm"):
        mark["vm"] = default_vm
    words = [MARK_TAG]
    for field in MARK_FIELDS:
        value = mark.get(field)
        if value is None or value == "":
            raise InvalidInput("the ownership mark needs %s=" % field)
        value = str(value)
        if not _MARK_VALUE.match(value):
            raise InvalidInput("ownership mark %s=%r: use letters, digits and ._:@+/- only" % (field, value))
        words.append("%s=%s" % (field, value))
    return " ".join(words)


def parse_mark(text):
    """The fields of an ownership mark (plain or TXT presentation text), or None if it is not one."""
    if text.startswith('"'):
        text = txt_text(text)
    words = text.split()
    if not words or words[0] != MARK_TAG:
        return None
    fields = {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if sep:
            fields[key] = value
    return fields
