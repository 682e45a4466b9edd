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
