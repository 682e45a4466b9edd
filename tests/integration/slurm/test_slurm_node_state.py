# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""slurm_node_state against the lab's VM cluster, through `ansible` ad hoc, with stand-in slurmds."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import tempfile
import time

from ..conftest import wait_until
from .ansible_runner import finish_module, run_module, start_module
from .conftest import return_to_pool

MOD = "slurm_node_state"


def ns(conf, **kwargs):
    return dict(kwargs, slurm_conf=conf)


def test_matrix_check_real_repeat_modify_undo(lab, pool, vm_conf):
    node = pool.take("vm-disk-001")
    pool.register(node)
    args = ns(vm_conf, nodes=[node], state="drain", reason="hpc.slurm_vm it: drain one")

    check = run_module(MOD, args, check=True, diff=True)
    assert check.changed and not check.failed, check
    assert check["nodes"][node]["after"]["state"] == "IDLE+DRAIN"
    assert pool.state(node) == "IDLE"  # check mode changed nothing

    real = run_module(MOD, args, diff=True)
    assert real.changed and real["changed_nodes"] == [node], real
    assert pool.state(node) == "IDLE+DRAIN" and pool.reason(node) == "hpc.slurm_vm it: drain one"
    assert real["nodes"][node]["after"]["state"] == "IDLE+DRAIN"

    again = run_module(MOD, args)
    assert not again.changed and again["commands"] == [], again
    assert not run_module(MOD, args, check=True).changed

    modify = run_module(MOD, dict(args, reason="hpc.slurm_vm it: drain two"))
    assert modify.changed, modify
    assert pool.reason(node) == "hpc.slurm_vm it: drain two"

    undo = run_module(MOD, ns(vm_conf, nodes=[node], state="resume"))
    assert undo.changed, undo
    wait_until(lambda: pool.state(node) == "IDLE", 10, what="IDLE after resume")
    undo_again = run_module(MOD, ns(vm_conf, nodes=[node], state="resume"))
    assert not undo_again.changed, undo_again


def test_return_to_pool_then_a_new_slurmd_registers(lab, pool, vm_conf):
    node = pool.take("vm-disk-002")
    pool.register(node)
    assert run_module(MOD, ns(vm_conf, nodes=[node], state="drain", reason="hpc.slurm_vm: teardown")).changed
    pool.stop(node)  # the VM is gone: its slurmd stops
    down = run_module(MOD, ns(vm_conf, nodes=[node], state="down", reason="hpc.slurm_vm: vm gone"))
    assert down.changed and pool.state(node).startswith("DOWN"), down

    check = run_module(MOD, ns(vm_conf, nodes=[node], state="future"), check=True)
    assert check.changed and pool.state(node).startswith("DOWN"), check
    future = run_module(MOD, ns(vm_conf, nodes=[node], state="future"), diff=True)
    assert future.changed and future["nodes"][node]["after"]["state"] == "FUTURE", future
    assert future["nodes"][node]["after"]["reason"] is None
    assert "not found" in lab.run(["scontrol", "show", "node", node], check=False).stdout  # hidden again
    assert not run_module(MOD, ns(vm_conf, nodes=[node], state="future")).changed

    started = time.monotonic()
    pool.register(node)  # a new slurmd under the same name turns the FUTURE node IDLE by itself
    assert time.monotonic() - started < 15
    again = run_module(MOD, ns(vm_conf, nodes=[node], state="resume"))
    assert not again.changed, again


def test_wait_registered_then_resume(lab, pool, vm_conf):
    node = pool.take("vm-deb12-007")
    _down_then_wait_registered_then_resume(lab, pool, vm_conf, node)


def test_wait_registered_waits_for_a_pool_node_that_registered_in_an_earlier_life(lab, pool, vm_conf):
    """Issue 15: Slurm keeps SlurmdStartTime and BootTime when a node returns to the pool, and shows it
    set DOWN from FUTURE without NOT_RESPONDING until its next ping; wait_registered took it as registered."""
    node = pool.take("vm-deb12-007")
    pool.register(node)
    return_to_pool(lab, node)
    earlier = lab.node("vm", node)
    assert earlier["State"] == "FUTURE" and earlier["BootTime"] != "None" and earlier["SlurmdStartTime"] != "None"
    _down_then_wait_registered_then_resume(lab, pool, vm_conf, node)


def _down_then_wait_registered_then_resume(lab, pool, vm_conf, node):
    assert run_module(MOD, ns(vm_conf, nodes=[node], state="down", reason="hpc.slurm_vm it: admin down")).changed
    with tempfile.TemporaryDirectory() as tree:
        waiting = start_module(MOD, ns(vm_conf, nodes=[node], state="resume", wait_registered=True, timeout=40),
                               tree)
        time.sleep(2)
        assert waiting.poll() is None  # still waiting: no slurmd yet
        lab.standin("up", node, "10.77.1.7", "vm")
        result = finish_module(waiting, tree, timeout=60)
    assert result.changed and not result.failed, result
    assert result["nodes"][node]["before"]["state"] == "DOWN"  # admin down: stays DOWN until resumed
    wait_until(lambda: pool.state(node) == "IDLE", 10, what="IDLE")


