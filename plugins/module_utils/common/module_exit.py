# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place a module's typed errors become its failure.

Clients and planners raise SlurmVmError (common/errors.py) and never call fail_json;
a module's main() hands its work to exit_with_result(), which ends the module with
exit_json on the result or with one fail_json carrying the error's message, class
name and details. finish_module() is the same with the hooks some modules need: a
Python library checked first, their own failure keys, and a last-resort catch-all.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import SlurmVmError


def missing_library_failure(library, import_error):
    """fail_json keys for a Python library whose guarded import failed (import_error: its traceback or exception)."""
    return dict(msg=missing_required_lib(library), exception=str(import_error))


def exit_with_result(module, work, *args, **kwargs):
    """Call work(*args, **kwargs), which returns the module's result dict, and exit_json with it;
    a SlurmVmError it raises ends the module with fail_json(**error.to_result()) instead."""
    finish_module(module, lambda: work(*args, **kwargs))


def finish_module(module, work, required_library=None, failure_keys=None, failure_of=None, catch_all=False):
    """End the module with exit_json(**work()), or with one fail_json.

    required_library: (name, import error or None); a failed import ends the module before work runs.
    failure_keys: keys every failure of a SlurmVmError carries, under the error's own (error.to_result()).
    failure_of: error -> fail_json keys for a SlurmVmError, instead of the two above.
    catch_all: any other exception also fails, as "unexpected error: ..." with its traceback, instead of crashing.
    """
    if required_library is not None and required_library[1] is not None:
        module.fail_json(**missing_library_failure(*required_library))
        return  # fail_json does not return; for stand-ins that do
    failure = None
    try:
        result = work()
    except SlurmVmError as exc:
        failure = failure_of(exc) if failure_of else dict(failure_keys or {}, **exc.to_result())
    except Exception as exc:  # noqa: BLE001 - only with catch_all: reported with the traceback
        if not catch_all:
            raise
        failure = dict(msg="unexpected error: %s" % exc, exception=traceback.format_exc())
    # outside the except blocks: a typed error is an answer, not a crash with a traceback
    if failure is not None:
        module.fail_json(**failure)
        return
    module.exit_json(**result)
