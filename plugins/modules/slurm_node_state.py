#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: slurm_node_state
short_description: Set the state of Slurm nodes (idle, resume, down, drain, undrain, future, fail)
version_added: 0.1.0
description:
  - Reads the current state of all named nodes in one C(scontrol -F -o show node) call (FUTURE nodes included),
    changes only the nodes that differ, with one C(scontrol update nodename=<hostlist>) per distinct change.
  - A node already in the state asked for, with the same reason, is left alone.
  - Transitions that Slurm refuses (for example C(idle) on a FUTURE node, or C(future) on a node running jobs)
    are detected before anything changes and fail with a message naming the node, its state and the state asked
    for. If Slurm still refuses a batch, the module re-reads the nodes and reports which ones changed.
  - The return-to-pool path of a VM node is C(drain), then C(down) once its VM is gone, then C(future).
    A new slurmd registering later under the same name turns the node IDLE by itself.
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
  nodes:
    description:
      - Node names or hostlist expressions such as C(vm-deb12-[001-004]), expanded with ClusterShell.
    type: list
    elements: str
    required: true
  state:
    description:
      - C(idle) and C(resume) make the nodes schedulable (no DOWN, DRAIN, FAIL or FUTURE). Slurm accepts
        C(resume) from FUTURE and on busy nodes, where it refuses C(idle).
      - C(down), C(drain) and C(fail) need O(reason).
      - C(undrain) clears the DRAIN (and FAIL) flag.
      - C(future) returns the nodes to the pool (FUTURE, hidden, with no reason).
    type: str
    required: true
    choices: [idle, resume, down, drain, undrain, future, fail]
  reason:
    description:
      - Reason recorded by Slurm. Required for O(state=down), O(state=drain) and O(state=fail).
      - A node in the same state with the same reason is unchanged; with another reason, the reason is updated.
    type: str
  only_if_registered:
    description:
      - Refuse to make a node schedulable whose slurmd has not registered. Such a node would turn
        IDLE+NOT_RESPONDING and jobs would be sent to it.
      - Defaults to V(true) for O(state=idle), O(state=resume) and O(state=undrain), and to V(false) otherwise.
      - A node counts as registered when it is not FUTURE, has a C(SlurmdStartTime) and a C(BootTime), and is
        not NOT_RESPONDING. Slurm does not ping FUTURE nodes, so a FUTURE node whose slurmd still runs (after a
        slurmctld restart) never counts; set V(false) when the caller knows its VM is alive.
      - A DOWN node whose reason was set after its slurmd started does not count either. Slurm keeps both
        times when a node returns to the pool, and shows a node set DOWN from FUTURE without NOT_RESPONDING
        until its next ping. A slurmd that starts after the down counts again. To resume a DOWN node whose
        slurmd kept running, set V(false).
    type: bool
  wait_registered:
    description:
      - Before changing anything, wait until the slurmd of every named node has registered (polling with one
        C(scontrol) call per round), for at most O(timeout) seconds. Also done in check mode, as it only reads.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for registration with O(wait_registered).
    type: int
    default: 120
notes:
  - Slurm briefly shows NOT_RESPONDING on a node it has just resumed, until its next ping; RV(nodes) reports the
    state read right after the change.
seealso:
  - module: hpc.slurm_vm.slurm_reservation
"""

EXAMPLES = r"""
- name: Drain a VM node before its teardown
  hpc.slurm_vm.slurm_node_state:
    slurm_conf: /etc/slurm-vm/slurm.conf
    nodes: vm-deb12-003
    state: drain
    reason: "hpc.slurm_vm: idle timeout"

- name: Return torn-down VM nodes to the pool
  hpc.slurm_vm.slurm_node_state:
    nodes: ["vm-deb12-[003-004]", vm-disk-001]
    state: future
  module_defaults:
    group/hpc.slurm_vm.slurm:
      slurm_conf: /etc/slurm-vm/slurm.conf

- name: Wait for the slurmd of a rebooted VM, then resume its node (set down by an admin)
  hpc.slurm_vm.slurm_node_state:
    slurm_conf: /etc/slurm-vm/slurm.conf
    nodes: vm-deb12-[001-002]
    state: resume
    wait_registered: true
    timeout: 60

# After a slurmctld restart, nodes of running VMs come back FUTURE. Slurm does not ping
# FUTURE nodes, so it cannot tell that their slurmd is alive: the caller, who knows the
# VM is running, says so.
- name: Resume the nodes of VMs known to be running
  hpc.slurm_vm.slurm_node_state:
    slurm_conf: /etc/slurm-vm/slurm.conf
    nodes: "{{ running_vm_nodes }}"
    state: resume
    only_if_registered: false
"""

RETURN = r"""
nodes:
  description: Per node, its state before and after (after = predicted in check mode, read back otherwise).
  returned: always
  type: dict
  sample:
    vm-disk-001:
      changed: true
      request: drain
      before: {state: IDLE, reason: null, registered: true}
      after: {state: IDLE+DRAIN, reason: "hpc.slurm_vm: teardown", registered: true}
changed_nodes:
  description: Names of the nodes that changed (or would change in check mode).
  returned: always
  type: list
  elements: str
  sample: [vm-disk-001]
changed_expression:
  description: RV(changed_nodes) folded into one hostlist expression.
  returned: always
  type: str
  sample: vm-disk-[001-002]
commands:
  description: The C(scontrol update) argument lists run (or that would run in check mode).
  returned: always
  type: list
  elements: list
diff:
  description: State and reason of the changed nodes, before and after.
  returned: when diff mode is on
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.module_exit import exit_with_result
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.connection_options import SLURM_ARGUMENT_SPEC
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.node_state import REASON_STATES, STATES
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.run import run_slurm_node_state


def main():
    argument_spec = dict(
        nodes=dict(type="list", elements="str", required=True),
        state=dict(type="str", required=True, choices=list(STATES)),
        reason=dict(type="str"),
        only_if_registered=dict(type="bool"),
        wait_registered=dict(type="bool", default=False),
        timeout=dict(type="int", default=120),
        **SLURM_ARGUMENT_SPEC
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_if=[("state", s, ("reason",)) for s in REASON_STATES])
    exit_with_result(module, run_slurm_node_state, module)


if __name__ == "__main__":
    main()
