# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role scheduler_host on this machine, every path in a tmp folder: check mode writes nothing, the first run
writes the folders, the wrapper and the trigger's files, a second run changes nothing, switching the trigger
removes the other's files, bad settings fail before anything is written, and the wrapper runs the collection
playbook under the lock with its arguments quoted (an ansible-playbook stand-in records its argv). Trigger
watch: the watcher program and its service (with the gc timer), whose ExecStart runs the installed watcher."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import json
import os
import shutil
import stat
import subprocess
import sys
import time

import shlex

import pytest

from ansible_collections.hpc.slurm_vm.tests.unit import checkout

RECORDER = """#!/bin/sh
printf '%s\\n' "$@" > "$RECORD_TO"
printf 'ODD_PATH=%s\\n' "$ODD_PATH" >> "$RECORD_TO"
"""


def _play(tmp, role_vars, check=False):
    play = [dict(hosts="localhost", connection="local", gather_facts=False,
                 vars=dict(ansible_python_interpreter=sys.executable),
                 roles=[dict(role="hpc.slurm_vm.scheduler_host", vars=role_vars)])]
    path = tmp / "play.json"
    path.write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=checkout.COLLECTIONS, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_CALLBACK_RESULT_FORMAT="json",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_CONFIG=str(tmp / "none.cfg"))
    argv = [checkout.executable("ansible-playbook"), "-i", "localhost,", str(path)] + (["--check"] if check else [])
    proc = subprocess.run(argv, cwd=str(tmp), env=env, capture_output=True, text=True, timeout=180, check=False)
    recap = [line for line in proc.stdout.splitlines() if line.startswith("localhost ")]
    return proc, recap[-1] if recap else ""


def _vars(tmp, **overrides):
    (tmp / "inv").mkdir(exist_ok=True)
    recorder = tmp / "ansible-playbook"
    recorder.write_text(RECORDER)
    recorder.chmod(0o755)
    result = dict(
        scheduler_host_inventories=[str(tmp / "inv"), str(tmp / "inv")],
        scheduler_host_user=_me(), scheduler_host_group=_my_group(),
        scheduler_host_state_dir=str(tmp / "state"), scheduler_host_log_dir=str(tmp / "log"),
        scheduler_host_lock_dir=str(tmp / "run"), scheduler_host_wrapper=str(tmp / "hpc-slurm-vm-run"),
        scheduler_host_unit_dir=str(tmp / "units"), scheduler_host_tmpfiles_dir=str(tmp / "tmpfiles"),
        scheduler_host_cron_file=str(tmp / "cron" / "hpc-slurm-vm"), scheduler_host_logrotate_dir=str(tmp / "lr"),
        scheduler_host_watch_program=str(tmp / "watch"),
        scheduler_host_manage_units=False, scheduler_host_ansible_playbook=str(recorder),
        scheduler_host_environment=dict(RECORD_TO=str(tmp / "argv"), ODD_PATH="/etc/x y/$HOME"),
        scheduler_host_playbook_args=["--vault-password-file", "/etc/a b/vault.pass"],
    )
    for name in ("units", "tmpfiles", "cron", "lr"):
        (tmp / name).mkdir(exist_ok=True)
    result.update(overrides)
    return result


def _me():
    import pwd
    return pwd.getpwuid(os.getuid()).pw_name


def _my_group():
    import grp
    return grp.getgrgid(os.getgid()).gr_name


def _files(tmp):
    return sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file() and p.name not in (
        "play.json", "ansible-playbook", "argv"))


UNITS = ["units/hpc-slurm-vm-gc.service", "units/hpc-slurm-vm-gc.timer", "units/hpc-slurm-vm-scheduler.service",
         "units/hpc-slurm-vm-scheduler.timer"]


