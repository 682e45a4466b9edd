# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side helper shared by the collection's filter plugins."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools

from ansible.errors import AnsibleFilterError

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import SlurmVmError


def raises_filter_error(function):
    """Turn the collection's typed errors into AnsibleFilterError, naming the error class."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except SlurmVmError as exc:
            raise AnsibleFilterError("%s: %s" % (type(exc).__name__, exc.message)) from exc
    return wrapper
