# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The status verb's formatter: vm_plan's `vms` rows and image summaries as a table and as data; a plan without
the rows is refused (never an empty table)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

import pytest

from ansible_collections.hpc.slurm_vm.plugins.filter.admin_verbs import vm_status, vm_status_table
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import planner, status
from ansible.errors import AnsibleFilterError


def row(hostname, **more):
    base = {"hostname": hostname, "image": "deb12", "state": "idle", "version": "v2-aaaa", "current_version": "v2-aaaa",
            "hypervisor": "hv01", "host_job_id": "100012", "host_job_state": "RUNNING", "started": 1000, "age": 250,
            "jobs": [], "node_state": "IDLE", "node_reason": None, "action": None, "action_reason": None,
            "next_at": None, "next_in": None, "next_rule": None, "next_step": None}
    base.update(more)
    return base


def image_summary(**more):
    base = {"pending_jobs": 0, "requested_units": 0, "oldest_wait": 0, "job_ids": [], "job_ids_truncated": False,
            "longest_time_limit": 0, "unservable_jobs": [], "vms": {}, "spawn": 0, "wanted": 0, "limited_by": None,
            "backoff": None, "drift": [], "boot_seconds": [], "version": "v2-aaaa", "paused": None,
            "rollout": {"old": 0, "new": 0}}
    base.update(more)
    return base


def plan():
    return {
        "started": 1250.5,
        "images": {
            "deb12": image_summary(pending_jobs=2, requested_units=2, oldest_wait=45, job_ids=["31", "32"],
                                   vms={"busy": 1, "idle": 1, "draining": 1, "free": 5},
                                   rollout={"old": 1, "new": 2}),
            "disk": image_summary(version="0123456789ab", limited_by="image paused: certification (ticket 4711)",
                                  paused={"reason": "certification (ticket 4711)", "since": 1000, "by": "alice"}),
        },
        "vms": [
            row("vm-deb12-001", state="busy", jobs=["17", "18", "19", "20"], node_state="MIXED", next_at=4850,
                next_in=3600, next_rule="lifetime", next_step="drain"),
            row("vm-deb12-002", action="drain", action_reason="idle for 301s (idle_timeout 300s)"),
            row("vm-deb12-003", state="draining", version="v1-bbbb", hypervisor="hv02", age=3725,
                node_state="MIXED+DRAIN", node_reason="hpc.slurm_vm admin drain: bad RAM", jobs=["9"],
                action="wait", action_reason="drained (hpc.slurm_vm admin drain: bad RAM); jobs still running"),
            row("vm-deb12-004", state="pending", version=None, hypervisor=None, host_job_state="PENDING",
                started=None, age=None, node_state="FUTURE", action="cancel", action_reason="demand gone"),
            row("vm-disk-001", image="disk", state="stray", version=None, current_version="0123456789ab",
                hypervisor=None, host_job_id=None, host_job_state=None, started=None, age=None,
                node_state="IDLE", node_reason="admin test", action="gc",
                action_reason="slurmd registered but no host job holds a VM for it"),
        ],
    }


def test_the_table_has_a_line_per_image_then_a_row_per_vm():
    lines = status.status_table(plan()).splitlines()
    assert lines[0] == ("image deb12 (version v2-aaaa): demand 2 jobs (2 units, oldest 45s); "
                        "VMs busy 1, draining 1, idle 1 (5 names free); "
                        "rollout: 1 VM of an old version to replace, 2 of this one")
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(1000))
    assert lines[1] == ("image disk (version 0123456789ab): no demand; VMs none; "
                        "PAUSED since %s by alice: certification (ticket 4711)" % since)
    assert lines[2] == ""
    assert lines[3].split() == ["HOST", "IMAGE", "VERSION", "HYPERVISOR", "HOST", "JOB", "AGE", "STATE", "JOBS", "NEXT",
                                "WHY"]
    rows = lines[4:]
    assert [r.split()[0] for r in rows] == ["vm-deb12-001", "vm-deb12-002", "vm-deb12-003", "vm-deb12-004",
                                            "vm-disk-001"]
    # no step now: the next time rule, in how long, and which
    assert rows[0].split() == ["vm-deb12-001", "deb12", "v2-aaaa", "hv01", "100012", "4m10s", "busy",
                               "17,18,19+1", "drain", "in", "1h00m", "lifetime"]
    assert rows[1].split()[-6:] == ["drain", "idle", "for", "301s", "(idle_timeout", "300s)"]
    assert "v1-bbbb (old)" in rows[2] and "1h02m" in rows[2] and "hv02" in rows[2]
    assert rows[2].split()[9] == "wait"
    assert rows[2].endswith("  drained (hpc.slurm_vm admin drain: bad RAM); jobs still running")
    assert "100012 PENDING" in rows[3] and rows[3].split()[2] == "?"
    # no planned step: the node's reason in Slurm
    assert rows[4].split()[-1] != "admin" and "gc" in rows[4]


