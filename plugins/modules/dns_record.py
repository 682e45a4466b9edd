#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dns_record
short_description: Manage DNS records (A, AAAA, PTR, CNAME, TXT) with RFC 2136 dynamic updates and TSIG
version_added: 0.1.0
description:
  - Adds, replaces or removes DNS records on any server that takes RFC 2136 updates (BIND, PowerDNS, Infoblox, AD).
  - One task can manage hundreds of records (O(records)). The module reads the current records (a zone transfer
    when many names of one zone are wanted, else queries), plans the changes, and sends one UPDATE message per zone
    over TCP, split only when it would exceed the DNS message size limit.
  - Every change carries RFC 2136 prerequisites (the RRset is exactly as read, or the name does not exist for a
    claim), so a concurrent change makes the update fail instead of being overwritten.
  - After the update the module queries the records again, because a server may accept an update and ignore part
    of it (BIND drops an A record added next to a CNAME). If a record did not land, or a later zone fails, the zones
    already changed are rolled back.
  - O(claim=true) is the atomic claim of a host name used by the scheduler; a lost claim fails with
    RV(claim_failed=true) and the names in RV(taken).
  - The module changes or removes records only at names that are its own, unless O(force=true). A name is its
    own when it holds no records yet, or when it carries an ownership mark (O(mark), of any host job).
  - A name in a reverse zone (C(in-addr.arpa), C(ip6.arpa)) carries no mark; it is the module's own when it holds
    nothing but PTR records that all point at the names this task gives for it, that is the forward name of a
    record with O(ptr=true), or the O(value) of a PTR record. A PTR that points elsewhere, or a PTR removed
    without O(value), is not the module's own.
  - A CNAME cannot carry a mark (no other data may sit beside it), so changing or removing an existing CNAME
    always needs O(force=true).
  - A name that is not the module's own fails the task with RV(error=ForeignRecords), naming the name and the
    records it holds (in RV(foreign)), before anything is sent; in check mode too.
extends_documentation_fragment:
  - hpc.slurm_vm.dns
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  action_group:
    membership: [hpc.slurm_vm.dns]
  check_mode:
    support: full
    details: Reads the server and predicts the changes; sends no update.
  diff_mode:
    support: full
    details: Before and after are shown as zone file lines of the changed RRsets.
  platform:
    platforms: posix
