# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""slurm_host_job's main path, run as Ansible runs it (main() on its module arguments), with
AnsibleModule.run_command replaying squeue, sbatch and scancel output captured on the lab's host
cluster (Slurm 22.05, fixtures/slurm_host_job/capture.py). Everything between the arguments and
run_command is the collection's own code: run.py, host_job.py, client.py, parse.py and the runner.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest
from ansible.module_utils import basic

from ansible_collections.hpc.slurm_vm.plugins.modules import slurm_host_job

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "slurm_host_job")
with open(os.path.join(FIXTURES, "host_job_cases.json")) as _handle:
    _CAPTURE = json.load(_handle)
CASES = _CAPTURE["cases"]
META = _CAPTURE["job"]  # the job the captures were made with: host, script, time limit, comment
HOST, OTHER = META["hostname"], META["other"]
JOB = {"hostname": HOST, "script": META["script"], "time_limit": META["time_limit"], "comment": META["comment"]}
JOB_ID = CASES["sbatch_ok"]["stdout"].strip()  # what sbatch --parsable printed
SQUEUE_ONE = ["squeue", "-h", "--name=hpcvm:" + HOST, "-o", "%i|%j|%T|%N|%S|%e"]
SQUEUE_TWO = ["squeue", "-h", "--name=hpcvm:%s,hpcvm:%s" % (HOST, OTHER), "-o", "%i|%j|%T|%N|%S|%e"]
SBATCH = ["sbatch", "--parsable", "--job-name=hpcvm:" + HOST, "--chdir=/", "--no-requeue", "--exclusive",
          "--partition=hosts", "--time=" + META["time_limit"], "--signal=B:TERM@60", "--comment=" + META["comment"]]
SBATCH_NOPE = ["sbatch", "--parsable", "--job-name=hpcvm:" + OTHER, "--chdir=/", "--no-requeue", "--exclusive",
               "--partition=nope", "--time=" + META["time_limit"], "--signal=B:TERM@60",
               "--comment=" + META["comment"]]


class SlurmReplay(object):
    """AnsibleModule.run_command answering from the captured cases, in the order the test scripts them.
    Each call must run exactly the captured argv (the binary found on PATH, then its arguments)."""

    def __init__(self):
        self.script = []
        self.calls = []

    def expect(self, *keys):
        self.script.extend(keys)

    def run_command(self, module, args, check_rc=False, environ_update=None, data=None, binary_data=False, **kwargs):
        assert args[0] == "/usr/bin/" + os.path.basename(args[0]), args
        argv = [os.path.basename(args[0])] + list(args[1:])
        self.calls.append({"argv": argv, "env": dict(environ_update or {}), "data": data})
        assert self.script, "unexpected command %r" % (argv,)
        case = CASES[self.script.pop(0)]
        assert argv == case["argv"], "expected %r, got %r" % (case["argv"], argv)
        return case["rc"], case["stdout"], case["stderr"]

    def commands(self):
        return [c["argv"][0] for c in self.calls]


@pytest.fixture
def slurm(monkeypatch):
    replay = SlurmReplay()

    def run_command(module, args, **kwargs):
        return replay.run_command(module, args, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda module, name, *a, **k: "/usr/bin/" + name)
    return replay


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / "slurm.conf"
    path.write_text("ClusterName=labhost\n")
    return str(path)


def args(conf, jobs=None, **extra):
    base = {"slurm_conf": conf, "partition": "hosts", "jobs": jobs or [dict(JOB)]}
    base.update(extra)
    return base


def test_the_captures_are_of_these_command_lines():
    """The fixture holds what Slurm answered to the exact command lines the tests expect."""
    assert CASES["sbatch_ok"]["argv"] == SBATCH and CASES["sbatch_ok"]["rc"] == 0 and JOB_ID.isdigit()
    assert CASES["sbatch_refused"]["argv"] == SBATCH_NOPE and CASES["sbatch_refused"]["rc"] != 0
    for key in ("squeue_none", "squeue_after_sbatch", "squeue_running", "squeue_unreachable"):
        assert CASES[key]["argv"] == SQUEUE_ONE, key
    assert CASES["squeue_running_and_none"]["argv"] == SQUEUE_TWO
    assert CASES["squeue_none"]["stdout"] == "" and CASES["squeue_unreachable"]["rc"] != 0
    assert "|hpcvm:%s|RUNNING|" % HOST in CASES["squeue_running"]["stdout"]
    assert CASES["scancel_ok"]["argv"] == ["scancel", JOB_ID] and CASES["scancel_ok"]["rc"] == 0


