# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role teardown's choices, templated from its own task file with Ansible's templar: which VMs end
their host job in this run (the drain task's read-back state, no second scontrol), and the jobs
handed to slurm_host_job state=absent (by hostname)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.filter.marks import FilterModule as MarksFilters
from ansible_collections.hpc.slurm_vm.tests.unit.roles import role_tasks

TASKS = role_tasks.load_tasks("teardown")
FILTERS = {"hpc.slurm_vm." + k: v for k, v in MarksFilters().filters().items()}


def _task(prefix):
    return role_tasks.task(TASKS, prefix)


def _render(expression, variables):
    return role_tasks.render(expression, variables, FILTERS)


def _drained(host, state):
    # the shape slurm_node_state returns per node (plugins/modules/slurm_node_state.py, RETURN)
    return {"item": {"hostname": host}, "changed": True,
            "nodes": {host: {"changed": True, "request": "drain", "before": {"state": "IDLE", "reason": None},
                             "after": {"state": state, "reason": "hpc.slurm_vm: idle", "registered": True}}}}


ITEMS = [
    {"hostname": "vm-a-001", "step": "drain", "reason": "idle", "host_job_id": "11", "hypervisor": "hv01"},
    {"hostname": "vm-a-002", "step": "drain", "reason": "lifetime", "host_job_id": "12", "hypervisor": "hv02"},
    {"hostname": "vm-a-003", "step": "end_host_job", "reason": "lifetime", "host_job_id": "13", "hypervisor": "hv03"},
    {"hostname": "vm-a-004", "step": "end_host_job", "reason": "boot_timeout", "host_job_id": None,
     "hypervisor": None},
    {"hostname": "vm-a-005", "step": "finish", "reason": "gone", "host_job_id": None, "hypervisor": None},
]


def test_a_drained_vm_already_idle_ends_its_host_job_in_the_same_run():
    task = _task("Choose the VMs whose host job ends")
    variables = dict(task["vars"], teardown_items=ITEMS, teardown_drained={"results": [
        _drained("vm-a-001", "IDLE+DRAIN"),     # idle: its host job ends now
        _drained("vm-a-002", "MIXED+DRAIN"),    # jobs still run: a later run ends it
    ]})
    ending = _render(task["ansible.builtin.set_fact"]["teardown_ending"], variables)
    assert [vm["hostname"] for vm in ending] == ["vm-a-003", "vm-a-004", "vm-a-001"]


def test_no_drain_in_this_run():
    task = _task("Choose the VMs whose host job ends")
    skipped = {"results": [], "skipped": True, "msg": "All items skipped"}
    variables = dict(task["vars"], teardown_items=ITEMS[2:], teardown_drained=skipped)
    ending = _render(task["ansible.builtin.set_fact"]["teardown_ending"], variables)
    assert [vm["hostname"] for vm in ending] == ["vm-a-003", "vm-a-004"]


def test_the_host_jobs_end_through_slurm_host_job_by_hostname():
    task = _task("End the host jobs")
    args = task["hpc.slurm_vm.slurm_host_job"]
    assert args["state"] == "absent"
    ending = [ITEMS[2], ITEMS[3], ITEMS[0]]
    assert _render(args["jobs"], {"teardown_ending": ending}) == [{"hostname": "vm-a-003"}, {"hostname": "vm-a-001"}]
    assert _render("{{ %s }}" % task["when"], {"teardown_ending": [ITEMS[3]]}) is False
    assert not any("ansible.builtin.command" in t or "ansible.builtin.shell" in t for t in TASKS.values())