def test_check_mode_writes_nothing_then_a_run_writes_everything_and_a_second_changes_nothing(tmp_path):
    role_vars = _vars(tmp_path, scheduler_host_run_timeout=2)   # how long drain waits for the lock below
    before = _files(tmp_path)
    proc, recap = _play(tmp_path, role_vars, check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert _files(tmp_path) == before and not (tmp_path / "state").exists()
    proc, recap = _play(tmp_path, role_vars)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "changed=0" not in recap, recap
    assert _files(tmp_path) == sorted(before + ["hpc-slurm-vm-run", "lr/hpc-slurm-vm", "tmpfiles/hpc-slurm-vm.conf"]
                                      + UNITS)
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    timer = (tmp_path / "units" / "hpc-slurm-vm-scheduler.timer").read_text()
    assert "OnUnitInactiveSec=15s" in timer and "AccuracySec=1s" in timer
    service = (tmp_path / "units" / "hpc-slurm-vm-scheduler.service").read_text()
    assert "ExecStart=%s scheduler" % (tmp_path / "hpc-slurm-vm-run") in service
    assert "SuccessExitStatus=75" in service
    proc, recap = _play(tmp_path, role_vars)
    assert proc.returncode == 0 and "changed=0" in recap, recap
    # what was written works: (one role run costs ~10 s, so the same files are checked here)
    _the_units_verify(tmp_path)
    _the_wrapper_runs_the_playbook_under_the_lock_with_every_word_quoted(tmp_path)


def _the_units_verify(tmp_path):
    if not shutil.which("systemd-analyze"):
        return
    verify = subprocess.run(["systemd-analyze", "verify", "--man=no"] + [str(tmp_path / u) for u in UNITS],
                            capture_output=True, text=True, timeout=60, check=False)
    complaints = [line for line in verify.stderr.splitlines() if "hpc-slurm-vm" in line]
    assert not complaints, verify.stderr


def test_switching_to_cron_removes_the_units_and_writes_one_line_per_offset(tmp_path):
    assert _play(tmp_path, _vars(tmp_path))[0].returncode == 0
    proc, _recap = _play(tmp_path, _vars(tmp_path, scheduler_host_trigger="cron", scheduler_host_interval=20))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert not any(f.startswith("units/") for f in _files(tmp_path))
    lines = [line for line in (tmp_path / "cron" / "hpc-slurm-vm").read_text().splitlines()
             if line and not line.startswith("#") and "=" not in line.split()[0]]
    wrapper = str(tmp_path / "hpc-slurm-vm-run")
    user = _me()
    assert lines == [
        "* * * * * %s %s scheduler >> %s/scheduler.log 2>&1" % (user, wrapper, tmp_path / "log"),
        "* * * * * %s sleep 20; %s scheduler >> %s/scheduler.log 2>&1" % (user, wrapper, tmp_path / "log"),
        "* * * * * %s sleep 40; %s scheduler >> %s/scheduler.log 2>&1" % (user, wrapper, tmp_path / "log"),
        "17 */1 * * * %s %s gc >> %s/gc.log 2>&1" % (user, wrapper, tmp_path / "log"),
    ]


@pytest.mark.parametrize("overrides, words", [
    (dict(scheduler_host_trigger="cron", scheduler_host_interval=25), "cannot be kept with cron"),
    (dict(scheduler_host_inventories=[]), "non-empty list"),
    (dict(scheduler_host_trigger="anacron"), "must be one of: systemd, cron, watch, none, got: anacron"),
    (dict(scheduler_host_trigger="watch"), "the SLURM_CONF paths of the VM and host clusters"),
    (dict(scheduler_host_trigger="watch", scheduler_host_watch_poll=0, slurm_vm_vm_cluster={"slurm_conf": "/v"},
          slurm_vm_host_cluster={"slurm_conf": "/h"}),
     "scheduler_host_watch_poll must be a positive number"),
    (dict(scheduler_host_environment={"BAD NAME": "x"}), "environment a mapping"),
    (dict(scheduler_host_inventories=["/nonexistent/hpc-slurm-vm-inventory"]), "does not exist on localhost"),
    (dict(scheduler_host_manage_units=True), "systemd is not running"),
])
def test_bad_settings_fail_before_anything_is_written(tmp_path, overrides, words):
    if overrides.get("scheduler_host_manage_units") and os.path.isdir("/run/systemd/system"):
        pytest.skip("systemd runs here: enabling the timers would be real")
    before = _files(tmp_path)
    proc, _recap = _play(tmp_path, _vars(tmp_path, **overrides))
    assert proc.returncode != 0
    assert words in proc.stdout, proc.stdout[-3000:]
    assert _files(tmp_path) == before and not (tmp_path / "state").exists()


def _the_wrapper_runs_the_playbook_under_the_lock_with_every_word_quoted(tmp_path):
    """Every play runs under the runs' lock: scheduler exits 75 when it is taken, gc and the admin verbs wait
    (scheduler_host_run_timeout, 2 s here)."""
    wrapper = str(tmp_path / "hpc-slurm-vm-run")
    run = subprocess.run([wrapper, "scheduler", "--check", "a'b"], capture_output=True, text=True, timeout=30,
                         check=False)
    assert run.returncode == 0, run.stderr
    argv = (tmp_path / "argv").read_text().splitlines()
    inv = str(tmp_path / "inv")
    assert argv == ["-i", inv, "-i", inv, "--vault-password-file", "/etc/a b/vault.pass", "hpc.slurm_vm.scheduler",
                    "--check", "a'b", "ODD_PATH=/etc/x y/$HOME"]
    assert subprocess.run([wrapper, "nonsense"], capture_output=True, timeout=30, check=False).returncode == 2
    # a scheduler run that finds the lock taken exits 75 at once (the service counts it a success)
    with open(str(tmp_path / "run" / "scheduler.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        busy = subprocess.run([wrapper, "scheduler"], capture_output=True, timeout=30, check=False)
        assert busy.returncode == 75
        # the admin verbs wait for the lock (here: until the timeout) and run nothing meanwhile
        for verb in ("drain", "pause", "status"):
            started = time.monotonic()
            waited = subprocess.run([wrapper, verb, "-e", "x=1"], capture_output=True, timeout=30, check=False)
            assert waited.returncode == 75 and time.monotonic() - started >= 1.5, verb
            assert "hpc.slurm_vm." + verb not in (tmp_path / "argv").read_text()
    status = subprocess.run([wrapper, "status", "-e", "status_format=json"], capture_output=True, timeout=30,
                            check=False)
    assert status.returncode == 0, status.stderr
    assert (tmp_path / "argv").read_text().splitlines()[-4:] == [
        "hpc.slurm_vm.status", "-e", "status_format=json", "ODD_PATH=/etc/x y/$HOME"]


WATCH_UNITS = ["units/hpc-slurm-vm-gc.service", "units/hpc-slurm-vm-gc.timer", "units/hpc-slurm-vm-watch.service"]


def _exec_start(unit_text):
    """ExecStart of a unit as argv (the words are plain or double-quoted; %% and $$ are systemd's escapes)."""
    line = [ln for ln in unit_text.splitlines() if ln.startswith("ExecStart=")]
    assert len(line) == 1, unit_text
    return [w.replace("%%", "%").replace("$$", "$") for w in shlex.split(line[0][len("ExecStart="):])]


def test_watch_installs_the_watcher_and_its_service_and_switching_back_removes_them(tmp_path):
    role_vars = _vars(tmp_path, scheduler_host_trigger="watch", scheduler_host_watch_python=sys.executable,
                      scheduler_host_command_prefix=["env", "A=b c%"],
                      slurm_vm_vm_cluster={"slurm_conf": "/etc/slurm-vm/slurm.conf"},
                      slurm_vm_host_cluster={"slurm_conf": "/etc/slurm/slurm.conf"})
    # from the systemd trigger: its timer goes, the gc pair stays
    assert _play(tmp_path, _vars(tmp_path))[0].returncode == 0
    proc, recap = _play(tmp_path, role_vars)
    assert proc.returncode == 0, proc.stdout[-3000:]
    files = _files(tmp_path)
    assert [f for f in files if f.startswith("units/")] == WATCH_UNITS
    assert "watch" in files and "cron/hpc-slurm-vm" not in files
    program = tmp_path / "watch"
    assert program.read_text().startswith("#!%s\n" % sys.executable)
    assert stat.S_IMODE(program.stat().st_mode) == 0o755
    unit = (tmp_path / "units" / "hpc-slurm-vm-watch.service").read_text()
    for line in ("Restart=always", "KillMode=mixed", "Type=simple", "TimeoutStopSec=930",
                 "StandardOutput=append:%s/watch.log" % (tmp_path / "log"), "WantedBy=multi-user.target"):
        assert line in unit.splitlines(), (line, unit)
    assert _exec_start(unit) == [
        "env", "A=b c%", str(program), "--wrapper", str(tmp_path / "hpc-slurm-vm-run"),
        "--vm-slurm-conf", "/etc/slurm-vm/slurm.conf", "--host-slurm-conf", "/etc/slurm/slurm.conf",
        "--state-dir", str(tmp_path / "state"), "--run-log", str(tmp_path / "log" / "scheduler.log"),
        "--poll", "1.0", "--interval", "300", "--run-timeout", "900", "--gres-prefix", "vm_",
        "--host-job-user", _me()]
    # the installed program runs: its arguments parse (the loop itself: test_scheduler_host_watch.py)
    helped = subprocess.run(_exec_start(unit)[2:3] + ["--help"], capture_output=True, text=True, timeout=30,
                            check=False)
    assert helped.returncode == 0 and "--vm-slurm-conf" in helped.stdout, helped.stderr
    proc, recap = _play(tmp_path, role_vars)
    assert proc.returncode == 0 and "changed=0" in recap, recap
    if shutil.which("systemd-analyze"):
        verify = subprocess.run(["systemd-analyze", "verify", "--man=no"] + [str(tmp_path / u) for u in WATCH_UNITS],
                                capture_output=True, text=True, timeout=60, check=False)
        assert not [line for line in verify.stderr.splitlines() if "hpc-slurm-vm" in line], verify.stderr
    # back to systemd: the watcher and its unit go
    proc, _recap = _play(tmp_path, _vars(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert [f for f in _files(tmp_path) if f.startswith("units/")] == UNITS and not program.exists()


def test_watch_options_reach_its_command(tmp_path):
    role_vars = _vars(tmp_path, scheduler_host_trigger="watch", scheduler_host_watch_poll=0.5,
                      scheduler_host_interval=120, scheduler_host_gc_interval=0,
                      scheduler_host_watch_host_job_user="", scheduler_host_watch_gres_prefix="vmx_",
                      scheduler_host_watch_vm_slurm_conf="/v/slurm.conf",
                      scheduler_host_watch_host_slurm_conf="/h/s.conf")
    proc, _recap = _play(tmp_path, role_vars)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert [f for f in _files(tmp_path) if f.startswith("units/")] == ["units/hpc-slurm-vm-watch.service"]
    argv = _exec_start((tmp_path / "units" / "hpc-slurm-vm-watch.service").read_text())
    assert argv[argv.index("--poll") + 1] == "0.5" and argv[argv.index("--interval") + 1] == "120"
    assert argv[argv.index("--gres-prefix") + 1] == "vmx_" and "--host-job-user" not in argv
    assert argv[argv.index("--vm-slurm-conf") + 1] == "/v/slurm.conf"