def test_present_when_absent_submits_one_sbatch_and_returns_its_job_id(run_module, slurm, conf):
    slurm.expect("squeue_none", "sbatch_ok", "squeue_after_sbatch")
    kind, result = run_module(slurm_host_job.main, args(conf))
    assert kind == "exit", result
    assert [c["argv"] for c in slurm.calls] == [SQUEUE_ONE, SBATCH, SQUEUE_ONE] and not slurm.script
    assert slurm.calls[1]["data"] == META["script"]  # the script goes to sbatch on stdin, never on the command line
    assert all(c["env"]["SLURM_CONF"] == conf and c["env"]["LC_ALL"] == "C" for c in slurm.calls)
    assert result["changed"] is True and result["failed_jobs"] == [] and result["commands"] == [SBATCH]
    [job] = result["jobs"]
    assert (job["hostname"], job["job_id"], job["action"]) == (HOST, JOB_ID, "submitted")
    after = CASES["squeue_after_sbatch"]["stdout"].split("|")
    assert job["state"] == after[2] and after[0] == JOB_ID  # read back from squeue right after sbatch


def test_present_with_a_live_job_of_that_name_submits_nothing(run_module, slurm, conf):
    slurm.expect("squeue_running", "squeue_running")
    kind, result = run_module(slurm_host_job.main, args(conf))
    assert kind == "exit", result
    assert slurm.commands() == ["squeue", "squeue"] and not slurm.script
    assert result["changed"] is False and result["commands"] == [] and result["failed_jobs"] == []
    [job] = result["jobs"]
    assert (job["hostname"], job["job_id"], job["action"], job["state"]) == (HOST, JOB_ID, "kept", "RUNNING")
    assert job["node"].startswith("hv") and job["end"] - job["start"] == META["time_limit_seconds"]


def test_check_mode_runs_no_sbatch_and_predicts_the_change(run_module, slurm, conf):
    slurm.expect("squeue_none")
    kind, result = run_module(slurm_host_job.main, args(conf, _ansible_check_mode=True))
    assert kind == "exit", result
    assert slurm.commands() == ["squeue"] and not slurm.script
    assert result["changed"] is True and result["commands"] == [SBATCH]
    assert result["jobs"] == [{"hostname": HOST, "job_id": None, "action": "submitted"}]


def test_check_mode_with_a_live_job_predicts_no_change(run_module, slurm, conf):
    slurm.expect("squeue_running")
    kind, result = run_module(slurm_host_job.main, args(conf, _ansible_check_mode=True))
    assert kind == "exit", result
    assert slurm.commands() == ["squeue"] and result["changed"] is False and result["commands"] == []
    assert result["jobs"] == [{"hostname": HOST, "job_id": JOB_ID, "action": "kept"}]


def test_absent_cancels_the_live_job_with_one_scancel(run_module, slurm, conf):
    slurm.expect("squeue_running", "scancel_ok")
    kind, result = run_module(slurm_host_job.main, args(conf, jobs=[{"hostname": HOST}], state="absent"))
    assert kind == "exit", result
    assert [c["argv"] for c in slurm.calls] == [SQUEUE_ONE, ["scancel", JOB_ID]] and not slurm.script
    assert result["changed"] is True and result["commands"] == [["scancel", JOB_ID]]
    assert result["jobs"] == [{"hostname": HOST, "job_id": JOB_ID, "action": "cancelled"}]


def test_absent_when_no_job_exists_changes_nothing(run_module, slurm, conf):
    slurm.expect("squeue_none")
    kind, result = run_module(slurm_host_job.main, args(conf, jobs=[{"hostname": HOST}], state="absent"))
    assert kind == "exit", result
    assert slurm.commands() == ["squeue"] and not slurm.script
    assert result["changed"] is False and result["commands"] == []
    assert result["jobs"] == [{"hostname": HOST, "job_id": None, "action": "absent"}]


