#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dhcp_host_info
short_description: List DHCP host reservations with their hpc.slurm_vm ownership marks
version_added: 0.1.0
description:
  - Lists the reservations of a DHCP server (Kea through its host database or control agent, dnsmasq's hostsdir), or
    looks some up by MAC, IP or hostname. Each comes with C(owned) and its C(mark), for the reconciler.
  - The V(omapi) backend cannot list; give O(mac) or O(hostname) to look host objects up.
extends_documentation_fragment:
  - hpc.slurm_vm.dhcp
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: N/A
  platform:
    platforms: posix
options:
  mac:
    description: Look up the reservations of these MACs instead of listing all.
    type: list
    elements: str
    default: []
  ip:
    description: Look up the reservations of these IPs.
    type: list
    elements: str
    default: []
  hostname:
    description: Look up the reservations of these hostnames.
    type: list
    elements: str
    default: []
  owned_only:
    description: Return only reservations that carry the hpc.slurm_vm mark.
    type: bool
    default: false
seealso:
  - module: hpc.slurm_vm.dhcp_host
author:
  - hpc.slurm_vm contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Our reservations in Kea's subnet 1
  hpc.slurm_vm.dhcp_host_info:
    backend: kea_pgsql
    pgsql_host: db.example.org
    pgsql_password: "{{ kea_db_password }}"
    subnet_id: 1
    owned_only: true
  register: dhcp
"""

RETURN = r"""
reservations:
  description: The reservations found, sorted by hostname.
  returned: success
  type: list
  elements: dict
  contains:
    mac:
      description: MAC address, lower case with colons.
      type: str
    ip:
      description: Reserved IPv4 address.
      type: str
    hostname:
      description: Hostname (lower case).
      type: str
    subnet_id:
      description: Kea subnet id (Kea backends).
      type: int
    owned:
      description: Whether the reservation carries the hpc.slurm_vm mark.
      type: bool
    mark:
      description: The mark (C(vm) plus extra fields where the backend stores them), or null.
      type: dict
  sample:
    - {mac: "52:54:00:78:00:01", ip: 10.78.0.11, hostname: vm-deb12-001, subnet_id: 1, owned: true,
       mark: {vm: vm-deb12-001, image: deb12}}
backend:
  description: The backend used.
  returned: always
  type: str
capabilities:
  description: What the backend can do.
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.run import (
    dhcp_host_info_argument_spec,
    run_dhcp_host_info,
)


def main():
    module = AnsibleModule(argument_spec=dhcp_host_info_argument_spec(), supports_check_mode=True)
    run_dhcp_host_info(module)


if __name__ == "__main__":
    main()
