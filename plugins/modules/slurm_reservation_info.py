#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: slurm_reservation_info
short_description: List Slurm reservations, optionally those whose name starts with a prefix
version_added: 0.1.0
description:
  - Reads every reservation in one C(scontrol -o show reservation) call and returns them as canonical dicts.
  - O(name_prefix=hpcvm-) lists the reservations named as the collection's, including any made by hand under
    that prefix. Each one's C(owned) says whether it is the collection's own, that is named C(hpcvm-<host>) and
    in the shape the spawn role gives it (Nodes exactly C(<host>), Users exactly C(root), no Accounts, Flags or
    PartitionName), which is what M(hpc.slurm_vm.slurm_reservation) changes and deletes without
    O(hpc.slurm_vm.slurm_reservation#module:force).
author:
  - hpc.slurm_vm contributors (!UNKNOWN)
extends_documentation_fragment:
  - hpc.slurm_vm.slurm
  - hpc.slurm_vm.slurm.attributes
  - hpc.slurm_vm.slurm.info_module
options:
  name_prefix:
    description: Return only reservations whose name starts with this prefix. Empty returns all.
    type: str
    default: ""
seealso:
  - module: hpc.slurm_vm.slurm_reservation
"""

EXAMPLES = r"""
- name: List the collection's reservations in the VM cluster
  hpc.slurm_vm.slurm_reservation_info:
    slurm_conf: /etc/slurm-vm/slurm.conf
    name_prefix: hpcvm-
  register: ours

- name: Show their nodes
  ansible.builtin.debug:
    msg: "{{ ours.reservations | map(attribute='nodes_expression') | list }}"
"""

RETURN = r"""
reservations:
  description: The reservations, sorted by name.
  returned: always
  type: list
  elements: dict
  sample:
    - name: hpcvm-vm-disk-001
      nodes: [vm-disk-001]
      nodes_expression: vm-disk-001
      start: 1796249928
      start_time: "2026-12-02T22:18:48"
      end: 1796253528
      end_time: "2026-12-02T23:18:48"
      duration: 3600
      duration_text: "01:00:00"
      users: [root]
      accounts: []
      flags: [MAINT]
      partition: null
      state: INACTIVE
      owned: false
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.module_exit import exit_with_result
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.connection_options import SLURM_ARGUMENT_SPEC
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.run import run_slurm_reservation_info


def main():
    module = AnsibleModule(argument_spec=dict(name_prefix=dict(type="str", default=""), **SLURM_ARGUMENT_SPEC),
                           supports_check_mode=True)
    exit_with_result(module, run_slurm_reservation_info, module)


if __name__ == "__main__":
    main()
