# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""slurm_reservation and slurm_reservation_info against the lab's VM cluster, through ansible."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import reservation_name

from ..conftest import wait_until
from .ansible_runner import run_module, run_playbook

MOD = "slurm_reservation"
HERE = os.path.dirname(os.path.abspath(__file__))


def show(lab, name):
    proc = lab.run(["scontrol", "-o", "show", "res", name], check=False)
    return proc.stdout if proc.returncode == 0 else None


def test_matrix_check_real_repeat_modify_delete_delete_again(lab, reservations, vm_conf):
    name = reservations + "matrix"
    args = dict(slurm_conf=vm_conf, name=name, nodes=["vm-disk-003"], start_time="now+7days", duration="60",
                users=["root"])
    check = run_module(MOD, args, check=True, diff=True)
    assert check.changed and check["command"][:2] == ["create", "reservation"], check
    assert show(lab, name) is None

    real = run_module(MOD, args)
    assert real.changed and real["reservation"]["nodes"] == ["vm-disk-003"], real
    assert "Nodes=vm-disk-003 " in show(lab, name)

    # A later run: 'now+7days' has moved on by a few seconds, within the tolerance.
    again = run_module(MOD, args)
    assert not again.changed and again["command"] == [], again
    assert not run_module(MOD, args, check=True).changed

    modify = dict(args, nodes=["vm-disk-[002-003]"], duration="02:00:00", flags=["MAINT"])
    check_modify = run_module(MOD, modify, check=True)
    assert check_modify.changed and "Duration=01:00:00" in show(lab, name)
    changed = run_module(MOD, modify, diff=True)
    assert changed.changed, changed
    assert [a.split("=")[0] for a in changed["command"][2:]] == ["Nodes", "Flags", "Duration"]
    line = show(lab, name)
    assert "Nodes=vm-disk-[002-003]" in line and "Duration=02:00:00" in line and "MAINT" in line
    assert changed["reservation"]["start"] == real["reservation"]["start"]  # the start did not move
    assert not run_module(MOD, modify).changed

    info = run_module("slurm_reservation_info", dict(slurm_conf=vm_conf, name_prefix=reservations))
    assert [r["name"] for r in info["reservations"]] == [name], info
    assert info["reservations"][0]["flags"] == ["MAINT"] and not info.changed

    gone = dict(slurm_conf=vm_conf, name=name, state="absent")
    assert run_module(MOD, gone, check=True).changed and show(lab, name) is not None
    assert run_module(MOD, gone).changed and show(lab, name) is None
    assert not run_module(MOD, gone).changed
    assert run_module("slurm_reservation_info", dict(slurm_conf=vm_conf, name_prefix=reservations))[
        "reservations"] == []


def test_relative_start_outside_the_tolerance_moves_it(lab, reservations, vm_conf):
    name = reservations + "tolerance"
    args = dict(slurm_conf=vm_conf, name=name, nodes=["vm-disk-003"], start_time="now+3days", duration="60",
                users=["root"])
    first = run_module(MOD, args)
    assert first.changed
    assert not run_module(MOD, dict(args, time_tolerance=600)).changed
    moved = run_module(MOD, dict(args, time_tolerance=0, start_time="now+4days"))
    assert moved.changed and moved["command"][2].startswith("StartTime="), moved
    assert moved["reservation"]["start"] - first["reservation"]["start"] >= 86400 - 5


def test_slurm_refusals_are_clear_and_leave_nothing_behind(lab, pool, reservations, vm_conf):
    base = dict(slurm_conf=vm_conf, nodes=["vm-disk-003"], start_time="now+7days", duration="60", users=["root"])
    assert run_module(MOD, dict(base, name=reservations + "first")).changed

    overlap = run_module(MOD, dict(base, name=reservations + "overlap"))
    assert overlap.failed and overlap["error"] == "ReservationOverlap", overlap
    assert "overlaps with another reservation" in overlap["msg"] and show(lab, reservations + "overlap") is None

    invalid = run_module(MOD, dict(base, name=reservations + "badnode", nodes=["nosuch-001"]))
    assert invalid.failed and invalid["error"] == "ReservationInvalidNodes", invalid
    assert show(lab, reservations + "badnode") is None

    # an update that Slurm refuses changes nothing (Slurm applies all fields or none)
    bad_update = run_module(MOD, dict(base, name=reservations + "first", nodes=["nosuch-001"], duration="90"))
    assert bad_update.failed and bad_update["error"] == "ReservationInvalidNodes", bad_update
    assert "Duration=01:00:00" in show(lab, reservations + "first")

    node = pool.take("vm-disk-001")
    pool.register(node)
    job = lab.sbatch("vm", "-w", node, "-t", "5", "-o", "/dev/null", "--wrap", "sleep 120")
    try:
        wait_until(lambda: lab.job("vm", job).get("JobState") == "RUNNING", 20, what="job running")
        busy = run_module(MOD, dict(base, name=reservations + "busy", nodes=[node], start_time="now"))
        assert busy.failed and busy["error"] == "ReservationNodesBusy", busy
        assert "Requested nodes are busy" in busy["msg"] and show(lab, reservations + "busy") is None
    finally:
        lab.scancel("vm", job)


