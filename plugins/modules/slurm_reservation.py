#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: slurm_reservation
short_description: Create, update or delete a Slurm reservation
version_added: 0.1.0
description:
  - Creates a reservation, updates only the fields of an existing one that differ from the options given, or
    deletes it.
  - Slurm creates a reservation whole or not at all, and applies an update with all its fields or none, so a
    refused request (duplicate name, invalid node, overlap, busy nodes, no users) leaves nothing half-done.
    The module sends one C(scontrol) command per run and turns Slurm's refusals into clear failures.
  - Deleting a reservation that does not exist is not an error and reports no change.
  - Ownership. A name that starts with C(hpcvm-) is the collection's (C(hpcvm-<host>), made by the spawn role).
    Slurm 22.05 reservations have no comment field, so the collection's mark is that name together with the
    shape it gives its own, Nodes exactly C(<host>), Users exactly C(root), no Accounts, no Flags (Slurm's own
    C(SPEC_NODES) aside) and no PartitionName; the times are not part of the mark.
    An existing C(hpcvm-) reservation without that shape was not made by the collection, so the module refuses
    to delete or change it, with an error naming the reservation and each field that differs, unless
    O(force=true). It still reports such a reservation when nothing would change.
  - Reservations whose names do not start with C(hpcvm-) carry no claim of the collection. The module creates,
    changes and deletes them as asked, whatever their shape; choosing their names is the caller's business.
author:
  - hpc.slurm_vm contributors (!UNKNOWN)
extends_documentation_fragment:
  - hpc.slurm_vm.slurm
  - hpc.slurm_vm.slurm.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  name:
    description:
      - Reservation name. Letters, digits and the characters C(_.:+-) only, so no spaces, C(=) or C(,).
      - The collection names its own reservations C(hpcvm-<host>).
    type: str
    required: true
  state:
    description: Whether the reservation should exist.
    type: str
    choices: [present, absent]
    default: present
  nodes:
    description:
      - Nodes to reserve, as names or hostlist expressions (C(vm-deb12-[001-002])). Required to create.
      - At most 100,000 names in all. The bound is checked on the expressions' text before any is expanded,
        so C(vm-[1-99999999]) fails at once with a clear error.
    type: list
    elements: str
  start_time:
    description:
      - Absolute (C(2026-12-02T22:00:00), C(2026-12-02T22:00), C(2026-12-02)), in the local time of the host
        running the module, or relative (C(now), C(now+7days), C(now+90) minutes; units seconds, minutes,
        hours, days, weeks).
      - Relative times are resolved when the module runs. To keep repeated runs idempotent, a relative time
        counts as unchanged while it is within O(time_tolerance) seconds of the reservation's current start
        (and a reservation that has already started is not moved by a start in the past or C(now)).
        Absolute times must match to the second.
      - Defaults to C(now) when creating.
    type: str
  end_time:
    description:
      - End of the reservation, in the same forms as O(start_time) (and the same tolerance for relative times).
      - Mutually exclusive with O(duration). One of them is required to create.
    type: str
  duration:
    description:
      - Length of the reservation as a Slurm time (minutes, C(HH:MM:SS), C(D-HH:MM:SS), C(D-HH)), or
        C(UNLIMITED).
    type: str
  users:
    description: Users allowed to use the reservation. Creating one needs O(users) or O(accounts).
    type: list
    elements: str
  accounts:
    description: Accounts allowed to use the reservation.
    type: list
    elements: str
  flags:
    description:
      - Reservation flags such as C(MAINT), C(IGNORE_JOBS), C(DAILY). The list is made exact (missing flags
        are added and others removed). C(SPEC_NODES), which Slurm sets itself, is ignored.
    type: list
    elements: str
  partition:
    description: Partition of the reservation.
    type: str
  time_tolerance:
    description: Seconds within which a relative O(start_time) or O(end_time) counts as unchanged.
    type: int
    default: 300
  force:
    description:
      - Change or delete a reservation named C(hpcvm-<host>) even when it does not carry the collection's mark
        (see the description). Without it the module refuses.
    type: bool
    default: false
seealso:
  - module: hpc.slurm_vm.slurm_reservation_info
  - module: hpc.slurm_vm.slurm_node_state
"""

EXAMPLES = r"""
- name: Reserve a VM node until its host job ends, so no VM job outlives its host
  hpc.slurm_vm.slurm_reservation:
    slurm_conf: /etc/slurm-vm/slurm.conf
    name: hpcvm-vm-deb12-003
    nodes: vm-deb12-003
    start_time: "2026-12-02T21:55:00"
    duration: UNLIMITED
    users: [root]
    flags: [MAINT]

- name: A maintenance window starting in a week
  hpc.slurm_vm.slurm_reservation:
    name: maint-disk
    nodes: vm-disk-[001-004]
    start_time: now+7days
    duration: "04:00:00"
    users: [root]

- name: Remove it (no change if it is already gone)
  hpc.slurm_vm.slurm_reservation:
    name: maint-disk
    state: absent

- name: Remove a reservation an admin made under the collection's prefix (two nodes, so not the collection's)
  hpc.slurm_vm.slurm_reservation:
    name: hpcvm-vm-deb12-004
    state: absent
    force: true
"""

RETURN = r"""
reservation:
  description: The reservation after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  sample:
    name: hpcvm-vm-disk-001
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
    flags: []
    partition: null
    state: INACTIVE
command:
  description: The C(scontrol) arguments run (or that would run in check mode); empty when nothing changes.
  returned: always
  type: list
  elements: str
diff:
  description: The reservation before and after.
  returned: when diff mode is on
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.module_exit import exit_with_result
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.connection_options import SLURM_ARGUMENT_SPEC
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.run import run_slurm_reservation


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        nodes=dict(type="list", elements="str"),
        start_time=dict(type="str"),
        end_time=dict(type="str"),
        duration=dict(type="str"),
        users=dict(type="list", elements="str"),
        accounts=dict(type="list", elements="str"),
        flags=dict(type="list", elements="str"),
        partition=dict(type="str"),
        time_tolerance=dict(type="int", default=300),
        force=dict(type="bool", default=False),
        **SLURM_ARGUMENT_SPEC
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=[("end_time", "duration")])
    exit_with_result(module, run_slurm_reservation, module)


if __name__ == "__main__":
    main()
