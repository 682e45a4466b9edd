# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner's supply side: best-fit matching of jobs to VMs, and the caps on spawning.
(The whole planner is driven by the scenario table in test_planner.py.)"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import spawn

IMAGE = {"name": "a", "gres": "vm_a", "gres_count": 2}


def slot(host, life_left, free_units=2):
    return {"hostname": host, "state": "idle", "life_left": life_left, "free_units": free_units, "jobs": []}


def job(job_id, limit, units=1, nodes=1):
    return {"id": str(job_id), "time_limit": limit, "gres": {"vm_a": units}, "num_nodes": nodes}


def test_each_request_takes_the_shortest_life_that_covers_its_limit():
    slots = [slot("vm-a-003", 5000), slot("vm-a-001", 100), slot("vm-a-002", 1000)]
    assert spawn.match_jobs([job(1, 900), job(2, 6000)], slots, IMAGE) == (1, ["2"])
    assert {s["hostname"]: s["jobs"] for s in slots} == {"vm-a-001": [], "vm-a-002": ["1"], "vm-a-003": []}


def test_a_slot_too_full_for_one_request_still_serves_a_smaller_one():
    slots = [slot("vm-a-001", 1000, free_units=1), slot("vm-a-002", 2000)]
    assert spawn.match_jobs([job(1, 500, units=2), job(2, 500, units=1)], slots, IMAGE) == (0, [])
    assert [s["jobs"] for s in slots] == [["2"], ["1"]]


def test_a_multi_node_job_counts_only_the_nodes_left_unserved():
    slots = [slot("vm-a-001", 1000)]
    assert spawn.match_jobs([job(1, 500, units=2, nodes=3)], slots, IMAGE) == (4, ["1"])


def test_without_slots_every_unit_is_unserved():
    assert spawn.match_jobs([job(1, 500, nodes=2), job(2, 500, units=2)], [], IMAGE) == (4, ["1", "2"])


def test_the_tightest_limit_caps_the_count_and_names_itself():
    limits = [("max_vms 4", 3), ("max_spawn_per_run 2", 2), ("free hostnames in pool p", 5)]
    assert spawn.capped_count(5, limits, None) == (2, "max_spawn_per_run 2")
    assert spawn.capped_count(1, limits, None) == (1, None)
    assert spawn.capped_count(2, [("max_total_vms 3", -1)], None) == (0, "max_total_vms 3")


def test_a_backoff_holds_every_spawn_but_only_says_so_when_one_was_wanted():
    count, limited_by = spawn.capped_count(2, [], {"failures": 3, "until": 0})
    assert count == 0 and limited_by.startswith("backoff after 3 failed boots, until ")
    assert spawn.capped_count(0, [], {"failures": 3, "until": 0}) == (0, None)


def record(job_id, limit, units=1, nodes=1):
    """A demand record (demand.demand_records): (id, submit, time_limit, units, num_nodes)."""
    return (str(job_id), 0, limit, units, nodes)


def test_match_records_hands_back_the_unserved_records_oldest_first():
    # one slot for two units: job 1 takes it, job 2 (two nodes) finds it full, job 3 is summed after it
    jobs = [record(1, 500, units=2), record(2, 500, nodes=2), record(3, 500, units=2)]
    slots = [slot("vm-a-001", 1000)]
    assert spawn.match_records(jobs, slots, IMAGE) == (4, [jobs[1], jobs[2]])
    assert slots[0]["jobs"] == ["1"]


def test_split_by_lifetime_sets_apart_the_jobs_a_vm_cannot_run():
    image = {"rules": {"lifetime": 1070}}
    rules = {"grace": 70}
    fit, long_job, no_limit = record(1, 1000), record(2, 1001), record(3, None)
    assert spawn.split_by_lifetime([fit, long_job, fit, no_limit], image, rules) == (
        [fit, fit], [long_job, no_limit])
    assert spawn.split_by_lifetime([fit, fit], image, rules) == ([fit, fit], [])
    assert spawn.split_by_lifetime([], image, rules) == ([], [])
