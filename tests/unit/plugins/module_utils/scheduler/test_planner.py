# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner, driven by the scenario table in fixtures/planner_scenarios.yml."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os

import pytest
import yaml

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import planner as vm_planner

NOW = 1800000000
HERE = os.path.dirname(__file__)
with open(os.path.join(HERE, "fixtures", "planner_scenarios.yml")) as _handle:
    SCENARIOS = yaml.safe_load(_handle)

NET = {"bridge": "br0", "subnet": "10.77.0.0/16"}
TABLE = {
    "a": {"pool": "vm-a-[001-004]", "network": dict(NET, ip_offset=256, mac_prefix="52:54:00:77:01"),
          "rules": {"lifetime": 14400, "boot_timeout": 300, "idle_timeout": 600}},
    "b": {"pool": "vm-b-[001-002]", "gres_count": 2, "vcpus": 2,
          "network": dict(NET, ip_offset=512, mac_prefix="52:54:00:77:02"),
          "rules": {"max_vms": 2}},
}


def _node(state, last_busy=None):
    base, _sep, rest = state.partition("+")
    flags = [f for f in rest.split("+") if f]
    registered = base != "FUTURE" and "NOT_RESPONDING" not in flags
    return {"state": base, "flags": flags, "reason": "hpc.slurm_vm: test" if "DRAIN" in flags else "",
            "registered": registered, "boot_time": NOW - 6000 if registered else None,
            "slurmd_start": NOW - 5000 if registered else None,
            "last_busy": NOW + last_busy if last_busy is not None else NOW - 5000,
            "gres": "", "features": "", "alloc_cpus": 1 if base in ("ALLOCATED", "MIXED") else 0}


def build(scenario):
    table = copy.deepcopy(TABLE)
    table["a"]["rules"].update(scenario.get("rules_a", {}))
    images = image_table.normalize_table(table)
    nodes = {h: _node("FUTURE") for i in images.values() for h in i["hosts"]}
    for host, state in (scenario.get("nodes") or {}).items():
        nodes[host] = _node(state, (scenario.get("last_busy") or {}).get(host))
    host_jobs = {}
    for index, (host, (state, start, end)) in enumerate(sorted((scenario.get("host_jobs") or {}).items())):
        host_jobs[host] = {"id": str(100 + index), "name": "hpcvm:" + host, "state": state, "reason": "",
                           "start": NOW + start if start is not None else None,
                           "end": NOW + end if end is not None else None, "time_limit": 14400,
                           "hypervisor": "hv%02d" % index if state == "RUNNING" else None}
    jobs = []
    for job_id, image, units, num_nodes, limit, submit, reason in scenario.get("jobs") or []:
        jobs.append({"id": str(job_id), "name": "j", "user": "u", "partition": "vms", "state": "PENDING",
                     "reason": reason, "gres": {images[image]["gres"]: units}, "features": "",
                     "num_nodes": num_nodes, "nodelist": "", "time_limit": limit, "submit": NOW + submit,
                     "start": None, "end": None})
    snapshot = {"time": NOW, "vm_jobs": jobs, "nodes": nodes, "host_jobs": host_jobs,
                "reservations": {r: {"nodes": r[6:], "start": NOW, "end": NOW + 3600, "users": "root", "state": "",
                                     "ours": not r.startswith("hpcvm-foreign-")}
                                 for r in scenario.get("reservations") or []}}
    history = {}
    for image, record in (scenario.get("history") or {}).items():
        history[image] = {"failures": record["failures"], "last_failure": NOW + record["last_failure"]}
    return snapshot, images, history


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
def test_scenario(scenario):
    snapshot, images, history = build(scenario)
    result = vm_planner.plan(snapshot, images, rules=scenario.get("rules"), history=history,
                             claimed=scenario.get("claimed"))
    expect = scenario["expect"]
    assert [s["hostname"] for s in result["spawn"]] == expect["spawn"], result["preview"]
    assert [c["hostname"] for c in result["cancel"]] == expect["cancel"], result["preview"]
    assert [[t["hostname"], t["step"]] for t in result["teardown"]] == expect["teardown"], result["preview"]
    assert sorted(g["hostname"] for g in result["gc"]) == expect["gc"], result["preview"]
    for image, text in (scenario.get("limited_by") or {}).items():
        assert text in (result["images"][image]["limited_by"] or ""), result["images"][image]
    for image, ids in (scenario.get("unservable") or {}).items():
        assert result["images"][image]["unservable_jobs"] == ids
    for item in result["spawn"] + result["cancel"] + result["teardown"] + result["gc"]:
        assert item["reason"], item
    # deterministic: the same inputs give the same plan
    assert vm_planner.plan(snapshot, images, rules=scenario.get("rules"), history=history,
                           claimed=scenario.get("claimed")) == result


def test_spawn_carries_addresses_and_host_job():
    snapshot, images, history = build({"jobs": [[1, "a", 1, 1, 600, -60, "Resources"]]})
    spawn = vm_planner.plan(snapshot, images)["spawn"][0]
    assert spawn["mac"] == "52:54:00:77:01:01"
    assert spawn["ip"] == "10.77.1.1"
    assert spawn["host_job"]["name"] == "hpcvm:vm-a-001"
    assert spawn["host_job"]["time_limit"] == "04:00:00"


