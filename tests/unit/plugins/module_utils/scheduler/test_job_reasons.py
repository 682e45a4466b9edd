# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan's job comments: why a VM job waits, written only where the comment is empty or ours."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import job_reasons
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import planner as vm_planner
from ansible_collections.hpc.slurm_vm.tests.unit.plugins.module_utils.scheduler.test_planner import NOW, build

PREFIX = "hpc.slurm_vm:"


def comments(result):
    """{job id: comment written} from the plan's grouped changes."""
    return {job_id: item["comment"] for item in result["job_comments"] for job_id in item["jobs"]}


def test_a_job_longer_than_the_vm_lifetime_is_told_why_and_the_others_are_not():
    # image a lives 14400 s; the grace is 70 s, so 14330 s is the longest job it can run
    snapshot, images, history = build({"jobs": [[1, "a", 1, 1, 86400, -60, "Resources"],
                                                [2, "a", 1, 1, 600, -50, "Resources"],
                                                [3, "a", 1, 1, None, -40, "Resources"]]})
    result = vm_planner.plan(snapshot, images, history=history)
    written = comments(result)
    assert written["1"] == ("hpc.slurm_vm: time limit 1-00:00:00 is over what a a VM can give (03:58:50): "
                            "this job cannot start")
    assert written["3"] == "hpc.slurm_vm: no time limit, and a a VM lives 04:00:00: set --time to 03:58:50 or less"
    assert "2" not in written
    assert [s["hostname"] for s in result["spawn"]] == ["vm-a-001"]
    assert "comment" in result["preview"] and "1-00:00:00" in result["preview"]


def test_a_comment_already_written_is_not_written_again():
    snapshot, images, history = build({"jobs": [[1, "a", 1, 1, 86400, -60, "Resources"]]})
    first = comments(vm_planner.plan(snapshot, images, history=history))["1"]
    snapshot["vm_jobs"][0]["comment"] = first
    assert vm_planner.plan(snapshot, images, history=history)["job_comments"] == []


def test_a_users_own_comment_is_never_overwritten_and_ours_is_cleared_when_it_no_longer_applies():
    snapshot, images, history = build({"jobs": [[1, "a", 1, 1, 86400, -60, "Resources"],
                                                [2, "a", 1, 1, 600, -50, "Resources"]]})
    snapshot["vm_jobs"][0]["comment"] = "my experiment 42"
    snapshot["vm_jobs"][1]["comment"] = "hpc.slurm_vm: waiting for a a VM: limited by max_vms 4"
    result = vm_planner.plan(snapshot, images, history=history)
    assert comments(result) == {"2": ""}


def test_backoff_names_the_image_and_the_time_it_ends():
    snapshot, images, history = build({"jobs": [[1, "a", 1, 1, 3600, -60, "Resources"]],
                                       "history": {"a": {"failures": 3, "last_failure": -100}}})
    written = comments(vm_planner.plan(snapshot, images, history=history))
    assert written["1"].startswith("hpc.slurm_vm: image a paused after 3 failed VM boots, until ")


def test_max_vms_tells_the_jobs_the_new_vms_cannot_hold_oldest_first():
    # image b: 2 units per VM, max_vms 2 -> four one-unit jobs fit, the fifth and sixth wait
    jobs = [[i, "b", 1, 1, 600, -100 + i, "Resources"] for i in range(1, 7)]
    snapshot, images, history = build({"jobs": jobs})
    result = vm_planner.plan(snapshot, images, history=history)
    assert [s["hostname"] for s in result["spawn"]] == ["vm-b-001", "vm-b-002"]
    written = comments(result)
    assert sorted(written) == ["5", "6"]
    assert written["5"] == "hpc.slurm_vm: waiting for a b VM: limited by max_vms 2"


def test_a_gres_no_image_provides_is_named():
    snapshot, images, history = build({})
    snapshot["vm_jobs"].append({"id": "9", "user": "u", "partition": "vms", "state": "PENDING",
                                "reason": "Resources", "gres": {"vm_old": 1}, "features": "", "num_nodes": 1,
                                "nodelist": "", "time_limit": 600, "submit": NOW, "start": None, "end": None,
                                "comment": ""})
    plain = dict(snapshot["vm_jobs"][0], id="10", gres={})   # no gres: not a VM request, no comment
    snapshot["vm_jobs"].append(plain)
    written = comments(vm_planner.plan(snapshot, images, history=history))
    assert written == {"9": "hpc.slurm_vm: no VM image provides gres vm_old (known: vm_a,vm_b)"}