def test_absent_in_check_mode_runs_no_scancel(run_module, slurm, conf):
    slurm.expect("squeue_running")
    kind, result = run_module(slurm_host_job.main, args(conf, jobs=[{"hostname": HOST}], state="absent",
                                                        _ansible_check_mode=True))
    assert kind == "exit", result
    assert slurm.commands() == ["squeue"] and result["changed"] is True
    assert result["commands"] == [["scancel", JOB_ID]]


@pytest.mark.parametrize("fail_on_error", [False, True])
def test_a_refused_sbatch_is_reported_with_slurms_error_and_leaves_no_half_state(run_module, slurm, conf,
                                                                                 fail_on_error):
    """HOST has a live job (kept); OTHER's sbatch is refused (partition nope)."""
    slurm.expect("squeue_running_and_none", "sbatch_refused", "squeue_running")
    jobs = [dict(JOB), dict(JOB, hostname=OTHER)]
    kind, result = run_module(slurm_host_job.main, args(conf, jobs=jobs, partition="nope",
                                                        fail_on_error=fail_on_error))
    assert kind == ("fail" if fail_on_error else "exit"), result
    assert [c["argv"] for c in slurm.calls] == [SQUEUE_TWO, SBATCH_NOPE, SQUEUE_ONE] and not slurm.script
    slurm_error = CASES["sbatch_refused"]["stderr"].strip()
    assert "invalid partition specified: nope" in slurm_error  # Slurm's own words, as captured
    message = "sbatch failed for %s: %s" % (OTHER, slurm_error)
    assert result["failed_jobs"] == [{"hostname": OTHER, "msg": message}]
    # no half state: the refused host has no job id, nothing counts as changed, the live job is kept as it was
    assert result["jobs"][1] == {"hostname": OTHER, "job_id": None, "action": "failed"}
    assert (result["jobs"][0]["job_id"], result["jobs"][0]["action"]) == (JOB_ID, "kept")
    assert result["changed"] is False
    if fail_on_error:
        assert result["msg"] == "sbatch refused 1 host job(s): " + message


@pytest.mark.parametrize("state, check_mode", [("present", False), ("present", True), ("absent", False)])
def test_a_failed_squeue_fails_and_is_never_read_as_no_job(run_module, slurm, conf, state, check_mode):
    """slurmctld does not answer: whether a host job exists is unknown, so nothing is submitted or
    reported absent."""
    slurm.expect("squeue_unreachable")
    job = dict(JOB) if state == "present" else {"hostname": HOST}
    kind, result = run_module(slurm_host_job.main, args(conf, jobs=[job], state=state, _ansible_check_mode=check_mode))
    assert kind == "fail", result
    assert slurm.commands() == ["squeue"] and not slurm.script  # no sbatch, no scancel
    assert result["msg"] == "squeue failed: " + CASES["squeue_unreachable"]["stderr"].strip()
    assert "Unable to contact slurm controller" in result["msg"]
    assert result["rc"] == CASES["squeue_unreachable"]["rc"] and result["cmd"] == SQUEUE_ONE
    assert "jobs" not in result and not result.get("changed")


def test_a_failed_read_back_after_sbatch_says_which_jobs_were_submitted(run_module, slurm, conf):
    """sbatch ran, then slurmctld stopped answering: the job exists, so the failure names it (a rerun finds
    it by name; the caller may cancel or record it) and reports the change."""
    slurm.expect("squeue_none", "sbatch_ok", "squeue_unreachable")
    kind, result = run_module(slurm_host_job.main, args(conf))
    assert kind == "fail", result
    assert result["msg"].startswith("squeue failed: ")
    assert result["msg"].endswith("(after sbatch submitted %s as job %s)" % (HOST, JOB_ID)), result["msg"]
    assert result["changed"] is True and result["commands"] == [SBATCH]
    assert [(j["hostname"], j["job_id"], j["action"]) for j in result["jobs"]] == [(HOST, JOB_ID, "submitted")]
