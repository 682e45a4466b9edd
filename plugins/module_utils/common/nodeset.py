# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Slurm hostlist expressions through ClusterShell, the field's standard."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput, require_library

try:
    from ClusterShell.NodeSet import NodeSet, NodeSetParseError
    CLUSTERSHELL_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by _require()
    CLUSTERSHELL_IMPORT_ERROR = traceback.format_exc()


def _require():
    require_library(CLUSTERSHELL_IMPORT_ERROR, "ClusterShell", "hostlist expressions")


def expand(expression):
    """Expand 'vm-a-[001-003],x' (or a list of them) into a list of names, in order."""
    _require()
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


def normalize(expression):
    """One canonical hostlist for an expression (or a list of them): parsed once, not per name."""
    _require()
    items = expression if isinstance(expression, (list, tuple)) else [expression]
    try:
        return str(NodeSet(",".join(str(item) for item in items)))
    except NodeSetParseError as exc:
        raise InvalidInput("invalid hostlist expression %r: %s" % (expression, exc)) from exc