def test_wait_registered_times_out(lab, pool, vm_conf):
    node = pool.take("vm-deb12-007")
    result = run_module(MOD, ns(vm_conf, nodes=[node], state="resume", wait_registered=True, timeout=2))
    assert result.failed and result["error"] == "RegistrationTimeout", result
    assert node in result["msg"] and pool.state(node) == "FUTURE"


def test_batch_changes_only_what_differs(lab, pool, vm_conf):
    for name in ("vm-disk-001", "vm-disk-002", "vm-disk-003"):
        pool.take(name)
    pool.register("vm-disk-001")
    lab.run(["scontrol", "update", "nodename=vm-disk-002", "state=drain", "reason=hpc.slurm_vm: same"])
    result = run_module(MOD, ns(vm_conf, nodes=["vm-disk-[001-003]"], state="drain", reason="hpc.slurm_vm: same"))
    assert result["changed_nodes"] == ["vm-disk-001", "vm-disk-003"], result
    assert result["commands"] == [["update", "nodename=vm-disk-[001,003]", "state=drain",
                                   "reason=hpc.slurm_vm: same"]]
    assert [pool.state(n) for n in ("vm-disk-001", "vm-disk-002", "vm-disk-003")] == [
        "IDLE+DRAIN", "FUTURE+DRAIN", "FUTURE+DRAIN"]
    # future: FUTURE+DRAIN nodes are cleaned with undrain, the IDLE+DRAIN one gets state=future
    back = run_module(MOD, ns(vm_conf, nodes=["vm-disk-[001-003]"], state="future"))
    assert sorted(tuple(c[1:]) for c in back["commands"]) == [
        ("nodename=vm-disk-001", "state=future"), ("nodename=vm-disk-[002-003]", "state=undrain")], back
    assert all(pool.state(n) == "FUTURE" for n in ("vm-disk-001", "vm-disk-002", "vm-disk-003"))


def test_refused_transitions_name_node_state_and_request(lab, pool, vm_conf):
    future_node = pool.take("vm-disk-003")
    idle = run_module(MOD, ns(vm_conf, nodes=[future_node], state="idle", only_if_registered=False))
    assert idle.failed and idle["error"] == "TransitionRefused", idle
    assert "state=idle" in idle["msg"] and future_node in idle["msg"] and "FUTURE" in idle["msg"]

    unregistered = run_module(MOD, ns(vm_conf, nodes=[future_node], state="resume"))
    assert unregistered.failed and unregistered["error"] == "NodeNotRegistered", unregistered
    assert pool.state(future_node) == "FUTURE"

    busy = pool.take("vm-disk-001")
    pool.register(busy)
    job = lab.sbatch("vm", "-w", busy, "-t", "5", "-o", "/dev/null", "--wrap", "sleep 120")
    try:
        wait_until(lambda: lab.job("vm", job).get("JobState") == "RUNNING", 20, what="job running")
        result = run_module(MOD, ns(vm_conf, nodes=[busy, future_node], state="future"))
        assert result.failed and result["error"] == "TransitionRefused", result
        assert "%s (state ALLOCATED)" % busy in result["msg"] and "Nothing was changed" in result["msg"]
        assert pool.state(busy) == "ALLOCATED"
    finally:
        lab.scancel("vm", job)


def test_bad_inputs(lab, vm_conf):
    unknown = run_module(MOD, ns(vm_conf, nodes=["vm-disk-001", "nosuch-[001-002]"], state="drain", reason="x"))
    assert unknown.failed and unknown["error"] == "UnknownNodes", unknown
    assert unknown["unknown_nodes"] == ["nosuch-001", "nosuch-002"]

    malformed = run_module(MOD, ns(vm_conf, nodes=["vm-disk-[001"], state="drain", reason="x"))
    assert malformed.failed and "invalid hostlist" in malformed["msg"], malformed

    no_reason = run_module(MOD, ns(vm_conf, nodes=["vm-disk-001"], state="down"))
    assert no_reason.failed and "reason" in no_reason["msg"], no_reason

    no_conf = run_module(MOD, dict(slurm_conf="/tmp/hpcvm-lab/etc/vm/nope.conf", nodes=["vm-disk-001"],
                                   state="idle"))
    assert no_conf.failed and no_conf["error"] == "SlurmConfNotFound", no_conf
    assert "/tmp/hpcvm-lab/etc/vm/nope.conf" in no_conf["msg"]
