# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one Slurm parse layer, on scontrol/squeue output captured from the lab (Slurm 22.05)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import client as cli
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import node_state
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import parse
from ansible_collections.hpc.slurm_vm.tests.unit.plugins.module_utils.slurm.slurm_replay import (
    CASES,
    Clock,
    ReplayRunner,
    case,
    snapshot_fixture,
)

REGISTRATION = os.path.join(os.path.dirname(__file__), "fixtures", "registration")
NODE = "vm-deb12-007"


def registration_fixture(name):
    with open(os.path.join(REGISTRATION, name + ".txt")) as handle:
        return handle.read()


def captured_node_texts():
    """Every captured `scontrol -F -o show node` output: replay cases, snapshot and registration fixtures."""
    texts = [c["stdout"] for key, c in sorted(CASES.items()) if key.startswith("show_node_")]
    texts += [snapshot_fixture(n) for n in ("scontrol_show_node.txt", "after_restart_scontrol_show_node.txt")]
    texts += [registration_fixture(n[:-4]) for n in sorted(os.listdir(REGISTRATION)) if n.endswith(".txt")]
    return texts


# ---------------------------------------------------------------- records (moved from test_client)
def test_parse_record_keeps_spaces_and_equal_signs_in_the_reason():
    line = case("show_node_drain_down_futuredrain")["stdout"].splitlines()[0]
    record = parse.parse_record(line)
    assert record["NodeName"] == "vm-disk-001"
    assert record["OS"].startswith("Linux ") and "#1 SMP" in record["OS"]
    assert record["CfgTRES"] == "cpu=1,mem=704M,billing=1"
    assert record["Reason"].startswith("hpcvm: teardown id=42 [idle] [root@")


def test_the_fast_node_parser_agrees_with_the_full_one():
    for key in ("show_node_registered_and_future", "show_node_drain_down_futuredrain",
                "show_node_resumed_unregistered"):
        for line in case(key)["stdout"].splitlines():
            full = parse.parse_record(line)
            fast = parse.node_record_fields(line)
            assert fast == {k: full[k] for k in fast}
            assert parse.node_from_record(fast) == parse.node_from_record(full)


def test_the_fast_node_parser_agrees_on_every_captured_line():
    for text in captured_node_texts():
        for line in text.splitlines():
            if line.startswith("NodeName="):
                full = parse.parse_record(line)
                assert parse.node_from_record(parse.node_record_fields(line)) == parse.node_from_record(full)


# ---------------------------------------------------------------- registered: one definition
@pytest.mark.parametrize("name, state, registered", [
    ("registered_idle", "IDLE", True),
    # Return to the pool keeps SlurmdStartTime AND BootTime of the earlier life (22.05 does not clear BootTime).
    ("returned_to_pool_future", "FUTURE", False),
    # What test_wait_registered_then_resume does next: DOWN, both times kept, no NOT_RESPONDING before a ping.
    ("returned_to_pool_then_down", "DOWN", False),
    ("returned_to_pool_then_down_pinged", "DOWN+NOT_RESPONDING", False),
])
def test_registered_on_the_captured_return_to_pool(name, state, registered):
    text = registration_fixture(name)
    node = parse.parse_nodes(text)[NODE]
    assert node["state"] == state
    assert node["boot_time"] is not None and node["slurmd_start_time"] is not None  # both set, even when stale
    assert node["registered"] is registered
    assert parse.snapshot_nodes(text)[NODE]["registered"] is registered
    assert cli.SlurmClient(ReplayRunner([(None, dict(rc=0, stdout=text, stderr=""))])).show_nodes(
        [NODE])[NODE]["registered"] is registered


def test_a_down_node_counts_again_once_a_slurmd_starts_after_the_down():
    stale = parse.parse_record(registration_fixture("returned_to_pool_then_down").strip())
    downed = parse.split_reason(stale["Reason"])[2]
    later = time.strftime(parse.SLURM_TIME_FORMAT, time.localtime(parse.parse_time(downed) + 5))
    assert parse.node_from_record(dict(stale, SlurmdStartTime=later))["registered"] is True
    assert parse.node_from_record(dict(stale, SlurmdStartTime=downed))["registered"] is True  # same second
    assert parse.node_from_record(stale)["registered"] is False