def test_columns_line_up():
    lines = status.status_table(plan()).splitlines()[3:]
    start = lines[0].index("NEXT")
    assert all(line[start - 2:start] == "  " for line in lines)


def test_no_step_planned_shows_the_node_reason():
    p = plan()
    p["vms"] = [row("vm-deb12-001", node_reason="Low RealMemory")]
    assert status.status_table(p).splitlines()[-1].endswith("-     node reason: Low RealMemory")


def test_every_pool_host_free_says_so():
    p = plan()
    p["vms"] = []
    assert status.status_table(p).splitlines()[-1].endswith("no VM: every pool host is free")


def test_data_keeps_the_rows_and_the_image_summaries_without_job_lists():
    data = status.status_data(plan())
    assert data["planned_at"] == 1250.5
    assert data["vms"] == plan()["vms"]
    assert data["images"]["disk"]["paused"]["by"] == "alice"
    assert data["images"]["deb12"]["rollout"] == {"old": 1, "new": 2}
    assert "job_ids" not in data["images"]["deb12"]
    json.dumps(data)  # JSON as it is


@pytest.mark.parametrize("broken, message", [
    (lambda p: p.pop("vms"), "the plan has no vms: this vm_plan does not list the VMs one by one"),
    (lambda p: p.pop("images"), "the plan has no images"),
    (lambda p: p["vms"][0].pop("action"), "the plan's row of vm-deb12-001 lacks action"),
    (lambda p: p["images"]["disk"].pop("paused"), "the plan's summary of image disk lacks paused"),
    (lambda p: p.update(failed=True, msg="no snapshot"), "vm_plan failed: no snapshot"),
])
def test_a_plan_without_the_status_keys_is_refused(broken, message):
    p = plan()
    broken(p)
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")):
        status.status_table(p)
    with pytest.raises(InvalidInput):
        status.status_data(p)


def test_the_filters_fail_as_filter_errors():
    with pytest.raises(AnsibleFilterError, match="InvalidInput: the plan has no vms"):
        vm_status_table({"images": {}})
    with pytest.raises(AnsibleFilterError, match="InvalidInput: the plan has no vms"):
        vm_status({"images": {}})


@pytest.mark.parametrize("seconds, shown", [(None, "-"), (0, "0s"), (59, "59s"), (60, "1m00s"), (3599, "59m59s"),
                                            (3600, "1h00m"), (86399, "23h59m"), (93784, "1d02h"), (-5, "0s")])
def test_duration(seconds, shown):
    assert status.duration(seconds) == shown


IMAGES = {"a": {"pool": "vm-a-[001-003]", "network": {"bridge": "br0", "subnet": "10.77.0.0/16", "ip_offset": 256,
                                                      "mac_prefix": "52:54:00:77:01"}}}
NODE = {"state": "IDLE", "flags": [], "reason": "", "registered": True, "boot_time": 900, "slurmd_start": 950,
        "last_busy": 990, "gres": "vm_a:1", "features": "", "alloc_cpus": 0}


def test_the_planners_own_plan_formats():
    """The contract with vm_plan: a plan the planner makes has every key the status reads."""
    from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
    images = image_table.normalize_table(IMAGES)
    snapshot = {"time": 1000, "vm_jobs": [], "reservations": {},
                "nodes": {"vm-a-001": dict(NODE), "vm-a-002": dict(NODE, state="FUTURE", registered=False),
                          "vm-a-003": dict(NODE, state="FUTURE", registered=False)},
                "host_jobs": {"vm-a-001": {"id": "100001", "name": "hpcvm:vm-a-001", "state": "RUNNING",
                                           "start": 800, "end": 800 + 14400, "time_limit": 14400,
                                           "hypervisor": "hv01", "comment": ""}}}
    try:
        result = planner.plan(snapshot, images)
    except (KeyError, TypeError) as exc:  # the snapshot shape moved on: the planner's own tests say how
        pytest.skip("snapshot shape: %s" % exc)
    if "vms" not in result:
        pytest.xfail("the planner does not list vms yet (issue 18, the lead's part)")
    table = status.status_table(result)
    assert "vm-a-001" in table and "hv01" in table and "100001" in table
    assert status.status_data(result)["vms"][0]["hostname"] == "vm-a-001"