def test_pending_array_tasks_are_updated_through_the_array_and_a_running_task_itself():
    base = {"user": "u", "partition": "vms", "reason": "Resources", "gres": {"vm_a": 1}, "features": "",
            "num_nodes": 1, "nodelist": "", "time_limit": 600, "submit": NOW, "start": None, "end": None}
    jobs = [dict(base, id="7_1", state="RUNNING", comment=PREFIX + " old"),
            dict(base, id="7_2", state="PENDING", comment=""),
            dict(base, id="7_3", state="PENDING", comment="")]
    changes = job_reasons.comment_changes(jobs, {"7_2": "x", "7_3": "x"}, PREFIX)
    assert changes == [{"comment": "", "jobs": ["7_1"]}, {"comment": PREFIX + " x", "jobs": ["7"]}]


def test_an_array_told_to_clear_by_one_task_and_a_reason_by_a_later_one_gets_the_reason():
    base = {"user": "u", "partition": "vms", "reason": "Resources", "gres": {"vm_a": 1}, "features": "",
            "num_nodes": 1, "nodelist": "", "time_limit": 600, "submit": NOW, "start": None, "end": None,
            "state": "PENDING"}
    jobs = [dict(base, id="9", comment=""),
            dict(base, id="8_1", comment=PREFIX + " old"),   # ours, no reason now: clear the array...
            dict(base, id="10", comment=PREFIX + " old"),
            dict(base, id="8_2", comment="")]                # ...but its other task still waits: the reason
    changes = job_reasons.comment_changes(jobs, {"9": "x", "8_2": "x"}, PREFIX)
    assert changes == [{"comment": "", "jobs": ["10"]}, {"comment": PREFIX + " x", "jobs": ["9", "8"]}]


def test_group_by_comment_keeps_the_ids_in_order_and_sorts_the_comments():
    assert job_reasons.group_by_comment({"3": "b", "1": "", "2": "b", "4": "a"}) == [
        {"comment": "", "jobs": ["1"]}, {"comment": "a", "jobs": ["4"]}, {"comment": "b", "jobs": ["3", "2"]}]
    assert job_reasons.group_by_comment({}) == []


def test_image_reasons_adds_to_the_reasons_it_is_given():
    # the plan's reasons so far (a gres no image provides) stay; the image's replace any for the same job
    snapshot, images, history = build({"jobs": [[1, "a", 1, 1, 86400, -60, "Resources"]]})
    context = vm_planner.PlanContext(snapshot, images, history=history)
    image = images["a"]
    supply = vm_planner.spawn.ImageSupply(context, image, context.classify(image), context.demand["a"])
    given = {"7": "no VM image provides gres vm_old (known: vm_a,vm_b)", "1": "stale"}
    returned = job_reasons.image_reasons(image, supply, context.rules, given)
    assert returned is given
    assert given == dict(job_reasons.image_reasons(image, supply, context.rules),
                         **{"7": "no VM image provides gres vm_old (known: vm_a,vm_b)"})
    assert given["1"].startswith("time limit 1-00:00:00 is over what a a VM can give")


def test_reasons_by_position_say_what_reasons_by_id_say():
    # the planner's way (the jobs no VM takes, by their place in vm_jobs) and the dict's give the same comments;
    # a reason by position goes ahead of one by id (as an image's reason replaces an unknown-gres one)
    jobs = [[i, "b", 1, 1, 600, -100 + i, "Resources"] for i in range(1, 7)] + [[7, "a", 1, 1, 86400, -9, "Resources"]]
    snapshot, images, history = build({"jobs": jobs})
    context = vm_planner.PlanContext(snapshot, images, history=history)
    by_id, by_position = {"5": "stale"}, {"5": "stale"}
    reason_at = [None] * len(snapshot["vm_jobs"])
    for name in sorted(images):
        image = images[name]
        supply = vm_planner.spawn.ImageSupply(context, image, context.classify(image), context.demand[name])
        job_reasons.image_reasons(image, supply, context.rules, by_id)
        job_reasons.image_reasons(image, supply, context.rules, by_position, reason_at)
    assert [r is not None for r in reason_at] == [False] * 4 + [True, True, False]
    assert sorted(by_position) == ["5", "7"] and sorted(by_id) == ["5", "6", "7"]
    changes = job_reasons.comment_changes(snapshot["vm_jobs"], by_id, PREFIX)
    assert job_reasons.comment_changes(snapshot["vm_jobs"], by_position, PREFIX, reason_at) == changes
    assert comments({"job_comments": changes})["5"] == PREFIX + " waiting for a b VM: limited by max_vms 2"
