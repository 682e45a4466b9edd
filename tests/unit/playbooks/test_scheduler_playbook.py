# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/scheduler.yml, templated from the file with Ansible's templar: pending host jobs no longer
needed are cancelled through slurm_host_job state=absent (by hostname, the planner's cancel items),
and vm_plan's reason prefix is the site variable the roles' node reasons use."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.hpc.slurm_vm.plugins.filter.marks import FilterModule as MarksFilters

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

with open(os.path.join(ROOT, "playbooks", "scheduler.yml")) as handle:
    PLAYS = yaml.safe_load(handle)


def _included(task):
    """The tasks of a playbooks/tasks file that task includes (the plays include their work that way)."""
    path = task.get("ansible.builtin.include_tasks")
    if not path:
        return []
    with open(os.path.join(ROOT, "playbooks", path)) as handle:
        return yaml.safe_load(handle)


def _all_tasks():
    for play in PLAYS:
        for task in play.get("tasks") or []:
            yield task
            yield from _included(task)


def _render(expression, variables):
    templar = Templar(loader=DataLoader(), variables=variables)
    templar.environment.filters.update({"hpc.slurm_vm." + k: v for k, v in MarksFilters().filters().items()})
    return templar.template(trust_as_template(expression))


def _task(prefix):
    (task,) = [t for t in _all_tasks() if t["name"].startswith(prefix)]
    return task


def test_pending_host_jobs_are_cancelled_by_slurm_host_job():
    task = _task("Cancel pending host jobs no longer needed")
    args = task["hpc.slurm_vm.slurm_host_job"]
    assert args["state"] == "absent"
    plan = {"cancel": [{"hostname": "vm-deb12-003", "host_job_id": "100041", "image": "deb12"},
                       {"hostname": "vm-disk-001", "host_job_id": "100042", "image": "disk"}]}
    assert _render(args["jobs"], {"scheduler_plan": plan}) == [{"hostname": "vm-deb12-003"},
                                                               {"hostname": "vm-disk-001"}]
    assert _render("{{ %s }}" % task["when"], {"scheduler_plan": {"cancel": []}}) is False


def test_no_slurm_command_in_the_playbook():
    names = []
    for task in _all_tasks():
        names.append(task["name"])
        assert "ansible.builtin.command" not in task and "ansible.builtin.shell" not in task, task["name"]
    assert "Cancel pending host jobs no longer needed (a job already gone is left alone)" in names   # included
    assert "Tear down" in names


def test_vm_plan_gets_the_site_reason_prefix():
    (defaults,) = [d["hpc.slurm_vm.vm_plan"] for d in PLAYS[0]["module_defaults"] if "hpc.slurm_vm.vm_plan" in d]
    assert _render(defaults["reason_prefix"], {"slurm_vm_teardown_reason_prefix": "site:"}) == "site:"