options:
  name:
    description:
      - Owner name of one record. Without a trailing dot and without a dot it is relative to O(zone); with a dot it
        is taken as fully qualified.
      - Mutually exclusive with O(records).
    type: str
  ip:
    description:
      - IPv4 or IPv6 address; sets O(type) to V(A) or V(AAAA).
    type: str
  type:
    description: Record type. Defaults to V(A), or to what O(ip) implies.
    type: str
    choices: [A, AAAA, CNAME, PTR, TXT]
  value:
    description:
      - Values of the RRset (all of them; the module owns the whole RRset of that type at the name).
      - For CNAME and PTR a name (relative to the zone when it has no dot); for TXT plain text (quoted for you).
      - With O(state=absent), only these values are removed; without it the whole RRset of O(type) goes.
    type: list
    elements: str
  ttl:
    description: TTL of the records.
    type: int
    default: 300
  ptr:
    description:
      - Also manage the PTR record of each address, in its reverse zone (O(reverse_zone) or found by SOA).
      - With O(state=absent) and no O(ip), the PTRs of the addresses the name holds now are removed.
    type: bool
    default: false
  mark:
    description:
      - Ownership mark, a TXT record C(hpc.slurm_vm vm=<host> image=<img> job=<hostjob>) beside the name.
      - Only TXT records starting with C(hpc.slurm_vm) are managed this way; other TXT records at the name stay.
      - With O(state=absent) and no O(ip) or O(value), any mark at the name is removed.
    type: dict
    aliases: [owner_mark]
    suboptions:
      vm:
        description: Host name of the VM. Defaults to the first label of the record name.
        type: str
      image:
        description: Image name of the VM.
        type: str
        required: true
      job:
        description: Host job id that runs the VM.
        type: str
        required: true
  zone:
    description:
      - Zone of the forward records. When omitted, found from the SOA the server returns for each name's parent.
    type: str
  reverse_zone:
    description: Zone of the PTR records. When omitted, found by SOA.
    type: str
  records:
    description:
      - A list of records managed together; keys not given in an entry default to the top-level options.
      - Updates are grouped into one UPDATE per zone.
      - Mutually exclusive with O(name).
    type: list
    elements: dict
    suboptions:
      name:
        description: Owner name, as O(name).
        type: str
        required: true
      ip:
        description: Address, as O(ip).
        type: str
      type:
        description: Record type, as O(type).
        type: str
        choices: [A, AAAA, CNAME, PTR, TXT]
      value:
        description: Values, as O(value).
        type: list
        elements: str
      ttl:
        description: TTL, as O(ttl).
        type: int
      ptr:
        description: Manage the PTR too, as O(ptr).
        type: bool
      mark:
        description: Ownership mark, as O(mark).
        type: dict
        suboptions:
          vm:
            description: Host name of the VM. Defaults to the first label of the record name.
            type: str
          image:
            description: Image name of the VM.
            type: str
            required: true
          job:
            description: Host job id that runs the VM.
            type: str
            required: true
      zone:
        description: Zone, as O(zone).
        type: str
  state:
    description: Whether the records should exist.
    type: str
    choices: [present, absent]
    default: present
  claim:
    description:
      - Add the records only if none of their names exists at all (RFC 2136 prerequisite "name is not in use"), for
        the forward name and, with O(ptr), the PTR name.
      - A name that already holds exactly the wanted records including the same O(mark) counts as this claim's own
        (a re-run); any other existing name makes the task fail with RV(claim_failed=true) and RV(taken).
      - All or nothing per zone; if the reverse zone fails, the forward records just added are removed again.
    type: bool
    default: false
  replace:
    description:
      - Overwrite an RRset (or an ownership mark) that holds other values. Without it, such a name fails the task
        and nothing is changed.
      - At a name that is not the module's own (see the description) O(force=true) is needed as well.
    type: bool
    default: false
  force:
    description:
      - Also change or remove records at names that are not the module's own (no ownership mark, a PTR that
        points elsewhere, a CNAME; see the description).
      - Without it such a name fails the task with RV(error=ForeignRecords) and nothing is changed.
      - O(claim=true) never takes a name in use, whatever O(force) says.
    type: bool
    default: false
notes:
  - The module runs where the task runs; use C(delegate_to) to run it on a host that can reach the DNS server.
  - O(port) must be a TCP port (1 to 65535) and O(timeout) above 0; other values fail before anything is sent.
  - O(key_secret) must be base64 that decodes to at least the hash output length of O(key_algorithm), that is 16
    bytes for hmac-md5, 20 for hmac-sha1, 28 for hmac-sha224, 32 for hmac-sha256, 48 for hmac-sha384 and 64 for
    hmac-sha512 (RFC 2104 section 3; C(tsig-keygen) makes keys of that length). The error gives the length, never
    the secret.
seealso:
  - module: hpc.slurm_vm.dns_record_info
author:
  - hpc.slurm_vm contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Claim a VM name with its A, PTR and ownership mark (fails with claim_failed if taken)
  hpc.slurm_vm.dns_record:
    server: 10.77.0.1
    key_name: hpcvm-ddns
    key_secret: "{{ vault_ddns_secret }}"
    zone: vms.lab.test
    name: vm-deb12-001
    ip: 10.77.1.1
    ptr: true
    claim: true
    mark:
      image: deb12
      job: "4711"
  register: claim
  failed_when: claim.failed and not claim.claim_failed | default(false)

- name: Many hosts in one task, one UPDATE per zone
  hpc.slurm_vm.dns_record:
    server: 10.77.0.1
    key_name: hpcvm-ddns
    key_secret: "{{ vault_ddns_secret }}"
    zone: vms.lab.test
    ptr: true
    records:
      - {name: vm-deb12-001, ip: 10.77.1.1}
      - {name: vm-deb12-002, ip: 10.77.1.2}
      - {name: vm-disk-001, ip: 10.77.2.1, mark: {image: disk, job: "4712"}}