def test_preview_lists_every_decision():
    snapshot, images, history = build(SCENARIOS[[s["name"] for s in SCENARIOS].index(
        "a drained idle VM ends its host job; a drained busy one waits")])
    preview = vm_planner.plan(snapshot, images)["preview"].splitlines()
    assert preview[0].split() == ["ACTION", "IMAGE", "HOST", "STEP", "REASON"]
    assert preview[1].split()[:4] == ["teardown", "a", "vm-a-001", "end_host_job"]
    assert preview[2].split()[:4] == ["teardown", "a", "vm-a-002", "wait"]


def test_unknown_global_rule_is_refused():
    snapshot, images, history = build({})
    with pytest.raises(Exception, match="unknown global rules: colour"):
        vm_planner.plan(snapshot, images, rules={"colour": 1})


@pytest.mark.parametrize("reason, down_for, step", [
    ("hpc.slurm_vm: boot failed: boot_timeout: not registered; gate: mounts: /scratch missing", 60, "wait"),
    ("hpc.slurm_vm: boot failed: boot_timeout: not registered", 601, "finish"),
    ("hpc.slurm_vm: VM gone", 60, "finish"),     # an ordinary teardown's tail is not held
])
@pytest.mark.parametrize("registered", [False, True])  # True: a SlurmdStartTime from an earlier life, no ping yet
def test_a_failed_boot_holds_its_node_down_for_failed_hold(reason, down_for, step, registered):
    snapshot, images, history = build({"name": "hold", "nodes": {"vm-a-002": "DOWN"}})
    snapshot["nodes"]["vm-a-002"].update(reason=reason, reason_time=NOW - down_for, registered=registered)
    result = vm_planner.plan(snapshot, images, history=history)
    item = [t for t in result["teardown"] if t["hostname"] == "vm-a-002"][0]
    assert item["step"] == step, item
    if step == "wait":
        assert item["reason"].startswith("held DOWN after a failed boot until ")
        assert not item["reason"].startswith("boot_timeout")  # the failure history counts those once
    assert "vm-a-002" not in [s["hostname"] for s in result["spawn"]]


def test_reason_time_is_parsed_from_the_node_line():
    from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import snapshot as slurm_snapshot
    from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.parse import parse_time
    line = "NodeName=vm-a-001 State=DOWN+NOT_RESPONDING Reason=hpc.slurm_vm: boot failed [root@2026-11-25T22:00:00]"
    node = slurm_snapshot.parse_nodes(line)["vm-a-001"]
    assert node["reason"] == "hpc.slurm_vm: boot failed"
    assert node["reason_time"] == parse_time("2026-11-25T22:00:00") and node["reason_time"] > 0


def test_a_running_host_job_without_a_registered_node_is_started_again_until_boot_timeout():
    snapshot, images, history = build({"name": "late", "host_jobs": {"vm-a-001": ["RUNNING", -30, 3600],
                                                                     "vm-a-002": ["RUNNING", -400, 3600]}})
    result = vm_planner.plan(snapshot, images, history=history)
    assert [s["hostname"] for s in result["start"]] == ["vm-a-001"]
    start = result["start"][0]
    assert (start["hypervisor"], start["host_job_start"], start["host_job_end"]) == ("hv00", NOW - 30, NOW + 3600)
    assert start["mac"] == "52:54:00:77:01:01" and start["ip"] and start["host_job_id"] == "100"
    # past boot_timeout (300 s): torn down, not started again
    assert [[t["hostname"], t["step"]] for t in result["teardown"]] == [["vm-a-002", "end_host_job"]]


def test_a_node_slurm_set_invalid_reg_is_a_failed_boot_with_slurms_reason():
    """The table says vcpus 1, slurm.conf CPUs=4: the VM's slurmd registers with 1 CPU, Slurm drains the
    node INVALID_REG. Not an idle drained VM to replace at once: a failed boot, toward the backoff."""
    snapshot, images, history = build({"host_jobs": {"vm-a-001": ["RUNNING", -100, 14000]},
                                       "nodes": {"vm-a-001": "IDLE+DRAIN+INVALID_REG"},
                                       "jobs": [[1, "a", 1, 1, 600, -60, "Resources"]]})
    snapshot["nodes"]["vm-a-001"]["reason"] = "Low socket*core*thread count, Low CPUs"
    result = vm_planner.plan(snapshot, images, history=history)
    item = [t for t in result["teardown"] if t["hostname"] == "vm-a-001"][0]
    assert item["step"] == "end_host_job" and item["boot_failure"] == "invalid_registration", item
    assert item["reason"].startswith("slurmd registered invalid (Low socket*core*thread count, Low CPUs)")
    assert "Low CPUs" in result["preview"]
    plain = vm_planner.plan(*build({"host_jobs": {"vm-a-001": ["RUNNING", -100, 14000]},
                                    "nodes": {"vm-a-001": "IDLE+DRAIN"}})[:2])["teardown"]
    assert plain[0]["boot_failure"] is None and plain[0]["reason"].startswith("drained")
