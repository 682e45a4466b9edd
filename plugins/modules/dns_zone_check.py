#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dns_zone_check
short_description: Check that a TSIG key may transfer and update the VMs' DNS zones, changing nothing
version_added: 0.2.0
description:
  - The DNS preflight of the collection playbook C(hpc.slurm_vm.site). For each zone it transfers the zone (AXFR)
    with the key, as the reconciler does, and sends an RFC 2136 UPDATE that the server must authorize but cannot
    apply.
  - That UPDATE has the prerequisite "the probe name is not in use" and deletes the probe name's TXT RRset (the
    type of the collection's ownership marks). The server verifies the key and its update policy, then has
    nothing to do; the zone, its journal and its serial stay as they were. The transfer shows first that the
    probe name is absent.
  - The module fails on the first zone the key cannot transfer or update, with the server's answer (for
    example C(NOTAUTH/BADSIG) for a wrong secret, C(NOTAUTH/BADKEY) for a key the server does not know,
    C(REFUSED) for a key the update policy does not grant) or the network error of a server that is down.
extends_documentation_fragment:
  - hpc.slurm_vm.dns
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  action_group:
    membership: [hpc.slurm_vm.dns]
  check_mode:
    support: full
    details: The same checks run in check mode; they change nothing in either mode.
  diff_mode:
    support: N/A
    details: The module changes nothing.
  platform:
    platforms: posix
options:
  zones:
    description:
      - The zones to check, for example the VMs' forward and reverse zones (O(hpc.slurm_vm.dns_record#module:zone)
        and O(hpc.slurm_vm.dns_record#module:reverse_zone) of the site's C(slurm_vm_dns)).
    type: list
    elements: str
    required: true
  probe_label:
    description:
      - The label, under each zone, that the no-op update names. It must not exist in any of the zones.
      - An update policy that grants the key only some names (for example C(wildcard vm-*)) refuses the default
        label; give one that the policy covers and no host uses.
    type: str
    default: _hpc-slurm-vm-preflight
notes:
  - The key needs the same rights as for M(hpc.slurm_vm.dns_record) and M(hpc.slurm_vm.dns_record_info) -
    update and transfer - so a passing check means the scheduler's DNS work will be authorized.
seealso:
  - module: hpc.slurm_vm.dns_record
  - module: hpc.slurm_vm.dns_record_info
author:
  - hpc.slurm_vm contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: The scheduler's TSIG key may transfer and update both VM zones
  hpc.slurm_vm.dns_zone_check:
    server: 10.77.0.1
    key_name: hpcvm-ddns
    key_secret: "{{ vault_ddns_secret }}"
    zones: [vms.lab.test, 77.10.in-addr.arpa]

- name: The same with the site's connection settings from module_defaults
  module_defaults:
    group/hpc.slurm_vm.dns: "{{ slurm_vm_dns | hpc.slurm_vm.dns_defaults }}"
  hpc.slurm_vm.dns_zone_check:
    zones: ["{{ slurm_vm_dns.zone }}", "{{ slurm_vm_dns.reverse_zone }}"]
"""

RETURN = r"""
zones:
  description: One entry per zone checked, in order.
  returned: success
  type: list
  elements: dict
  sample:
    - zone: vms.lab.test.
      serial: 2026120207
      names: 14
      transfer: true
      update: true
      probe: _hpc-slurm-vm-preflight.vms.lab.test.
server:
  description: The server checked, as address:port.
  returned: always
  type: str
  sample: 10.77.0.1:53
stats:
  description: Messages sent (queries, transfers, updates).
  returned: success
  type: dict
  sample: {queries: 0, transfers: 2, updates: 2}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.connection_options import DNS_CONNECTION_ARGSPEC
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.run import run_dns_zone_check


def main():
    argument_spec = dict(DNS_CONNECTION_ARGSPEC)
    argument_spec.update(
        zones=dict(type="list", elements="str", required=True),
        probe_label=dict(type="str", default="_hpc-slurm-vm-preflight"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    run_dns_zone_check(module)


if __name__ == "__main__":
    main()
