#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dhcp_host
short_description: DHCP host reservations (MAC to IP and hostname) in Kea, dnsmasq or ISC dhcpd
version_added: 0.1.0
description:
  - Adds, changes or removes DHCP host reservations, one host or hundreds in one task (O(hosts)).
  - The server is chosen with O(backend). All backends share one planner, so they behave alike.
  - The module refuses, and changes nothing, when an IP or MAC is already reserved for another host, when the IP is
    outside O(subnet), or when the reservation exists but is not marked as hpc.slurm_vm's, unless O(force=true).
    dnsmasq and dhcpd would accept such duplicates silently.
  - "Ownership marks: Kea stores the C(user-context) key C(hpc.slurm_vm) holding C(vm=HOST) plus O(mark); dnsmasq files
    are named C(hpc-slurm-vm-HOST) and hold the mark in a comment; dhcpd host objects are named C(hpc-slurm-vm-HOST)."
  - Hostnames are lower-cased, since DNS and dnsmasq lower-case them.
  - Every MAC and IP is checked before any server is contacted. A multicast, broadcast or all-zero MAC, and an IP
    that is the network or broadcast address of O(subnet), are refused even with O(force=true).
extends_documentation_fragment:
  - hpc.slurm_vm.dhcp
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
options:
  state:
    description: Whether the reservations should exist.
    type: str
    choices: [present, absent]
    default: present
  mac:
    description:
      - MAC address of a single host. Mutually exclusive with O(hosts).
      - A unicast EUI-48 address that is not all zero, written as six hex octets separated by C(:) or C(-),
        or as 12 bare hex digits, in any case. It is stored lower case with colons.
    type: str
  ip:
    description:
      - Reserved IPv4 address of a single host, a dotted quad without leading zeros.
      - With O(subnet), the subnet's network and broadcast addresses are refused, even with O(force=true)
        (both addresses of a /31 and the one of a /32 are host addresses, as in RFC 3021).
    type: str
  hostname:
    description:
      - Hostname of a single host; it identifies the reservation.
      - With O(state=absent), the reservation of this hostname is removed (or, without it, the one of O(mac)).
    type: str
  mark:
    description:
      - Extra fields of the ownership mark (for example C(image) and C(job)).
      - Stored by Kea and dnsmasq, not by dhcpd.
    type: dict
    default: {}
  hosts:
    description: Many hosts at once, each with C(mac), C(ip), C(hostname) and an optional C(mark).
    type: list
    elements: dict
    suboptions:
      mac:
        description: MAC address, as O(mac).
        type: str
      ip:
        description: Reserved IPv4 address, as O(ip).
        type: str
      hostname:
        description: Hostname.
        type: str
      mark:
        description: Extra mark fields for this host, merged over O(mark).
        type: dict
  force:
    description: Take over an IP or MAC held by another host (its reservation is removed), accept an IP outside
      O(subnet), and change or remove reservations that carry no hpc.slurm_vm mark.
    type: bool
    default: false
notes:
  - The V(dnsmasq) backend acts on files of the DHCP server's host; run it there with C(delegate_to).
  - The V(omapi) backend cannot look host objects up by IP, so a duplicate IP held by a dhcpd host object named
    otherwise goes unnoticed. ISC dhcpd is end of life; its OMAPI listens on every address.
requirements:
  - netaddr >= 1.0 (MAC and IP checks, on the host that runs the module)
seealso:
  - module: hpc.slurm_vm.dhcp_host_info
author:
  - hpc.slurm_vm contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Reserve an address for a VM in Kea's host database
  hpc.slurm_vm.dhcp_host:
    backend: kea_pgsql
    pgsql_host: db.example.org
    pgsql_password: "{{ kea_db_password }}"
    subnet_id: 1
    subnet: 10.78.0.0/24
    hostname: vm-deb12-001
    mac: "52:54:00:78:00:01"
    ip: 10.78.0.11
    mark:
      image: deb12
      job: "4711"

- name: Many hosts in one task, through the Kea control agent
  hpc.slurm_vm.dhcp_host:
    backend: kea_api
    kea_api_url: https://kea.example.org:8000/
    kea_api_user: ansible
    kea_api_password: "{{ kea_api_password }}"
    subnet_id: 1
    hosts:
      - {hostname: vm-deb12-001, mac: "52:54:00:78:00:01", ip: 10.78.0.11}
      - {hostname: vm-deb12-002, mac: "52:54:00:78:00:02", ip: 10.78.0.12}

- name: Remove a dnsmasq reservation, on the DHCP server's host
  hpc.slurm_vm.dhcp_host:
    backend: dnsmasq
    dnsmasq_hostsdir: /etc/dnsmasq.d/hosts
    dnsmasq_pid_file: /run/dnsmasq/dnsmasq.pid
    hostname: vm-deb12-001
    state: absent
  delegate_to: dhcp01
"""

RETURN = r"""
added:
  description: Hostnames whose reservation was (or, in check mode, would be) created.
  returned: always
  type: list
  elements: str
  sample: [vm-deb12-001]
modified:
  description: Hostnames whose reservation was replaced (other MAC, IP or mark).
  returned: always
  type: list
  elements: str
removed:
  description: Hostnames (or MACs) whose reservation was removed.
  returned: always
  type: list
  elements: str
unchanged:
  description: How many hosts already were as wanted.
  returned: always
  type: int
  sample: 0
backend:
  description: The backend used.
  returned: always
  type: str
  sample: kea_pgsql
capabilities:
  description: What the backend can do (needs_subnet_id, can_list, finds_by_ip, stores_mark, transactional).
  returned: success
  type: dict
diff:
  description: The affected reservations before and after.
  returned: success
  type: dict
  contains:
    before:
      description: C(hosts), the affected reservations as they were.
      type: dict
    after:
      description: C(hosts), the affected reservations as they are now.
      type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.run import (
    DHCP_HOST_MODULE_KWARGS,
    dhcp_host_argument_spec,
    run_dhcp_host,
)


def main():
    module = AnsibleModule(argument_spec=dhcp_host_argument_spec(), **DHCP_HOST_MODULE_KWARGS)
    run_dhcp_host(module)


if __name__ == "__main__":
    main()
