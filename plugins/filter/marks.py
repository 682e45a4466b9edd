# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ownership-mark names for role YAML: the same functions the modules use
(module_utils/common/marks.py), so no role spells a prefix itself."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import marks


def vm_node_reason(text, prefix=None):
    """'VM gone' -> 'hpc.slurm_vm: VM gone': a node reason the planner and the reconciler take for ours.

    prefix is slurm_vm_teardown_reason_prefix; unset or empty, the collection's default (the one
    vm_plan and vm_reconcile_plan use when their reason_prefix is not given).
    """
    return "%s %s" % (prefix or marks.DEFAULT_REASON_PREFIX, text)


def vm_host_job_ref(host):
    """'vm-a-001' -> {'hostname': 'vm-a-001'}: a VM's host job as slurm_host_job's jobs lists it
    (the module finds the job by its name, the mark hpcvm:<host>; state=absent cancels it)."""
    return {"hostname": host}


class FilterModule(object):
    def filters(self):
        return {
            "vm_reservation_name": marks.reservation_name,
            "vm_host_job_name": marks.host_job_name,
            "vm_host_job_ref": vm_host_job_ref,
            "vm_dhcp_object_name": marks.dhcp_object_name,
            "vm_node_reason": vm_node_reason,
        }
