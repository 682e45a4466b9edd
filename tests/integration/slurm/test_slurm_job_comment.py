# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""slurm_job_comment against the lab's VM cluster: held jobs (never demand, never started) get the
scheduler's comment, keep the user's own, and arrays are updated whole, never split."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest

from .ansible_runner import run_module

PREFIX = "hpc.slurm_vm:"
WHY = PREFIX + " time limit 1-00:00:00 is over what a deb12 VM can give (11:58:50): this job cannot start"


@pytest.fixture
def held(lab):
    """held(*sbatch args) -> job id of a held VM job; every one is cancelled afterwards."""
    made = []

    def submit(*args):
        job_id = lab.sbatch("vm", "-H", "--gres=vm_deb12:1", "--time=5", "--wrap=true", *args)
        made.append(job_id)
        return job_id

    yield submit
    if made:
        lab.run(["scancel"] + made, check=False)


def comments(lab, job_id):
    """{job id as squeue -r prints it (123_4 for an array task): comment} read straight from Slurm; ''
    for none (squeue's %k prints "(null)" for a comment never set, and nothing for one cleared)."""
    out = lab.run(["squeue", "-h", "-r", "-j", job_id, "-o", "%i|%k"]).stdout
    pairs = (line.split("|", 1) for line in out.splitlines() if line.strip())
    return {job: "" if text == "(null)" else text for job, text in pairs}


def test_write_idempotent_check_mode_and_clear(lab, held):
    job_id = held()
    args = dict(slurm_conf=lab.conf["vm"], comments=[{"comment": WHY, "jobs": [job_id]}])
    check = run_module("slurm_job_comment", args, check=True)
    assert not check.failed and check.changed and check["changed_jobs"] == [job_id], check
    assert comments(lab, job_id) == {job_id: ""}
    first = run_module("slurm_job_comment", args)
    assert not first.failed and first.changed, first
    assert comments(lab, job_id) == {job_id: WHY}
    again = run_module("slurm_job_comment", args)
    assert not again.failed and not again.changed and again["commands"] == [], again
    cleared = run_module("slurm_job_comment", dict(args, comments=[{"comment": "", "jobs": [job_id]}]))
    assert not cleared.failed and cleared.changed, cleared
    assert comments(lab, job_id) == {job_id: ""}


def test_a_users_comment_is_kept_and_a_gone_job_is_skipped(lab, held):
    mine = held("--comment=my experiment | run 42")
    ours = held()
    gone = held()
    lab.run(["scancel", gone])
    args = dict(slurm_conf=lab.conf["vm"], comments=[{"comment": WHY, "jobs": [mine, ours, gone]}])
    result = run_module("slurm_job_comment", args)
    assert not result.failed and result["changed_jobs"] == [ours], result
    assert "not ours" in result["kept"][mine] and "my experiment | run 42" in result["kept"][mine], result
    assert comments(lab, mine) == {mine: "my experiment | run 42"}
    assert comments(lab, ours) == {ours: WHY}


def test_a_pending_array_is_updated_whole_and_not_split(lab, held):
    array = held("--array=1-3")
    before = sorted(comments(lab, array))
    assert before == ["%s_%d" % (array, i) for i in (1, 2, 3)] or before == ["%s_[1-3]" % array], before
    result = run_module("slurm_job_comment", dict(slurm_conf=lab.conf["vm"],
                                                  comments=[{"comment": WHY, "jobs": [array]}]))
    assert not result.failed and result["changed_jobs"] == [array], result
    after = comments(lab, array)
    assert sorted(after) == before and set(after.values()) == {WHY}, after
    # still one pending array record: the tasks were not split off into jobs of their own
    records = lab.run(["squeue", "-h", "-j", array, "-o", "%i"]).stdout.split()
    assert records == ["%s_[1-3]" % array], records


@pytest.mark.parametrize("comments_arg, message", [
    ([{"comment": "not ours", "jobs": ["1"]}], "does not start with the prefix"),
    ([{"comment": PREFIX + " a\nb", "jobs": ["1"]}], "one line"),
    ([{"comment": PREFIX + " x", "jobs": ["1; scancel 2"]}], "invalid job id"),
    ([{"comment": PREFIX + " x", "jobs": ["1"]}, {"comment": "", "jobs": ["1"]}], "listed twice"),
])
def test_bad_input_is_refused_before_slurm_is_asked(lab, comments_arg, message):
    result = run_module("slurm_job_comment", dict(slurm_conf=lab.conf["vm"], comments=comments_arg))
    assert result.failed and message in result["msg"], result
    assert "commands" not in result.result


def test_an_unreachable_controller_fails_instead_of_reading_as_no_jobs(lab, tmp_path):
    # the VM cluster's configuration with its controller on a loopback port nothing listens on
    with open(lab.conf["vm"]) as handle:
        text = handle.read()
    conf = tmp_path / "slurm.conf"
    conf.write_text(re.sub(r"(?mi)^SlurmctldPort=.*$", "SlurmctldPort=1", text) if re.search(
        r"(?mi)^SlurmctldPort=", text) else text + "\nSlurmctldPort=1\n")
    result = run_module("slurm_job_comment", dict(slurm_conf=str(conf),
                                                  comments=[{"comment": WHY, "jobs": ["1"]}]))
    assert result.failed and "squeue failed" in result["msg"], result
