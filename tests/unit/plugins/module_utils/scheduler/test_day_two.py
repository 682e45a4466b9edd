# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner's day-two rules: paused images, image versions rolled over, hypervisors out of service,
reservations that follow their host job's end, the status rows and the next due time."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import ImageTableError
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import host_job_comment, host_job_comment_fields
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import planner as vm_planner
from ansible_collections.hpc.slurm_vm.tests.unit.plugins.module_utils.scheduler.test_planner import NOW, TABLE, build

OLD = "0ld0ld0ld0ld"
PAUSED = {"a": {"reason": "certification under review", "since": NOW - 60, "by": "admin"}}


def scenario_snapshot(scenario, versions=None):
    """build()'s snapshot, with the host jobs' comments saying the given versions ({host: version})."""
    snapshot, images, history = build(scenario)
    for host, job in snapshot["host_jobs"].items():
        version = (versions or {}).get(host, images[host.split("-")[1]]["version"])
        job["comment"] = host_job_comment(host.split("-")[1], host, version)
    return snapshot, images, history


def by_host(items):
    return {item["hostname"]: item for item in items}


# ------------------------------------------------------------------ versions
def test_the_version_id_follows_the_boot_settings_and_the_label():
    one = image_table.image_version("a", {"image": "/var/lib/hpcvm/images/a.qcow2"})
    assert len(one) == 12 and one == image_table.image_version("a", {"image": "/var/lib/hpcvm/images/a.qcow2"})
    assert one != image_table.image_version("a", {"image": "/var/lib/hpcvm/images/a-2.qcow2"})
    labelled = image_table.image_version("a", {"image": "/var/lib/hpcvm/images/a.qcow2"}, "2026.12")
    assert labelled == "2026.12-" + one[:8]
    assert image_table.image_version("a", {"image": "/x"}, "2026.12") != image_table.image_version(
        "a", {"image": "/x"}, "2026.13")


@pytest.mark.parametrize("label", ["has space", "-lead", "x" * 33, "a/b"])
def test_a_bad_version_label_is_refused(label):
    table = copy.deepcopy(TABLE)
    table["a"]["version"] = label
    with pytest.raises(ImageTableError, match="image a: version"):
        image_table.normalize_table(table)


def test_the_host_job_comment_carries_the_version():
    comment = host_job_comment("a", "vm-a-001", "2026.12-1a2b3c4d")
    assert comment == "hpc.slurm_vm image=a vm=vm-a-001 version=2026.12-1a2b3c4d"
    assert host_job_comment_fields(comment) == {"image": "a", "vm": "vm-a-001", "version": "2026.12-1a2b3c4d"}
    assert host_job_comment_fields("someone else's comment version=1") == {}


def test_a_rollout_replaces_idle_vms_drains_busy_ones_and_cancels_old_pending_host_jobs():
    snapshot, images, _history = scenario_snapshot({
        "host_jobs": {"vm-a-001": ["RUNNING", -1000, 13000], "vm-a-002": ["RUNNING", -1000, 13000],
                      "vm-a-003": ["PENDING", None, None]},
        "nodes": {"vm-a-001": "IDLE", "vm-a-002": "ALLOCATED"},
        "jobs": [[1, "a", 1, 1, 3600, -60, "Resources"]],
    }, versions={"vm-a-001": OLD, "vm-a-002": OLD, "vm-a-003": OLD})
    result = vm_planner.plan(snapshot, images)
    teardown = by_host(result["teardown"])
    assert sorted(teardown) == ["vm-a-001", "vm-a-002"]
    assert {t["step"] for t in teardown.values()} == {"drain"}
    assert teardown["vm-a-001"]["reason"] == "rollout of image a: version %s replaced by %s" % (
        OLD, images["a"]["version"])
    assert [(c["hostname"], c["reason"].split(":")[0]) for c in result["cancel"]] == [
        ("vm-a-003", "rollout of image a")]
    # max_vms (the pool, 4) holds: three old VMs still count, so one new VM, of the new version
    assert [s["hostname"] for s in result["spawn"]] == ["vm-a-004"]
    assert result["spawn"][0]["host_job"]["comment"].endswith("version=" + images["a"]["version"])
    assert result["spawn"][0]["image_version"] == images["a"]["version"]
    assert result["images"]["a"]["rollout"] == {"old": 3, "new": 0}
    assert "rollout" in result["preview"] and "3 VM(s) of an older version to go" in result["preview"]


