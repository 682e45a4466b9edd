# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""slurm_job_comment's checks and plan: the user's comments are never overwritten."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import job_comment

PREFIX = "hpc.slurm_vm:"


@pytest.mark.parametrize("items, message", [
    ([{"comment": "mine", "jobs": ["1"]}], "does not start with the prefix"),
    ([{"comment": PREFIX + " a\rb", "jobs": ["1"]}], "one line"),
    ([{"comment": PREFIX + " " + "x" * 1100, "jobs": ["1"]}], "at most 1024"),
    ([{"comment": "", "jobs": ["1,2"]}], "invalid job id"),
    ([{"comment": "", "jobs": ["12_[1-3]"]}], "invalid job id"),
    ([{"comment": "", "jobs": ["1"]}, {"comment": PREFIX + " x", "jobs": ["1"]}], "listed twice"),
])
def test_bad_input_is_refused(items, message):
    with pytest.raises(InvalidInput, match=message):
        job_comment.validate(items, PREFIX)


def test_an_empty_prefix_is_refused():
    with pytest.raises(InvalidInput, match="prefix must not be empty"):
        job_comment.validate([], " ")


def test_plan_writes_empty_or_ours_keeps_the_users_and_skips_the_gone():
    why = PREFIX + " waiting"
    wanted = {"1": why, "2": why, "3": why, "4": why, "5": "", "6": ""}
    current = {"1": [""], "2": [PREFIX + " older reason"], "3": ["my run"], "4": [why], "6": ["theirs"]}
    planned = job_comment.plan(wanted, current, PREFIX)
    assert planned["update"] == {why: ["1", "2"]}
    assert sorted(planned["kept"]) == ["3", "5", "6"]
    assert "not ours" in planned["kept"]["3"] and "not in the queue" in planned["kept"]["5"]


def test_an_array_with_one_users_task_comment_is_kept_whole():
    planned = job_comment.plan({"7": PREFIX + " x"}, {"7": ["", "set by hand"]}, PREFIX)
    assert planned["update"] == {} and "set by hand" in planned["kept"]["7"]


class RecordingRunner(object):
    """Answers every command with rc 0; squeue prints the given lines. Records the argv lists."""

    def __init__(self, squeue_out=""):
        self.calls = []
        self.squeue_out = squeue_out

    def run(self, argv, env=None, changes=False, data=None):
        from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.runner import CommandResult
        self.calls.append(list(argv))
        return CommandResult(argv, 0, self.squeue_out if argv[0] == "squeue" else "", "")


def test_a_long_list_of_jobs_is_updated_in_calls_of_bounded_size():
    """A backlog told one reason at once: one argument of argv holds at most 128 KiB on Linux."""
    from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.client import SlurmClient
    runner = RecordingRunner()
    client = job_comment.JobCommentClient(SlurmClient(runner))
    ids = [str(100000 + i) for i in range(1201)]
    commands = client.set_comment(ids, PREFIX + " waiting")
    assert [len(c[2].split(",")) for c in commands] == [500, 500, 201]
    assert [c[2].split("=")[1].split(",")[0] for c in commands] == ["100000", "100500", "101000"]
    assert all(len(" ".join(c)) < 128 * 1024 for c in runner.calls)


def test_many_jobs_are_read_with_one_squeue_of_the_queue():
    from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.client import SlurmClient
    lines = "\n".join("%d|PENDING|(null)" % (100000 + i) for i in range(800)) + "\n7_1|PENDING|mine\n"
    runner = RecordingRunner(lines)
    client = job_comment.JobCommentClient(SlurmClient(runner))
    found = client.comments([str(100000 + i) for i in range(600)] + ["7"])
    assert runner.calls == [["squeue", "-h", "-r", "-o", job_comment.COMMENT_FORMAT]]
    assert len(found) == 601 and found["100000"] == [""] and found["7"] == ["mine"]
    few = RecordingRunner(lines)
    job_comment.JobCommentClient(SlurmClient(few)).comments(["100001", "100002"])
    assert few.calls == [["squeue", "-h", "-r", "-j", "100001,100002", "-o", job_comment.COMMENT_FORMAT]]
