# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drain verb's choice: the VMs a request names (hostnames, nodesets, a hypervisor's guests), which Slurm
drains now, what is refused before anything changes, and the admin's node reason."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.hpc.slurm_vm.plugins.filter.admin_verbs import vm_admin_reason, vm_drain_targets
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput, NotInPool
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import admin_drain
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.vm_state import is_our_teardown_tail

NETWORK = {"bridge": "br0", "subnet": "10.77.0.0/16", "mac_prefix": "52:54:00:77:01"}
IMAGES = {"a": {"pool": "vm-a-[001-006]", "network": dict(NETWORK, ip_offset=256)},
          "b": {"pool": "vm-b-[001-002]", "network": dict(NETWORK, ip_offset=512, mac_prefix="52:54:00:77:02")}}


def vm(image, state, hypervisor=None, reason=""):
    return {"slurm_vm_image": image, "slurm_vm_state": state, "slurm_vm_hypervisor": hypervisor,
            "slurm_node_reason": reason}


# hostvars as the slurm_demand inventory sets them
HOSTVARS = {
    "vm-a-001": vm("a", "busy", "hv01"),
    "vm-a-002": vm("a", "idle", "hv01"),
    "vm-a-003": vm("a", "draining", "hv01", "hpc.slurm_vm: idle for 400s"),
    "vm-a-004": vm("a", "booting", "hv02"),
    "vm-a-005": vm("a", "pending"),
    "vm-a-006": vm("a", "free"),
    "vm-b-001": vm("b", "idle", "hv02"),
    "vm-b-002": vm("b", "free"),
    "hv01": {"slurm_vm_guests": ["vm-a-003", "vm-a-001", "vm-a-002"]},
    "hv02": {"slurm_vm_guests": ["vm-a-004", "vm-b-001"]},
    "hv03": {"ansible_host": "10.77.0.13"},
    "localhost": {"slurm_vm_snapshot_file": "/tmp/x.json"},
}


def test_a_hypervisor_drains_its_idle_and_busy_vms_and_lists_the_others():
    chosen = admin_drain.drain_targets(HOSTVARS, IMAGES, hypervisor="hv01")
    assert chosen["drain"] == ["vm-a-001", "vm-a-002"]
    assert [(s["hostname"], s["state"]) for s in chosen["skipped"]] == [("vm-a-003", "draining")]
    assert chosen["skipped"][0]["why"] == "already drained (hpc.slurm_vm: idle for 400s)"
    assert chosen["skipped"][0]["message"] == ("not drained: vm-a-003 (draining): already drained "
                                               "(hpc.slurm_vm: idle for 400s)")
    assert [v["hostname"] for v in chosen["vms"]] == ["vm-a-001", "vm-a-002", "vm-a-003"]


def test_a_hypervisor_of_several_images():
    chosen = admin_drain.drain_targets(HOSTVARS, IMAGES, hypervisor="hv02")
    assert chosen["drain"] == ["vm-b-001"]
    assert chosen["skipped"][0]["hostname"] == "vm-a-004" and "FUTURE" in chosen["skipped"][0]["why"]


def test_a_nodeset_drains_what_runs_and_skips_free_names():
    chosen = admin_drain.drain_targets(HOSTVARS, IMAGES, vms="vm-a-[001-002,005-006]")
    assert chosen["drain"] == ["vm-a-001", "vm-a-002"]
    first_words = {s["hostname"]: s["why"].split(" ")[0] for s in chosen["skipped"]}
    assert first_words == {"vm-a-005": "its", "vm-a-006": "no"}
    assert chosen["skipped"][1]["why"] == "no VM (free)"


def test_a_list_of_names_across_images():
    assert admin_drain.drain_targets(HOSTVARS, IMAGES, vms=["vm-b-001", "vm-a-001"])["drain"] == ["vm-a-001",
                                                                                                  "vm-b-001"]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"vms": "vm-c-001"}, NotInPool, "'vm-c-001' is in no image's pool"),
    ({"vms": "vm-a-001,node0815"}, NotInPool, "'node0815' is in no image's pool"),
    ({"vms": "vm-a-006,vm-b-002"}, InvalidInput, "no VM to drain: vm-a-006 is free, vm-b-002 is free"),
    ({"hypervisor": "hv03"}, InvalidInput, "hv03 runs no VM of hpc.slurm_vm.*hypervisors with VMs: hv01, hv02"),
    ({"hypervisor": "hv99"}, InvalidInput, "hypervisor hv99 runs no VM"),
    ({}, InvalidInput, "give either vms .* or hypervisor, not neither"),
    ({"vms": "vm-a-001", "hypervisor": "hv01"}, InvalidInput, "not both"),
    ({"vms": "vm-a-[001"}, InvalidInput, "invalid hostlist expression"),
])
def test_bad_requests_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        admin_drain.drain_targets(HOSTVARS, IMAGES, **kwargs)


def test_without_the_demand_inventory_it_says_so():
    with pytest.raises(InvalidInput, match="the slurm_demand inventory has no VM state for vm-a-001"):
        admin_drain.drain_targets({}, IMAGES, vms="vm-a-001")


def test_the_admin_reason_is_never_a_teardown_tail():
    reason = admin_drain.admin_reason("  BIOS update ")
    assert reason == "hpc.slurm_vm admin drain: BIOS update"
    # a node drained by the admin whose host job went is not taken for our teardown's tail
    assert not is_our_teardown_tail({"state": "IDLE", "reason": reason})
    with pytest.raises(InvalidInput, match="starts with the teardown reason prefix 'hpc.slurm_vm'"):
        admin_drain.admin_reason("BIOS update", teardown_prefix="hpc.slurm_vm")


@pytest.mark.parametrize("reason", [None, "", "  ", "a\nb", "x" * 201])
def test_a_bad_reason_is_refused(reason):
    with pytest.raises(InvalidInput, match="reason"):
        admin_drain.admin_reason(reason)


def test_the_filters_fail_as_filter_errors():
    with pytest.raises(AnsibleFilterError, match="NotInPool: 'vm-c-001' is in no image's pool"):
        vm_drain_targets(HOSTVARS, IMAGES, vms="vm-c-001")
    with pytest.raises(AnsibleFilterError, match="InvalidInput: a drain needs a reason"):
        vm_admin_reason("")
