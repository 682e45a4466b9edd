# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""VM states: the enum, its groupings, and classify on node lines captured from the lab's
Slurm 22.05 around a teardown (fixtures/teardown_tail, see its README.md).

Why the planner keeps its own rule for the tail of our teardown (vm_state.is_our_teardown_tail):
`registered` is read from Slurm's text alone (slurm/parse.py, BootTime and SlurmdStartTime
set, no NOT_RESPONDING), and right after our teardown drained the node and its slurmd died,
Slurm still shows both times and no NOT_RESPONDING: the line reads registered until the next
ping. Only the host job's absence says the VM is gone, and Slurm's text does not hold it.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import planner as vm_planner
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import vm_state
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.vm_state import VmState
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import snapshot as slurm_snapshot

TAIL = os.path.join(os.path.dirname(__file__), "fixtures", "teardown_tail")
HOST = "vm-deb12-008"
OUR_PREFIX = "hpc.slurm_vm:"  # the captured lines' reason is "hpc.slurm_vm: x"
IMAGES = image_table.normalize_table({"deb12": {
    "gres": "vm_deb12", "pool": "vm-deb12-[001-008]",
    "network": {"bridge": "br-hpcvm", "subnet": "10.77.0.0/16", "ip_offset": 256, "mac_prefix": "52:54:00:77:01"}}})
IMAGE = IMAGES["deb12"]


def captured_node(name):
    with open(os.path.join(TAIL, name + ".txt")) as handle:
        return slurm_snapshot.parse_nodes(handle.read())[HOST]


def snapshot(node, host_job=None, seconds_later=5):
    now = max(t for t in (node["slurmd_start"], node["reason_time"]) if t) + seconds_later
    return {"time": now, "vm_jobs": [], "nodes": {HOST: node}, "reservations": {},
            "host_jobs": {HOST: host_job} if host_job else {}}


def classify(node, host_job=None, reason_prefix=OUR_PREFIX):
    return vm_state.classify_vm(HOST, IMAGE, snapshot(node, host_job), set(), vm_planner.DEFAULT_GLOBAL_RULES,
                                reason_prefix=reason_prefix)["state"]


def test_the_states_are_the_strings_plans_carry():
    assert [s.value for s in VmState] == ["free", "claimed", "pending", "booting", "idle", "busy", "draining",
                                          "failed", "ending", "hidden", "stray", "leftover", "unknown"]
    assert VmState.IDLE == "idle" and str(VmState.HIDDEN) == "hidden"
    vm = vm_state.classify_vm(HOST, IMAGE, snapshot(captured_node("returned_to_pool")), set(),
                              vm_planner.DEFAULT_GLOBAL_RULES)
    assert not isinstance(vm["state"], VmState) and json.dumps(vm["state"]) == '"free"'  # no enum leaks into a plan


def test_the_groupings_are_made_of_states():
    values = {s.value for s in VmState}
    for group in (vm_state.ALIVE, vm_state.SERVING, vm_state.REGISTERED, vm_state.SUPPLY, vm_state.GC,
                  vm_state.REPORTED):
        assert set(group) <= values and not any(isinstance(s, VmState) for s in group)
    assert set(vm_state.REGISTERED) <= set(vm_state.ALIVE) and set(vm_state.SERVING) <= set(vm_state.REGISTERED)
    assert set(vm_state.GC) == set(vm_state.GC_REASONS) and not set(vm_state.GC) & set(vm_state.ALIVE)
    assert set(values) - set(vm_state.REPORTED) == {"free", "leftover"}  # names, not VMs


def test_a_registered_node_with_a_running_host_job_is_idle_and_without_one_a_stray():
    node = captured_node("registered_idle")
    assert node["registered"] and node["boot_time"] and node["slurmd_start"]
    job = {"id": "100400", "state": "RUNNING", "start": node["slurmd_start"] - 60, "end": None, "time_limit": 14400,
           "hypervisor": "hv01"}
    assert classify(node, job) == "idle"
    assert classify(node) == "stray"


@pytest.mark.parametrize("name", ["down_at_once", "drain_at_once"])
def test_right_after_our_teardown_slurm_still_shows_the_gone_slurmds_times(name):
    """The fact that decides: BootTime and SlurmdStartTime stay set and NOT_RESPONDING is not
    there yet, so nothing in the line tells that the slurmd is gone."""
    node = captured_node(name)
    assert node["boot_time"] is not None and node["slurmd_start"] is not None
    assert "NOT_RESPONDING" not in node["flags"]
    assert node["reason"].startswith(OUR_PREFIX)
    assert classify(node) == "leftover"  # the tail of our teardown: finish it


def test_a_drained_node_reads_registered_so_only_the_teardown_rule_makes_it_leftover():
    node = captured_node("drain_at_once")
    assert (node["state"], node["flags"], node["registered"]) == ("IDLE", ["DRAIN"], True)
    assert classify(node) == "leftover"
    # The same line under another site's prefix is not our tail: the shared `registered` alone calls it a stray.
    assert classify(node, reason_prefix="site-x:") == "stray"
    assert vm_state.is_our_teardown_tail(node, OUR_PREFIX) and not vm_state.is_our_teardown_tail(node, "site-x:")


def test_the_planner_finishes_the_tail_instead_of_listing_a_stray():
    node = captured_node("drain_at_once")
    result = vm_planner.plan(snapshot(node), IMAGES)
    assert [(t["hostname"], t["step"], t["state"]) for t in result["teardown"]] == [(HOST, "finish", "leftover")]
    assert [g for g in result["gc"] if g["hostname"] == HOST] == []  # the other pool nodes are not in the capture
    other_site = vm_planner.plan(snapshot(node), IMAGES, reason_prefix="site-x:")
    assert other_site["teardown"] == []
    assert [(g["hostname"], g["kind"]) for g in other_site["gc"] if g["hostname"] == HOST] == [(HOST, "stray")]


@pytest.mark.parametrize("name", ["down_after_10s", "drain_after_10s", "drain_after_35s"])
def test_a_ping_later_the_node_is_not_registered_and_no_rule_is_needed(name):
    node = captured_node(name)
    assert "NOT_RESPONDING" in node["flags"] and node["boot_time"] is not None  # BootTime is never cleared
    assert node["registered"] is False
    assert classify(node) == classify(node, reason_prefix="site-x:") == "leftover"


def test_a_node_returned_to_the_pool_is_free_though_its_times_are_stale():
    node = captured_node("returned_to_pool")
    assert node["state"] == "FUTURE" and node["boot_time"] is not None and node["slurmd_start"] is not None
    assert node["registered"] is False
    assert classify(node) == "free"


def test_a_node_set_down_by_someone_else_with_a_live_slurmd_is_a_stray():
    node = dict(captured_node("down_at_once"), reason="admin: disk check", registered=True)
    assert classify(node) == "stray"
