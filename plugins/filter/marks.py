# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ownership-mark names for role YAML: the same functions the modules use
(module_utils/common/marks.py), so no role spells a prefix itself."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import marks


class FilterModule(object):
    def filters(self):
        return {
            "vm_reservation_name": marks.reservation_name,
            "vm_host_job_name": marks.host_job_name,
        }
