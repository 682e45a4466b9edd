#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vm_reconcile_plan
short_description: Decide which leftovers of hpc.slurm_vm to remove (DNS, DHCP, reservations, domains, files, nodes)
version_added: 0.1.0
description:
  - The reconciler's planner. Compares what the C(_info) modules found (DNS names, DHCP reservations, libvirt
    domains, files in the VM folder) and the Slurm snapshot (pool nodes, host jobs, reservations) with the live
    VMs, and returns what to remove, each with a reason. It removes nothing itself; the role
    C(hpc.slurm_vm.reconcile) applies the result.
  - "A record is removed only when it is marked as ours (see the ownership marks: the DNS TXT mark, a DHCP
    reservation the backend reports as owned, a reservation C(hpcvm-<host>), a domain with the metadata namespace
    C(urn:hpc.slurm_vm:1), a file C(<pool host>.<suffix>) in the VM folder, a pool node), belongs to no live VM
    (its name has no host job C(hpcvm:<host>) and is not in O(live_hosts)), and has been seen orphaned for at
    least O(grace) seconds."
  - Records of a name whose host job exists are never touched, whatever their state.
  - A PTR record counts as ours when it is the pool address of a pool host, names that host in O(dns_zone), and
    the forward name is gone.
  - A pool node that is not FUTURE, runs no job, has no host job and whose slurmd does not answer is returned to
    the pool.
  - A FUTURE pool node whose host job runs, whose slurmd registered after that host job started, and whose domain
    runs on the host job's hypervisor (when that hypervisor was read) is listed in RV(resume). A slurmctld restart
    brings nodes declared C(State=FUTURE) back as FUTURE, which hides live VMs from new jobs.
  - The first-seen memory (C(reconcile-first-seen.json) in O(state_dir)) records when each orphan was first seen.
    A record that disappears or turns live is forgotten. Records of a hypervisor not read in this run keep their
    date. The file is written atomically, only when it changes, and never in check mode.
extends_documentation_fragment:
  - hpc.slurm_vm.scheduler
  - hpc.slurm_vm.scheduler.controller
attributes:
  check_mode:
    support: full
    description: Returns the same plan and leaves the memory file as it is.
  diff_mode:
    support: none
    description: The plan is the result; RV(remove) carries a reason per item.
