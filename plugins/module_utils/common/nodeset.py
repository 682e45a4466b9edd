# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Slurm hostlist expressions through ClusterShell, the field's standard.

ClusterShell builds a set of every index while it parses ('vm-[1-99999999]' takes minutes and gigabytes,
then a MemoryError), so expand() and normalize() first count the names from the text alone
(count_names) and refuse more than MAX_NAMES, or the limit a caller passes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import traceback

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput, require_library

try:
    from ClusterShell.NodeSet import NodeSet, NodeSetParseError
    CLUSTERSHELL_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by _require()
    CLUSTERSHELL_IMPORT_ERROR = traceback.format_exc()


# The default bound on the names one expression (or list of them) may stand for.
MAX_NAMES = 100000

# A bracket group, and the separators between terms outside brackets: ',' and ClusterShell's operators.
_BRACKET_RE = re.compile(r"\[([^\[\]]*)\]")
_RANGE_RE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*(?:/\s*(\d+)\s*)?)?$")
_TERM_SEPARATORS_RE = re.compile(r"[,!&^](?![^\[]*\])")


def _require():
    require_library(CLUSTERSHELL_IMPORT_ERROR, "ClusterShell", "hostlist expressions")


def _bracket_count(content):
    """How many indexes one bracket group's text ('1-5,7,10-20/2') stands for. A range it cannot read
    counts as 1: ClusterShell then refuses it with its own error."""
    count = 0
    for part in content.split(","):
        match = _RANGE_RE.match(part)
        if not match or match.group(2) is None:
            count += 1
            continue
        first, last, step = int(match.group(1)), int(match.group(2)), int(match.group(3) or 1)
        count += (last - first) // step + 1 if last >= first and step > 0 else 1
    return count


def count_names(expression):
    """An upper bound of the names an expression (or a list of them) stands for, read from the text
    without expanding anything: per term, the product of its bracket groups' sizes; the terms add up
    (overlaps and the operators ! & ^ count in full, as ClusterShell parses every term whole)."""
    items = expression if isinstance(expression, (list, tuple)) else [expression]
    total = 0
    for item in items:
        for term in _TERM_SEPARATORS_RE.split(str(item)):
            size = 1
            for content in _BRACKET_RE.findall(term):
                size *= _bracket_count(content)
            total += size
    return total


def check_size(expression, limit=MAX_NAMES):
    """Raise InvalidInput when the expression stands for more than limit names (None: no bound)."""
    if limit is None:
        return
    count = count_names(expression)
    if count > limit:
        raise InvalidInput("hostlist %r stands for %s names, more than the limit of %s"
                           % (_short(expression), "{:,}".format(count), "{:,}".format(limit)),
                           names=count, limit=limit)


def _short(expression):
    text = ",".join(str(i) for i in expression) if isinstance(expression, (list, tuple)) else str(expression)
    return text if len(text) <= 200 else text[:200] + "..."


def expand(expression, limit=MAX_NAMES):
    """Expand 'vm-a-[001-003],x' (or a list of them) into a list of names, in order; more than limit names
    (counted before anything is expanded) is an InvalidInput."""
    _require()
    check_size(expression, limit)
    items = expression if isinstance(expression, (list, tuple)) else [expression]
    names = []
    for item in items:
        try:
            names.extend(str(n) for n in NodeSet(str(item)))
        except NodeSetParseError as exc:
            raise InvalidInput("invalid hostlist expression %r: %s" % (item, exc)) from exc
    return names


def fold(names):
    """Fold names into one hostlist expression ('vm-a-[001-003]')."""
    _require()
    return str(NodeSet.fromlist([str(n) for n in names]))


def normalize(expression, limit=MAX_NAMES):
    """One canonical hostlist for an expression (or a list of them): parsed once, not per name; bounded as
    expand()."""
    _require()
    check_size(expression, limit)
    items = expression if isinstance(expression, (list, tuple)) else [expression]
    try:
        return str(NodeSet(",".join(str(item) for item in items)))
    except NodeSetParseError as exc:
        raise InvalidInput("invalid hostlist expression %r: %s" % (expression, exc)) from exc