def test_a_rollout_never_goes_over_max_vms():
    table = copy.deepcopy(TABLE)
    table["a"]["rules"]["max_vms"] = 2
    snapshot, images, _history = scenario_snapshot({
        "host_jobs": {"vm-a-001": ["RUNNING", -1000, 13000], "vm-a-002": ["RUNNING", -1000, 13000]},
        "nodes": {"vm-a-001": "ALLOCATED", "vm-a-002": "ALLOCATED"},
        "jobs": [[1, "a", 1, 1, 3600, -60, "Resources"]],
    }, versions={"vm-a-001": OLD, "vm-a-002": OLD})
    images = image_table.normalize_table(table)
    result = vm_planner.plan(snapshot, images)
    assert result["spawn"] == [] and result["images"]["a"]["limited_by"] == "max_vms 2"
    assert [t["step"] for t in result["teardown"]] == ["drain", "drain"]


def test_a_vm_of_unknown_version_is_not_rolled_over():
    snapshot, images, _history = scenario_snapshot({
        "host_jobs": {"vm-a-001": ["RUNNING", -1000, 13000]}, "nodes": {"vm-a-001": "IDLE"},
        "last_busy": {"vm-a-001": -10}})
    snapshot["host_jobs"]["vm-a-001"]["comment"] = "hpc.slurm_vm image=a vm=vm-a-001"  # before versions
    result = vm_planner.plan(snapshot, images)
    assert result["teardown"] == [] and result["images"]["a"]["rollout"] == {"old": 0, "new": 1}
    assert by_host(result["vms"])["vm-a-001"]["version"] is None


def test_spawn_and_start_items_carry_the_recorded_base_image():
    record = {"path": "/var/lib/hpcvm/images/a.qcow2", "size": 1024, "mtime": 1700000000, "sha256": "ab" * 32}
    snapshot, images, _history = scenario_snapshot({
        "host_jobs": {"vm-a-001": ["RUNNING", -10, 14000]},
        "jobs": [[1, "a", 1, 1, 3600, -60, "Resources"], [2, "a", 1, 1, 3600, -50, "Resources"]]})
    records = {"a": {images["a"]["version"]: dict(record, recorded=NOW - 100)}}
    result = vm_planner.plan(snapshot, images, base_records=records)
    assert result["spawn"][0]["base_record"] == record
    assert result["start"][0]["base_record"] == record and result["start"][0]["image_version"] == images["a"]["version"]
    assert vm_planner.plan(snapshot, images)["spawn"][0]["base_record"] is None


# ------------------------------------------------------------------ pause
def test_a_paused_image_spawns_nothing_cancels_pending_host_jobs_and_says_why():
    snapshot, images, _history = scenario_snapshot({
        "host_jobs": {"vm-a-001": ["RUNNING", -1000, 13000], "vm-a-002": ["PENDING", None, None]},
        "nodes": {"vm-a-001": "ALLOCATED"},
        "jobs": [[1, "a", 1, 1, 3600, -60, "Resources"], [2, "a", 1, 1, 3600, -50, "Resources"]],
    })
    result = vm_planner.plan(snapshot, images, paused=PAUSED)
    assert result["spawn"] == []
    assert [(c["hostname"], c["reason"]) for c in result["cancel"]] == [
        ("vm-a-002", "image a paused: certification under review")]
    assert result["teardown"] == []  # its running VM serves on
    assert result["images"]["a"]["paused"] == PAUSED["a"]
    assert result["images"]["a"]["limited_by"] == "image a paused: certification under review".replace(
        "image a paused", "image paused")
    assert result["job_comments"] == [{"comment": "hpc.slurm_vm: image a paused: certification under review",
                                       "jobs": ["1", "2"]}]
    resumed = vm_planner.plan(snapshot, images)
    assert resumed["cancel"] == [] and resumed["images"]["a"]["paused"] is None
    assert [s["hostname"] for s in resumed["spawn"]] == ["vm-a-003"]  # one job waits for the pending VM


def test_pausing_one_image_leaves_the_others():
    snapshot, images, _history = scenario_snapshot({"jobs": [[1, "b", 1, 1, 600, -60, "Resources"]]})
    assert [s["hostname"] for s in vm_planner.plan(snapshot, images, paused=PAUSED)["spawn"]] == ["vm-b-001"]


