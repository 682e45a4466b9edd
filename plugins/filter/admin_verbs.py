# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The admin verbs' filters (playbooks status.yml and drain.yml): the status table and its data from a
vm_plan result (module_utils/scheduler/status.py), and the VMs a drain names (scheduler/admin_drain.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import admin_drain
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import status
from ansible_collections.hpc.slurm_vm.plugins.plugin_utils.filter_errors import raises_filter_error


@raises_filter_error
def vm_status(plan):
    """vm_plan's result -> {planned_at, images, vms}: the status as data (JSON)."""
    return status.status_data(plan)


@raises_filter_error
def vm_status_table(plan):
    """vm_plan's result -> the status as text: a line per image, then a row per VM."""
    return status.status_table(plan)


@raises_filter_error
def vm_drain_targets(pool_vars, images, vms=None, hypervisor=None):
    """hostvars -> {drain, skipped, vms}: the VMs an admin's drain names and which of them are drained now."""
    return admin_drain.drain_targets(pool_vars, images, vms=vms, hypervisor=hypervisor)


@raises_filter_error
def vm_admin_reason(reason, prefix=None, teardown_prefix=None):
    """'disk errors' -> 'hpc.slurm_vm admin drain: disk errors'."""
    return admin_drain.admin_reason(reason, prefix, teardown_prefix)


class FilterModule(object):
    def filters(self):
        return {
            "vm_status": vm_status,
            "vm_status_table": vm_status_table,
            "vm_drain_targets": vm_drain_targets,
            "vm_admin_reason": vm_admin_reason,
        }
