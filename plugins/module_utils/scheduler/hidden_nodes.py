# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pool nodes a slurmctld restart hid: the evidence now lives with the VM states in
vm_state.py (one classify). These names stay importable for plugins/inventory/slurm_demand.py
until it imports them from vm_state."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.vm_state import (  # noqa: F401 (re-exported)
    REGISTERED_FILE,
    hidden_reason,
    hosts_with_jobs,
    registered_memory,
)
