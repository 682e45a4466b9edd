# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The JSON files the controller-side tasks read: the inventory's snapshot and the state a
previous run left (failure history, reconciler memory). One reader, one error shape."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import tempfile

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


def write_atomic(path, text, mode=0o644, sync=False):
    """Write text to path atomically: a temporary file in the same folder, given `mode`, renamed over
    path (sync: fsync it first). Raises OSError; the temporary file never stays behind."""
    directory = os.path.dirname(path) or "."
    handle, temp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(handle, "w") as out:
            os.fchmod(out.fileno(), mode)
            out.write(text)
            if sync:
                out.flush()
                os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