def test_bad_inputs_fail_before_reaching_slurm(lab, reservations, vm_conf):
    base = dict(slurm_conf=vm_conf, nodes=["vm-disk-003"], start_time="now+7days", duration="60", users=["root"])
    for name in ("it slurm", "it=slurm"):
        result = run_module(MOD, dict(base, name=name))
        assert result.failed and result["error"] == "InvalidInput" and "invalid reservation name" in result["msg"]

    backwards = dict(base, name=reservations + "backwards", end_time="now+6days")
    del backwards["duration"]
    end_first = run_module(MOD, backwards)
    assert end_first.failed and "is not after" in end_first["msg"], end_first

    no_users = dict(base, name=reservations + "nousers")
    del no_users["users"]
    no_users = run_module(MOD, no_users)
    assert no_users.failed and "users or accounts" in no_users["msg"], no_users

    malformed = run_module(MOD, dict(base, name=reservations + "malformed", nodes=["vm-disk-[003"]))
    assert malformed.failed and "invalid hostlist" in malformed["msg"], malformed

    no_conf = run_module(MOD, dict(base, name=reservations + "noconf", slurm_conf="/nonexistent/slurm.conf"))
    assert no_conf.failed and no_conf["error"] == "SlurmConfNotFound", no_conf
    info = run_module("slurm_reservation_info", dict(slurm_conf="/nonexistent/slurm.conf"))
    assert info.failed and info["error"] == "SlurmConfNotFound"
    assert run_module("slurm_reservation_info", dict(slurm_conf=vm_conf, name_prefix=reservations))[
        "reservations"] == []


def test_playbook_with_module_defaults_and_diff(lab, pool, reservations, vm_conf, tmp_path):
    node = pool.take("vm-disk-003")
    out = str(tmp_path / "results.json")
    extra = dict(it_slurm_conf=vm_conf, it_name=reservations + "playbook", it_nodes=[node], it_out=out)
    proc = run_playbook(os.path.join(HERE, "playbooks", "module_defaults.yml"), extra, check=True, diff=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(out) as handle:
        checked = json.load(handle)
    assert checked["create"]["changed"] and checked["drain"]["changed"] and checked["info"]["reservations"] == []
    assert checked["drain"]["diff"]["after"][node] == {"state": "FUTURE+DRAIN", "reason": "hpc.slurm_vm it: playbook"}
    assert pool.state(node) == "FUTURE" and show(lab, reservations + "playbook") is None

    proc = run_playbook(os.path.join(HERE, "playbooks", "module_defaults.yml"), extra, diff=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(out) as handle:
        real = json.load(handle)
    assert real["create"]["diff"]["before"] == {} and real["create"]["diff"]["after"]["nodes"] == [node]
    assert [r["name"] for r in real["info"]["reservations"]] == [reservations + "playbook"]
    assert pool.state(node) == "FUTURE+DRAIN"
    proc = run_playbook(os.path.join(HERE, "playbooks", "module_defaults.yml"), extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(out) as handle:
        repeat = json.load(handle)
    assert not repeat["create"]["changed"] and not repeat["drain"]["changed"]


def test_a_reservation_under_the_prefix_made_by_hand_is_refused_until_force(lab, vm_conf):
    """hpcvm-vm-disk-003 made with plain scontrol on two nodes for root and nobody: its name is the collection's
    but the spawn role makes Nodes=vm-disk-003 Users=root, so the module neither deletes nor changes it without
    force. The same name in the spawn role's shape is the collection's own and goes without force."""
    name = reservation_name("vm-disk-003")
    lab.run(["scontrol", "delete", "ReservationName=" + name], check=False)
    try:
        lab.run(["scontrol", "create", "reservation", "ReservationName=" + name, "Nodes=vm-disk-[002-003]",
                 "StartTime=now+7days", "Duration=60", "Users=root,nobody"])
        made = show(lab, name)
        assert "Nodes=vm-disk-[002-003] " in made and "Users=root,nobody " in made, made

        gone = dict(slurm_conf=vm_conf, name=name, state="absent")
        change = dict(slurm_conf=vm_conf, name=name, duration="120")
        for args, check, action in ((gone, True, "delete"), (gone, False, "delete"), (change, False, "change")):
            refused = run_module(MOD, args, check=check)
            assert refused.failed and refused["error"] == "ReservationNotOwned", refused
            assert refused["msg"].startswith("refusing to %s reservation %s: " % (action, name)), refused
            assert "Nodes=vm-disk-[002-003] where ours has vm-disk-003" in refused["msg"], refused
            assert "Users=nobody,root where ours has root" in refused["msg"], refused
            assert show(lab, name) == made

        forced = run_module(MOD, dict(change, force=True))
        assert forced.changed and forced["command"] == ["update", "ReservationName=" + name,
                                                        "Duration=02:00:00"], forced
        assert "Duration=02:00:00" in show(lab, name)
        assert run_module(MOD, dict(gone, force=True)).changed and show(lab, name) is None

        ours = dict(slurm_conf=vm_conf, name=name, nodes=["vm-disk-003"], start_time="now+7days", duration="60",
                    users=["root"])
        assert run_module(MOD, ours).changed and show(lab, name) is not None
        deleted = run_module(MOD, gone)
        assert deleted.changed and deleted["command"] == ["delete", "ReservationName=" + name], deleted
        assert show(lab, name) is None
    finally:
        lab.run(["scontrol", "delete", "ReservationName=" + name], check=False)