# ------------------------------------------------------------------ hypervisors
@pytest.mark.parametrize("state, flags, out", [
    ("IDLE", ["DRAIN"], True), ("ALLOCATED", ["DRAIN"], True), ("ALLOCATED", ["MAINT"], True),
    ("ALLOCATED", [], False), ("MIXED", ["COMPLETING"], False),
])
def test_a_vm_on_a_hypervisor_out_of_service_is_drained(state, flags, out):
    snapshot, images, _history = scenario_snapshot({
        "host_jobs": {"vm-a-001": ["RUNNING", -1000, 13000], "vm-a-002": ["RUNNING", -1000, 13000]},
        "nodes": {"vm-a-001": "IDLE", "vm-a-002": "ALLOCATED"}, "last_busy": {"vm-a-001": -10}})
    snapshot["hypervisors"] = {"hv00": {"state": state, "flags": flags, "reason": "disk swap"},
                               "hv01": {"state": state, "flags": flags, "reason": "disk swap"}}
    result = vm_planner.plan(snapshot, images)
    teardown = by_host(result["teardown"])
    if not out:
        assert teardown == {}
        return
    assert [teardown[h]["step"] for h in ("vm-a-001", "vm-a-002")] == ["drain", "drain"]
    assert teardown["vm-a-001"]["reason"] == (
        "hypervisor hv00 out of service in the host cluster (%s: disk swap)" % "+".join([state] + flags))


@pytest.mark.parametrize("state, flags", [("DOWN", []), ("ALLOCATED", ["NOT_RESPONDING"]), ("FAIL", ["DRAIN"])])
def test_nothing_is_sent_to_a_hypervisor_that_does_not_answer(state, flags):
    """Its host job ends in the host cluster (NODE_FAIL), then `finish` cleans up: ending the host job or
    checking the domain would need the dead hypervisor (the scheduler run failed unreachable in the lab)."""
    snapshot, images, _history = scenario_snapshot({
        "host_jobs": {"vm-a-001": ["RUNNING", -1000, 13000], "vm-a-002": ["RUNNING", -20, 14000]},
        "nodes": {"vm-a-001": "IDLE+DRAIN"}, "jobs": [[1, "a", 1, 1, 3600, -60, "Resources"]]})
    snapshot["hypervisors"] = {"hv00": {"state": state, "flags": flags, "reason": ""},
                               "hv01": {"state": state, "flags": flags, "reason": ""}}
    result = vm_planner.plan(snapshot, images)
    assert [(t["hostname"], t["step"]) for t in result["teardown"]] == [("vm-a-001", "wait"), ("vm-a-002", "wait")]
    assert "does not answer in the host cluster" in result["teardown"][0]["reason"]
    assert [s["hostname"] for s in result["spawn"]] == ["vm-a-003"]  # the job is served elsewhere


def test_a_booting_vm_on_a_drained_hypervisor_ends_its_host_job_and_is_not_supply():
    snapshot, images, _history = scenario_snapshot({
        "host_jobs": {"vm-a-001": ["RUNNING", -20, 14000]}, "jobs": [[1, "a", 1, 1, 3600, -60, "Resources"]]})
    snapshot["hypervisors"] = {"hv00": {"state": "ALLOCATED", "flags": ["DRAIN"], "reason": "maintenance"}}
    result = vm_planner.plan(snapshot, images)
    assert [(t["hostname"], t["step"]) for t in result["teardown"]] == [("vm-a-001", "end_host_job")]
    assert "hv00" in result["teardown"][0]["reason"]
    assert result["teardown"][0]["boot_failure"] is None  # not a failed boot: no DOWN hold, no backoff
    assert [s["hostname"] for s in result["spawn"]] == ["vm-a-002"]  # the job gets a VM elsewhere


def test_a_maintenance_reservation_moves_the_vm_reservation_earlier_and_shortens_its_life():
    snapshot, images, _history = scenario_snapshot({
        "host_jobs": {"vm-a-001": ["RUNNING", -1000, 13000]}, "nodes": {"vm-a-001": "ALLOCATED"}})
    snapshot["reservations"] = {"hpcvm-vm-a-001": {"nodes": "vm-a-001", "start": NOW + 13000 - 70,
                                                   "end": NOW + 13000 - 70 + 86400, "users": "root",
                                                   "state": "INACTIVE", "ours": True}}
    snapshot["maintenance"] = {"hv00": {"start": NOW + 3000, "reservation": "kernel_update"}}
    result = vm_planner.plan(snapshot, images)
    assert [(r["hostname"], r["start"]) for r in result["reserve"]] == [("vm-a-001", NOW + 3000 - 70)]
    assert "maintenance reservation kernel_update on hv00" in result["reserve"][0]["reason"]
    assert "reserve" in result["preview"]
    # once moved, nothing more to do
    snapshot["reservations"]["hpcvm-vm-a-001"]["start"] = NOW + 3000 - 70
    assert vm_planner.plan(snapshot, images)["reserve"] == []
    # a maintenance within the drain margin drains the VM
    snapshot["maintenance"]["hv00"]["start"] = NOW + 300
    assert [(t["hostname"], t["step"]) for t in vm_planner.plan(snapshot, images)["teardown"]] == [
        ("vm-a-001", "drain")]