options:
  state_dir:
    description: The scheduler's state folder, where the first-seen memory lives; created if missing.
    type: path
    required: true
  grace:
    description: Seconds a record must have been seen orphaned before it is removed. C(0) removes at first sight.
    type: int
    default: 900
  dns_names:
    description:
      - The RV(hpc.slurm_vm.dns_record_info#module:names) of the forward zone. Unmarked names are left alone
        (they are needed to tell whether a PTR's forward name still exists).
      - Omitted, DNS is not reconciled.
    type: list
    elements: dict
  dns_zone:
    description: The forward zone of the VMs (PTR targets must be in it).
    type: str
  ptr_names:
    description: The RV(hpc.slurm_vm.dns_record_info#module:names) of the reverse zone (type PTR). Omitted, PTRs are
      not reconciled.
    type: list
    elements: dict
  reverse_zone:
    description: The reverse zone, reported as where a PTR removal happens.
    type: str
  dhcp_reservations:
    description: The RV(hpc.slurm_vm.dhcp_host_info#module:reservations). Omitted, DHCP is not reconciled.
    type: list
    elements: dict
  dhcp_where:
    description: How removals of DHCP reservations name the server (the backend) in RV(remove).
    type: str
    default: dhcp
  domains:
    description:
      - "Per hypervisor read, the RV(hpc.slurm_vm.libvirt_guest_info#module:guests) found there:
        C({hv01: [...], hv02: [...]})."
      - Hypervisors missing here were not read; their memory entries are kept.
    type: dict
  files:
    description: Per hypervisor read, the files in the VM folder, as paths or as C(ansible.builtin.find) C(files)
      entries.
    type: dict
  read_as:
    description: "C({hypervisor: hypervisor whose read covers it}) when several hypervisors share one libvirtd (the
      lab's stand-ins); used to find the domain of a host job's hypervisor for RV(resume)."
    type: dict
    default: {}
  live_hosts:
    description: Hostnames that count as live though the snapshot has no host job for them, such as the names the
      same run just claimed (the snapshot predates them).
    type: list
    elements: str
    default: []
  only_hosts:
    description:
      - Judge only the records of these hostnames; the others are neither removed nor listed, and their
        first-seen dates are kept. For a targeted clean-up (and tests sharing a lab). Omitted, all are judged.
    type: list
    elements: str
  reason_prefix:
    description: Prefix of the node reasons the collection sets, named in the reasons of node removals.
    type: str
    default: "hpc.slurm_vm:"
seealso:
  - module: hpc.slurm_vm.vm_plan
  - module: hpc.slurm_vm.dns_record_info
  - module: hpc.slurm_vm.dhcp_host_info
  - module: hpc.slurm_vm.libvirt_guest_info
author:
  - hpc.slurm_vm contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Decide what to reconcile
  hpc.slurm_vm.vm_reconcile_plan:
    snapshot_file: "{{ hostvars['localhost'].slurm_vm_snapshot_file }}"
    images: "{{ slurm_vm_images }}"
    state_dir: /var/lib/hpc-slurm-vm/scheduler
    grace: 900
    dns_names: "{{ dns_forward.names }}"
    dns_zone: vms.example.org
    dhcp_reservations: "{{ dhcp_owned.reservations }}"
    domains:
      hv01: "{{ guests_hv01.guests }}"
    files:
      hv01: "{{ files_hv01.files }}"
  register: reconcile

- name: Show each removal with its reason
  ansible.builtin.debug:
    msg: "{{ reconcile.lines }}"
"""

RETURN = r"""
remove:
  description:
    - What to remove, in the order to apply it (domains, files, reservations, DHCP, DNS, nodes), each with
      C(kind) (C(domain), C(file), C(reservation), C(dhcp), C(dns), C(node)), C(hostname), C(where) (hypervisor,
      zone, DHCP backend or C(vm cluster)), C(reason), C(key), C(first_seen), C(orphaned_for), and what the
      removing module needs (C(name), C(type), C(ptr), C(mac), C(ip), C(path), C(state)).
  returned: always
  type: list
  elements: dict
  sample:
    - kind: dns
      hostname: vm-deb12-006
      where: vms.lab.test.
      name: vm-deb12-006.vms.lab.test.
      ptr: true
      reason: DNS name vm-deb12-006.vms.lab.test. marked by hpc.slurm_vm (image deb12, host job 12)
        (orphaned for 16m, grace 15m)
resume:
  description: FUTURE nodes of live VMs to resume, with C(hostname), C(host_job_id), C(hypervisor) and C(reason).
  returned: always
  type: list
  elements: dict
waiting:
  description: Orphans still inside the grace period, as RV(remove).
  returned: always
  type: list
  elements: dict
flagged:
  description:
    - Problems reported, never acted on, with C(kind), C(hostname), C(where) and C(reason). Kind C(base_changed) - a
      domain of ours whose overlay's base image changed in place since the VM started (or is gone), with
      C(image), C(image_version), C(base_path) and C(host_job); its VM keeps running, but may read corrupt data.
  returned: always
  type: list
  elements: dict
protected:
  description: Records of ours that belong to a live VM, with the reason.
  returned: always
  type: list
  elements: dict
counts:
  description: Removals by kind.
  returned: always
  type: dict
  sample: {dns: 1, dhcp: 1}
first_seen:
  description: "The memory written for the next run, C({key: epoch})."
  returned: always
  type: dict
lines:
  description: One line per removal, resume, waiting record and flag, for logs.
  returned: always
  type: list
  elements: str
memory_file:
  description: The memory file.
  returned: always
  type: str
now:
  description: The time the plan was made (seconds since the epoch).
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.module_exit import exit_with_result
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import reconcile_run as reconcile_task


def main():
    module = AnsibleModule(
        argument_spec=reconcile_task.ARGUMENT_SPEC,
        required_one_of=reconcile_task.REQUIRED_ONE_OF,
        mutually_exclusive=reconcile_task.MUTUALLY_EXCLUSIVE,
        supports_check_mode=True,
    )
    exit_with_result(module, reconcile_task.run, module.params, check_mode=module.check_mode)


if __name__ == "__main__":
    main()
