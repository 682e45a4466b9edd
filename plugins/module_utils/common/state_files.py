# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The JSON files the controller-side tasks read: the inventory's snapshot and the state a
previous run left (failure history, reconciler memory). One reader, one error shape."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput

_MISSING = object()


def read_json(path, what, error=InvalidInput, missing=_MISSING):
    """The JSON in path; `missing` when the file does not exist (if given), else `error`
    with 'cannot read the <what> <path>: <why>'."""
    try:
        with open(path) as handle:
            return json.load(handle)
    except FileNotFoundError as exc:
        if missing is not _MISSING:
            return missing
        raise error("cannot read the %s %s: %s" % (what, path, exc)) from exc
    except (OSError, ValueError) as exc:
        raise error("cannot read the %s %s: %s" % (what, path, exc)) from exc


def read_state(path, what, error=InvalidInput):
    """A mapping a previous run wrote; {} before the first run."""
    data = read_json(path, what, error=error, missing={})
    if not isinstance(data, dict):
        raise error("the %s %s is not a mapping" % (what, path))
    return data
