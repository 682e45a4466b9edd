# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Slurm client, on scontrol output captured from the lab (Slurm 22.05)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import client as cli
from ansible_collections.hpc.slurm_vm.tests.unit.plugins.module_utils.slurm.slurm_replay import ReplayRunner, case

NODES = ["vm-disk-001", "vm-disk-002", "vm-disk-003"]
SHOW = ["scontrol", "-F", "-o", "show", "node", "vm-disk-[001-003]"]


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / "slurm.conf"
    path.write_text("ClusterName=x\n")
    return str(path)


def client_for(script, conf, cluster=None):
    runner = ReplayRunner(script)
    return cli.SlurmClient(runner, conf, cluster), runner


@pytest.mark.parametrize("fixture, expected", [
    ("show_node_registered_and_future", {
        "vm-disk-001": ("IDLE", None, True), "vm-disk-002": ("FUTURE", None, False),
        "vm-disk-003": ("FUTURE", None, False)}),
    ("show_node_drain_down_futuredrain", {
        "vm-disk-001": ("IDLE+DRAIN", "hpcvm: teardown id=42 [idle]", True),
        "vm-disk-002": ("DOWN", "vm gone", False),
        "vm-disk-003": ("FUTURE+DRAIN", "x", False)}),
    # right after a resume Slurm shows NOT_RESPONDING until its next ping, even for a running slurmd
    ("show_node_resumed_unregistered", {
        "vm-disk-001": ("IDLE+NOT_RESPONDING", None, False),
        "vm-disk-002": ("IDLE+NOT_RESPONDING", None, False),
        "vm-disk-003": ("FUTURE", None, False)}),
])
def test_show_nodes_parses_state_reason_and_registration(conf, fixture, expected):
    client, runner = client_for([(SHOW, fixture)], conf)
    nodes = client.show_nodes(NODES)
    got = {n: (nodes[n]["state"], nodes[n]["reason"], nodes[n]["registered"]) for n in NODES}
    assert got == expected
    assert runner.calls[0]["env"] == {"SLURM_CONF": conf}
    assert runner.calls[0]["changes"] is False


def test_reason_user_and_time_are_split_off(conf):
    client, _runner = client_for([(SHOW, "show_node_drain_down_futuredrain")], conf)
    node = client.show_nodes(NODES)["vm-disk-002"]
    assert (node["reason_user"], node["base"], node["flags"]) == ("root", "DOWN", [])
    assert node["reason_time"].startswith("20")


@pytest.mark.parametrize("fixture, names", [
    ("show_node_unknown", ["vm-disk-001", "nosuch-001"]),
    ("show_node_only_unknown", ["nosuch-001"]),
])
def test_unknown_nodes_are_named(conf, fixture, names):
    client, _runner = client_for([(None, fixture)], conf)
    with pytest.raises(cli.UnknownNodes) as caught:
        client.show_nodes(names)
    assert caught.value.details["unknown_nodes"] == ["nosuch-001"]
    assert "nosuch-001" in caught.value.message


def test_other_show_failures_carry_the_command(conf):
    client, _runner = client_for([(None, dict(rc=1, stdout="", stderr="slurm_load_node error: Unable to contact"))],
                                 conf)
    with pytest.raises(cli.SlurmCommandError) as caught:
        client.show_nodes(["vm-disk-001"])
    assert caught.value.rc == 1 and "Unable to contact" in caught.value.message
    assert caught.value.cmd[0] == "scontrol"


def test_update_is_one_batched_command(conf):
    client, runner = client_for([(["scontrol", "update", "nodename=vm-disk-[001-003]", "state=drain",
                                   "reason=a b=c"], "update_undrain_ok")], conf)
    client.update_nodes(NODES, "drain", "a b=c")
    assert runner.calls[0]["changes"] is True


def test_refused_update_raises_with_slurm_message(conf):
    client, _runner = client_for([(None, "update_future_refused_allocated")], conf)
    with pytest.raises(cli.SlurmCommandError) as caught:
        client.update_nodes(["vm-disk-001"], "future")
    assert "Invalid node state specified" in caught.value.message


def test_cluster_is_passed_only_when_set(conf):
    client, runner = client_for([(["scontrol", "--clusters", "labvm", "-o", "show", "reservation"], "show_res_none")],
                                conf, cluster="labvm")
    assert client.reservations() == []


def test_missing_slurm_conf_fails_clearly(tmp_path):
    with pytest.raises(cli.SlurmConfNotFound) as caught:
        cli.SlurmClient(ReplayRunner([]), str(tmp_path / "nope.conf"))
    assert "does not exist" in caught.value.message


def test_reservations_are_parsed(conf):
    client, _runner = client_for([(None, "show_res_two")], conf)
    records = client.reservations()
    assert [r["ReservationName"] for r in records] == ["fx-a", "hpcvm-fx-b"]
    assert records[1]["Flags"] == "MAINT,SPEC_NODES" and records[1]["Users"] == "root,nobody"


def test_missing_reservation_is_none(conf):
    client, _runner = client_for([(None, "show_res_missing")], conf)
    assert client.reservation("fx-a") is None


@pytest.mark.parametrize("fixture, error", [
    ("create_res_duplicate", cli.ReservationExists),
    ("create_res_overlap", cli.ReservationOverlap),
    ("create_res_invalid_node", cli.ReservationInvalidNodes),
    ("create_res_no_users", cli.ReservationNeedsUsers),
    ("create_res_busy", cli.ReservationNodesBusy),
])
def test_create_errors_are_typed(conf, fixture, error):
    client, _runner = client_for([(None, fixture)], conf)
    with pytest.raises(error) as caught:
        client.create_reservation(["ReservationName=fx-c"])
    assert caught.value.rc == 1
    assert case(fixture)["stderr"].split(":")[-1].strip()[:20] in caught.value.message


def test_update_error_is_typed(conf):
    client, _runner = client_for([(None, "update_res_invalid_node")], conf)
    with pytest.raises(cli.ReservationInvalidNodes):
        client.update_reservation("fx-a", ["Nodes=nosuch"])


def test_delete_reports_whether_it_existed(conf):
    client, _runner = client_for([(None, "delete_res_ok"), (None, "delete_res_missing")], conf)
    assert client.delete_reservation("fx-a") is True
    assert client.delete_reservation("fx-a") is False
