# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role spawn's base image versions, templated from its own task file with Ansible's templar: the spawn
item's image_version and base_record reach libvirt_guest (omitted when the item has none), and the
facts the scheduler reads afterwards: spawn_base (each started VM's base version with its image and
image version), spawn_failed (each VM refused, with the module's message) and spawn_started (the VMs
that get a reservation)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml

from ansible_collections.hpc.slurm_vm.tests.unit.roles import role_tasks

TASKS = role_tasks.load_tasks("spawn")
with open(os.path.join(role_tasks.ROOT, "roles", "spawn", "meta", "argument_specs.yml")) as handle:
    SPEC = yaml.safe_load(handle)["argument_specs"]["main"]


def _task(prefix):
    return role_tasks.task(TASKS, prefix)


def _render(expression, variables):
    return role_tasks.render(expression, variables)


RECORD = {"path": "/var/cache/hpcvm-lab/disk/disk.qcow2", "size": 110952448, "mtime": 1796220900.123456,
          "sha256": "ce3a53e4e58e" + "0" * 52}
VMS = [
    {"hostname": "vm-disk-001", "image": "disk", "image_version": "2026.11-a1b2c3d4", "base_record": RECORD},
    {"hostname": "vm-disk-002", "image": "disk", "image_version": "2026.11-a1b2c3d4"},
    {"hostname": "vm-deb12-001", "image": "deb12", "image_version": "9f8e7d6c5b4a"},
]
REFUSAL = "image disk: the base image /var/cache/hpcvm-lab/disk/disk.qcow2 was changed in place: ..."
RESULTS = {"results": [
    {"vm": VMS[0], "failed": True, "changed": False, "error": "BaseImageChanged", "msg": REFUSAL},
    {"vm": VMS[1], "failed": False, "changed": True, "base": dict(RECORD, hashed=True)},
    {"vm": VMS[2], "changed": True, "base": None},
]}


def test_the_items_version_and_base_record_reach_libvirt_guest():
    args = _task("Start each VM")["hpc.slurm_vm.libvirt_guest"]
    assert _render(args["image_version"], {"vm": VMS[0]}) == "2026.11-a1b2c3d4"
    assert _render(args["base_record"], {"vm": VMS[0]}) == RECORD
    # a recorded spawn_base entry handed back whole: only the record's four keys reach the module
    whole = dict(RECORD, hashed=True, hostname="vm-disk-009", image="disk", image_version="2026.11-a1b2c3d4")
    assert _render(args["base_record"], {"vm": dict(VMS[0], base_record=whole)}) == RECORD
    omit = "__omit_place_holder__test"
    assert _render(args["base_record"], {"vm": VMS[1], "omit": omit}) == omit
    assert _render(args["image_version"], {"vm": {"hostname": "vm-x"}, "omit": omit}) == omit


def test_the_facts_the_scheduler_records_and_reports():
    facts = _task("Note the base image versions")["ansible.builtin.set_fact"]
    variables = {"spawn_guests": RESULTS, "spawn_vms": VMS, "inventory_hostname": "hv03"}
    assert _render(facts["spawn_base"], variables) == [
        dict(RECORD, hashed=True, hostname="vm-disk-002", image="disk", image_version="2026.11-a1b2c3d4",
             hypervisor="hv03")]
    assert _render(facts["spawn_failed"], variables) == [
        {"hostname": "vm-disk-001", "image": "disk", "image_version": "2026.11-a1b2c3d4",
         "error": "BaseImageChanged", "msg": REFUSAL}]
    assert [vm["hostname"] for vm in _render(facts["spawn_started"], variables)] == ["vm-disk-002", "vm-deb12-001"]
    # no VMs at all (an empty spawn_vms skips the loop)
    skipped = {"spawn_guests": {"results": [], "skipped": True}, "spawn_vms": [], "inventory_hostname": "hv03"}
    assert [_render(facts[key], skipped) for key in ("spawn_base", "spawn_failed", "spawn_started")] == [[], [], []]


def test_only_started_vms_are_reserved_and_the_host_fails_naming_each_refused_vm():
    reserve = [t for t in _task("Reserve the VM nodes")["block"] if t["name"].startswith("Reserve each")][0]
    assert reserve["loop"] == "{{ spawn_started }}"
    assert _task("Start each VM")["ignore_errors"] is True
    failure = _task("Fail for the VMs that did not start")
    failed = [{"hostname": "vm-disk-001", "msg": REFUSAL}]
    assert _render(failure["ansible.builtin.fail"]["msg"], {"spawn_failed": failed}) == ["vm-disk-001: " + REFUSAL]
    assert _render("{{ %s }}" % failure["when"], {"spawn_failed": []}) is False


def test_argument_specs_document_the_items_keys_and_the_facts():
    text = yaml.safe_dump(SPEC)
    for word in ("image_version", "base_record", "spawn_base", "spawn_failed", "BaseImageChanged"):
        assert word in text, word