def test_a_lowered_time_limit_moves_the_reservation_too():
    snapshot, images, _history = scenario_snapshot({
        "host_jobs": {"vm-a-001": ["RUNNING", -1000, 5000]}, "nodes": {"vm-a-001": "IDLE"}})
    snapshot["reservations"] = {"hpcvm-vm-a-001": {"nodes": "vm-a-001", "start": NOW + 13000 - 70, "end": None,
                                                   "users": "root", "state": "INACTIVE", "ours": True}}
    result = vm_planner.plan(snapshot, images)
    assert [(r["hostname"], r["start"]) for r in result["reserve"]] == [("vm-a-001", NOW + 5000 - 70)]
    snapshot["reservations"]["hpcvm-vm-a-001"]["ours"] = False  # someone else's: never touched
    assert vm_planner.plan(snapshot, images)["reserve"] == []


# ------------------------------------------------------------------ rows and next due
def test_the_rows_say_each_vms_version_jobs_and_next_step():
    snapshot, images, _history = scenario_snapshot({
        "host_jobs": {"vm-a-001": ["RUNNING", -1000, 13000], "vm-a-002": ["RUNNING", -1000, 13000],
                      "vm-a-003": ["PENDING", None, None]},
        "nodes": {"vm-a-001": "IDLE", "vm-a-002": "ALLOCATED"}},
        versions={"vm-a-001": OLD})
    snapshot["vm_jobs"].append({"id": "77", "name": "j", "user": "u", "partition": "vms", "state": "RUNNING",
                                "reason": "None", "gres": {"vm_a": 1}, "features": "", "num_nodes": 1,
                                "nodelist": "vm-a-002", "time_limit": 600, "submit": NOW - 100,
                                "start": NOW - 90, "end": NOW + 510, "comment": ""})
    rows = by_host(vm_planner.plan(snapshot, images)["vms"])
    assert sorted(rows) == ["vm-a-001", "vm-a-002", "vm-a-003"]  # free names are not listed
    assert rows["vm-a-001"]["version"] == OLD and rows["vm-a-001"]["current_version"] == images["a"]["version"]
    assert (rows["vm-a-001"]["action"], rows["vm-a-001"]["action_reason"].split(":")[0]) == (
        "drain", "rollout of image a")
    assert rows["vm-a-002"]["jobs"] == ["77"] and rows["vm-a-002"]["state"] == "busy"
    assert rows["vm-a-002"]["hypervisor"] == "hv01" and rows["vm-a-002"]["age"] == 1000
    assert rows["vm-a-003"]["state"] == "pending" and rows["vm-a-003"]["action"] == "cancel"
    assert rows["vm-a-003"]["age"] is None


def test_next_due_is_the_earliest_time_rule():
    snapshot, images, _history = scenario_snapshot({
        "host_jobs": {"vm-a-001": ["RUNNING", -1000, 13000], "vm-a-002": ["RUNNING", -100, 14000]},
        "nodes": {"vm-a-001": "IDLE"}, "last_busy": {"vm-a-001": -200}})
    result = vm_planner.plan(snapshot, images)
    # vm-a-001 idle since NOW-200 (idle_timeout 600); vm-a-002 booting since NOW-100 (boot_timeout 300)
    assert result["next_due"] == NOW + 201
    # a row with no step now names its own next rule (the status table's NEXT column); one with a step, none
    rows = by_host(result["vms"])
    assert [(rows[h]["action"], rows[h]["next_at"], rows[h]["next_in"], rows[h]["next_rule"], rows[h]["next_step"])
            for h in ("vm-a-001", "vm-a-002")] == [(None, NOW + 401, 401, "idle_timeout", "drain"),
                                                   ("start", None, None, None, None)]
    snapshot["host_jobs"].pop("vm-a-002")
    snapshot["nodes"]["vm-a-002"]["state"] = "FUTURE"
    assert vm_planner.plan(snapshot, images)["next_due"] == NOW + 401
    empty, images, _history = scenario_snapshot({})
    assert vm_planner.plan(empty, images)["next_due"] is None
