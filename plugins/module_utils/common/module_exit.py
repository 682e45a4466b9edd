# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place a module's typed errors become its failure.

Clients and planners raise SlurmVmError (common/errors.py) and never call fail_json;
a module's main() hands its work to exit_with_result(), which ends the module with
exit_json on the result or with one fail_json carrying the error's message, class
name and details.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import SlurmVmError


def exit_with_result(module, work, *args, **kwargs):
    """Call work(*args, **kwargs), which returns the module's result dict, and exit_json with it;
    a SlurmVmError it raises ends the module with fail_json(**error.to_result()) instead."""
    try:
        result = work(*args, **kwargs)
    except SlurmVmError as exc:
        module.fail_json(**exc.to_result())
        return  # fail_json does not return; for stand-ins that do
    module.exit_json(**result)
