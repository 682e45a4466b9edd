#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dns_record_info
short_description: List DNS records under a zone or a name prefix, with their hpc.slurm_vm ownership marks
version_added: 0.1.0
description:
  - Lists the records of a zone (one zone transfer, AXFR, which the server must allow for this host), optionally
    only the names starting with O(prefix), or the records at the given O(names) (queries; no transfer needed).
  - Each name comes with its ownership mark (the TXT record C(hpc.slurm_vm vm=... image=... job=...)), so the
    reconciler can tell the records the collection created from the others.
extends_documentation_fragment:
  - hpc.slurm_vm.dns
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  action_group:
    membership: [hpc.slurm_vm.dns]
  check_mode:
    support: full
    details: The module only reads; it runs the same in check mode.
  diff_mode:
    support: N/A
    details: The module changes nothing.
  platform:
    platforms: posix
options:
  zone:
    description:
      - Zone to list (by AXFR). With O(names), the zone of relative names; otherwise found by SOA.
    type: str
  prefix:
    description:
      - Only names whose label relative to the zone (or whose absolute name) starts with this text,
        for example V(vm-deb12-).
    type: str
  names:
    description: Only these names, read by queries instead of a zone transfer.
    type: list
    elements: str
  types:
    description: Only these record types.
    type: list
    elements: str
    choices: [A, AAAA, CNAME, PTR, TXT, NS, SOA, MX, SRV]
  owned_only:
    description: Only names that carry an hpc.slurm_vm ownership mark.
    type: bool
    default: false
notes:
  - O(port) must be a TCP port (1 to 65535) and O(timeout) above 0; other values fail before anything is sent.
  - O(key_secret) must be base64 that decodes to at least the hash output length of O(key_algorithm), that is 16
    bytes for hmac-md5, 20 for hmac-sha1, 28 for hmac-sha224, 32 for hmac-sha256, 48 for hmac-sha384 and 64 for
    hmac-sha512 (RFC 2104 section 3; C(tsig-keygen) makes keys of that length). The error gives the length, never
    the secret.
seealso:
  - module: hpc.slurm_vm.dns_record
author:
  - hpc.slurm_vm contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: The VM names the collection owns in the forward zone
  hpc.slurm_vm.dns_record_info:
    server: 10.77.0.1
    key_name: hpcvm-ddns
    key_secret: "{{ vault_ddns_secret }}"
    zone: vms.lab.test
    owned_only: true
  register: dns_owned

- name: All PTRs of the VM network
  hpc.slurm_vm.dns_record_info:
    server: 10.77.0.1
    zone: 77.10.in-addr.arpa
    types: [PTR]
  register: dns_ptrs

- name: Two names, by query
  hpc.slurm_vm.dns_record_info:
    server: 10.77.0.1
    names: [vm-deb12-001.vms.lab.test, vm-deb12-002.vms.lab.test]
"""

RETURN = r"""
names:
  description: One entry per name that holds records, with its records by type and its ownership mark.
  returned: always
  type: list
  elements: dict
  sample:
    - name: vm-deb12-001.vms.lab.test.
      label: vm-deb12-001
      zone: vms.lab.test.
      owned: true
      mark: {vm: vm-deb12-001, image: deb12, job: "4711"}
      records: {A: [10.77.1.1], TXT: ['"hpc.slurm_vm vm=vm-deb12-001 image=deb12 job=4711"']}
records:
  description: One entry per record (name, zone, type, ttl, value, owned).
  returned: always
  type: list
  elements: dict
owned:
  description: Absolute names that carry an ownership mark.
  returned: always
  type: list
  elements: str
zones:
  description: The zones read.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.connection_options import DNS_CONNECTION_ARGSPEC
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.run import run_dns_record_info


def main():
    argument_spec = dict(DNS_CONNECTION_ARGSPEC)
    argument_spec.update(
        zone=dict(type="str"),
        prefix=dict(type="str"),
        names=dict(type="list", elements="str"),
        types=dict(type="list", elements="str", choices=["A", "AAAA", "CNAME", "PTR", "TXT", "NS", "SOA", "MX", "SRV"]),
        owned_only=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_one_of=[("zone", "names")])
    run_dns_record_info(module)


if __name__ == "__main__":
    main()