- name: Remove a VM's A, PTR and mark by name
  hpc.slurm_vm.dns_record:
    server: 10.77.0.1
    key_name: hpcvm-ddns
    key_secret: "{{ vault_ddns_secret }}"
    zone: vms.lab.test
    name: vm-deb12-001
    ptr: true
    state: absent

- name: Remove a record someone else made by hand (no ownership mark), knowingly
  hpc.slurm_vm.dns_record:
    server: 10.77.0.1
    key_name: hpcvm-ddns
    key_secret: "{{ vault_ddns_secret }}"
    zone: vms.lab.test
    name: old-login
    ptr: true
    state: absent
    force: true

- name: An alias (CNAME) with the connection set once for the group
  module_defaults:
    group/hpc.slurm_vm.dns:
      server: 10.77.0.1
      key_name: hpcvm-ddns
      key_secret: "{{ vault_ddns_secret }}"
  hpc.slurm_vm.dns_record:
    name: login.vms.lab.test
    type: CNAME
    value: [vm-deb12-001]
"""

RETURN = r"""
changes:
  description: The RRsets changed (or, in check mode, that would change).
  returned: always
  type: list
  elements: dict
  sample:
    - {zone: vms.lab.test., name: vm-deb12-001.vms.lab.test., type: A, ttl: 300, before: [], after: [10.77.1.1]}
zones:
  description: Zones with changes, in the order they are updated (forward before reverse).
  returned: always
  type: list
  elements: str
updates:
  description: Number of UPDATE messages sent (0 in check mode or without changes).
  returned: always
  type: int
claim_failed:
  description: True when a claim failed because a name is in use; branch on it to pick another name.
  returned: always
  type: bool
taken:
  description: Names (absolute) that made the claim fail.
  returned: always
  type: list
  elements: str
  sample: [vm-deb12-001.vms.lab.test.]
taken_records:
  description: What the taken names hold.
  returned: when claim_failed
  type: list
  elements: dict
conflicts:
  description: RRsets that hold other values when O(replace=false); the task fails and changes nothing.
  returned: on conflict
  type: list
  elements: dict
foreign:
  description:
    - Names that are not the module's own (no ownership mark) and the records they hold, when O(force=false);
      the task fails and changes nothing.
  returned: when error is ForeignRecords
  type: list
  elements: dict
  sample:
    - {name: old-login.vms.lab.test., records: {A: [10.77.1.9]}}
error:
  description: >-
    Class of the error on failure (DnsAuthError, DnsRefused, DnsNotAuthoritative, DnsTimeout, NameTaken,
    ForeignRecords...).
  returned: on failure
  type: str
rcode:
  description: DNS response code of the server on failure, when there is one.
  returned: on failure
  type: str
cause:
  description: Plain-language cause of the failure.
  returned: on failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.connection_options import DNS_CONNECTION_ARGSPEC
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.run import run_dns_record

MARK_SPEC = dict(vm=dict(type="str"), image=dict(type="str", required=True), job=dict(type="str", required=True))
RECORD_SPEC = dict(
    name=dict(type="str", required=True),
    ip=dict(type="str"),
    type=dict(type="str", choices=["A", "AAAA", "CNAME", "PTR", "TXT"]),
    value=dict(type="list", elements="str"),
    ttl=dict(type="int"),
    ptr=dict(type="bool"),
    mark=dict(type="dict", options=MARK_SPEC),
    zone=dict(type="str"),
)


def main():
    argument_spec = dict(DNS_CONNECTION_ARGSPEC)
    argument_spec.update(
        name=dict(type="str"),
        ip=dict(type="str"),
        type=dict(type="str", choices=["A", "AAAA", "CNAME", "PTR", "TXT"]),
        value=dict(type="list", elements="str"),
        ttl=dict(type="int", default=300),
        ptr=dict(type="bool", default=False),
        mark=dict(type="dict", options=MARK_SPEC, aliases=["owner_mark"]),
        zone=dict(type="str"),
        reverse_zone=dict(type="str"),
        records=dict(type="list", elements="dict", options=RECORD_SPEC),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        claim=dict(type="bool", default=False),
        replace=dict(type="bool", default=False),
        force=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=[("name", "records"), ("ip", "value")],
                           required_one_of=[("name", "records")])
    run_dns_record(module)


if __name__ == "__main__":
    main()