@pytest.mark.parametrize("name, state", [
    ("resumed_then_returned_to_pool_future", "FUTURE"),
    ("resumed_then_returned_to_pool_then_down", "DOWN"),
])
def test_a_stale_slurmd_start_time_without_boot_time_is_not_registered(name, state):
    """The form issue 15 saw after the run: a resume cleared BootTime, SlurmdStartTime stayed.
    slurm/snapshot.py's parse_nodes used to count the DOWN one registered (it ignored BootTime)."""
    text = registration_fixture(name)
    node = parse.parse_nodes(text)[NODE]
    assert node["state"] == state and node["boot_time"] is None and node["slurmd_start_time"] is not None
    assert node["registered"] is False
    assert parse.snapshot_nodes(text)[NODE]["registered"] is False


def test_both_views_agree_on_registered_for_every_captured_node():
    for text in captured_node_texts():
        models, snapshot = parse.parse_nodes(text), parse.snapshot_nodes(text)
        assert sorted(models) == sorted(snapshot)
        for name, node in models.items():
            assert snapshot[name]["registered"] is node["registered"], name


def test_wait_registered_keeps_waiting_for_a_pool_node_set_down(tmp_path):
    """The integration failure of issue 15: on a lab where vm-deb12-007 had registered in an earlier run,
    wait_registered took the node set DOWN from FUTURE as registered at its first poll."""
    conf = tmp_path / "slurm.conf"
    conf.write_text("")
    stale = dict(rc=0, stdout=registration_fixture("returned_to_pool_then_down"), stderr="")
    fresh = dict(rc=0, stdout=registration_fixture("registered_idle"), stderr="")
    runner = ReplayRunner([(None, stale), (None, stale), (None, fresh)])
    clock = Clock()
    nodes = node_state.wait_registered(cli.SlurmClient(runner, str(conf)), [NODE], 40, clock=clock,
                                       sleep=clock.sleep)
    assert len(runner.calls) == 3 and clock.now == 1.0
    assert nodes[NODE]["registered"] and nodes[NODE]["state"] == "IDLE"


def test_resume_of_a_pool_node_set_down_is_refused_as_unregistered():
    nodes = parse.parse_nodes(registration_fixture("returned_to_pool_then_down"))
    with pytest.raises(node_state.NodeNotRegistered):
        node_state.plan(nodes, [NODE], "resume")


# ---------------------------------------------------------------- snapshot view: the shape scheduler/ reads
SNAPSHOT_NODE_KEYS = {"state", "flags", "reason", "reason_time", "registered", "boot_time", "slurmd_start",
                      "last_busy", "gres", "features", "alloc_cpus", "cpus", "real_memory"}


def test_snapshot_nodes_keep_their_shape():
    nodes = parse.snapshot_nodes(snapshot_fixture("scontrol_show_node.txt"))
    assert len(nodes) == 12 and all(set(n) == SNAPSHOT_NODE_KEYS for n in nodes.values())
    node = parse.snapshot_nodes(registration_fixture("returned_to_pool_then_down"))[NODE]
    assert node["state"] == "DOWN" and node["flags"] == [] and node["reason"] == "hpc.slurm_vm it: admin down"
    assert node["reason_time"] == parse.parse_time("2026-12-02T00:57:30")
    assert node["slurmd_start"] == parse.parse_time("2026-12-02T00:57:26") == node["last_busy"]
    assert node["gres"] == "vm_deb12:1" and node["features"] == "" and node["alloc_cpus"] == 0
    assert node["cpus"] == 1 and node["real_memory"] == 448


@pytest.mark.parametrize("text, gres", [
    ("vm_deb12:1", {"vm_deb12": 1}),
    ("vm_deb12:4(S:0)", {"vm_deb12": 4}),
    ("gpu:tesla:2(S:0-1),vm_x:1", {"gpu": 2, "vm_x": 1}),
    ("(null)", {}),
    ("", {}),
])
def test_node_gres_counts(text, gres):
    assert parse.parse_node_gres(text) == gres


# ---------------------------------------------------------------- times
def test_parse_time_reads_slurm_times_and_the_given_formats():
    assert parse.parse_time("2026-11-25T22:19:56") == int(time.mktime((2026, 11, 25, 22, 19, 56, 0, 0, -1)))
    for empty in (None, "", "N/A", "None", "Unknown", "(null)"):
        assert parse.parse_time(empty) is None
    assert parse.parse_time("2026-11-25T22:19") is None
    assert parse.parse_time("2026-11-25T22:19", ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M")) == \
        parse.parse_time("2026-11-25T22:19:00")


def test_reservation_model_and_snapshot_view_read_the_same_times():
    text = snapshot_fixture("scontrol_show_res.txt")
    view = parse.snapshot_reservations(text)
    for record in parse.parse_reservations(text):
        model = parse.reservation_from_record(record)
        assert (model["start"], model["end"]) == (view[model["name"]]["start"], view[model["name"]]["end"])
        assert model["end"] - model["start"] == model["duration"]
