# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The slurm_demand inventory plugin, driven through its parse() with a runner replaying the Slurm
outputs captured from the lab (tests/unit/plugins/module_utils/slurm/fixtures/snapshot)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

import pytest

from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader, inventory_loader

from ansible_collections.hpc.slurm_vm.plugins.inventory import slurm_demand
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.parse import parse_time
from ansible_collections.hpc.slurm_vm.tests.unit import checkout
from ansible_collections.hpc.slurm_vm.tests.unit.plugins.module_utils.slurm.slurm_replay import SnapshotReplayRunner

IMAGES = checkout.LAB_IMAGES

# The lab's state when the fixtures were captured: two demand jobs (one held), vm-disk-004 reserved and
# its host job running on hv01; and, after a slurmctld restart, every node FUTURE while job 440 runs on
# vm-deb12-001 under host job 100319.
CAPTURED = {
    ("squeue", "vm.conf"): (0, "squeue_vm.txt"),
    ("scontrol", "node"): (0, "scontrol_show_node.txt"),
    ("scontrol", "reservation"): (0, "scontrol_show_res.txt"),
    ("squeue", "host.conf"): (0, "squeue_host.txt"),
    ("scontrol", "hv01"): (0, "host_scontrol_show_node_hv01.txt"),
    ("scontrol", "reservation", "host.conf"): (1, "scontrol_show_res_none.txt"),
}
AFTER_RESTART = {
    ("squeue", "vm.conf"): (0, "after_restart_squeue_vm.txt"),
    ("scontrol", "node"): (0, "after_restart_scontrol_show_node.txt"),
    ("scontrol", "reservation"): (1, "scontrol_show_res_none.txt"),
    ("squeue", "host.conf"): (0, "after_restart_squeue_host.txt"),
    ("scontrol", "hv01"): (0, "host_scontrol_show_node_hv01.txt"),
    ("scontrol", "reservation", "host.conf"): (1, "scontrol_show_res_none.txt"),
}


@pytest.fixture(scope="module")
def plugin_class():
    """The plugin class with its options registered as the plugin loader would. pytest imports the
    collection as a plain package, so the collection loader cannot load it by name here."""
    init_plugin_loader([checkout.COLLECTIONS])  # the ansible.builtin doc fragments
    name, path = slurm_demand.InventoryModule.NAME, slurm_demand.__file__
    inventory_loader._load_config_defs(name, slurm_demand, path)

    def make():
        plugin = slurm_demand.InventoryModule()
        inventory_loader._update_object(obj=plugin, name=name, path=path, resolved=name)
        return plugin
    return make


class Site(object):
    """A config file, the two slurm.conf paths it names and where the snapshot goes."""

    def __init__(self, tmp_path, extra=""):
        self.vm_conf = tmp_path / "vm.conf"
        self.host_conf = tmp_path / "host.conf"
        for conf in (self.vm_conf, self.host_conf):
            conf.write_text("ClusterName=x\n")
        self.snapshot_file = tmp_path / "cache" / "snapshot.json"
        self.config = tmp_path / "site.slurm_demand.yml"
        self.config.write_text(
            "plugin: hpc.slurm_vm.slurm_demand\nvm_slurm_conf: %s\nhost_slurm_conf: %s\nimages_file: %s\n"
            "snapshot_file: %s\n%s" % (self.vm_conf, self.host_conf, IMAGES, self.snapshot_file, extra))

    def snapshot(self):
        with open(str(self.snapshot_file)) as handle:
            return json.load(handle)


def parse(plugin_class, site, outputs):
    plugin = plugin_class()
    plugin.runner = SnapshotReplayRunner(outputs)
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), str(site.config), cache=False)
    return inventory, plugin.runner


def hostvars(inventory, host):
    return inventory.get_host(host).vars


def test_six_calls_build_the_image_groups_and_their_demand(plugin_class, tmp_path):
    site = Site(tmp_path)
    inventory, runner = parse(plugin_class, site, CAPTURED)
    assert [(argv[0], conf) for argv, conf in runner.calls] == [
        ("squeue", "vm.conf"), ("scontrol", "vm.conf"), ("scontrol", "vm.conf"), ("squeue", "host.conf"),
        ("scontrol", "host.conf"), ("scontrol", "host.conf")]  # the hypervisors' states and maintenance
    host_query = runner.calls[3][0]
    assert host_query[host_query.index("--name") + 1].split(",")[:2] == ["hpcvm:vm-deb12-001", "hpcvm:vm-deb12-002"]
    groups = inventory.groups
    assert sorted(h.name for h in groups["slurm_vm_image_deb12"].get_hosts()) == [
        "vm-deb12-%03d" % i for i in range(1, 9)]
    assert sorted(h.name for h in groups["slurm_vm_image_disk"].get_hosts()) == [
        "vm-disk-%03d" % i for i in range(1, 5)]
    now = site.snapshot()["time"]
    deb = groups["slurm_vm_image_deb12"].get_vars()["slurm_vm_demand"]
    assert deb["job_ids"] == ["10"] and deb["requested_units"] == 1 and deb["longest_time_limit"] == 1800
    assert deb["oldest_wait"] == now - parse_time("2026-11-25T22:19:56")
    disk = groups["slurm_vm_image_disk"].get_vars()["slurm_vm_demand"]
    assert disk["job_ids"] == [] and disk["pending_jobs"] == 0  # job 12 is held: not demand


def test_host_vars_of_a_free_node_and_of_a_reserved_vm_with_a_running_host_job(plugin_class, tmp_path):
    site = Site(tmp_path)
    inventory, _runner = parse(plugin_class, site, CAPTURED)
    now = site.snapshot()["time"]
    free = hostvars(inventory, "vm-deb12-001")
    assert free["slurm_vm_state"] == "free" and free["slurm_vm_image"] == "deb12"
    assert free["slurm_node_state"] == "FUTURE" and free["slurm_node_registered"] is False
    assert free["slurm_vm_ip"] == "10.77.1.1" and free["slurm_vm_host_job"] is None
    vm = hostvars(inventory, "vm-disk-004")
    assert vm["slurm_vm_reservation"] is True
    assert (vm["slurm_vm_host_job"], vm["slurm_vm_host_job_state"], vm["slurm_vm_hypervisor"]) == (
        "100012", "RUNNING", "hv01")
    assert vm["slurm_vm_time_left"] == parse_time("2026-11-25T22:31:43") - now
    assert vm["slurm_node_state"] == "FUTURE" and vm["slurm_node_registered"] is False
    assert vm["slurm_vm_state"] == "booting"  # host job running, node not registered, no job on it
    assert vm["slurm_vm_ip"] == "10.77.2.4"
    hypervisors = inventory.groups["slurm_vm_hypervisors"].get_hosts()
    assert [h.name for h in hypervisors] == ["hv01"]
    assert hostvars(inventory, "hv01")["slurm_vm_guests"] == ["vm-disk-004"]


def test_a_node_hidden_by_a_slurmctld_restart_shows_its_running_job(plugin_class, tmp_path):
    site = Site(tmp_path)
    inventory, _runner = parse(plugin_class, site, AFTER_RESTART)
    vm = hostvars(inventory, "vm-deb12-001")
    assert vm["slurm_node_state"] == "FUTURE" and vm["slurm_node_registered"] is False
    assert vm["slurm_vm_state"] == "hidden"
    assert vm["slurm_vm_running_jobs"] == [{"id": "440", "end": parse_time("2026-11-26T04:16:02"), "user": "root"}]
    assert vm["slurm_vm_hypervisor"] == "hv01" and vm["slurm_vm_host_job"] == "100319"
    assert hostvars(inventory, "vm-deb12-002")["slurm_vm_state"] == "free"


def test_the_snapshot_file_holds_what_the_hosts_were_built_from(plugin_class, tmp_path):
    site = Site(tmp_path)
    inventory, _runner = parse(plugin_class, site, CAPTURED)
    assert stat.S_IMODE(os.stat(str(site.snapshot_file)).st_mode) == 0o600
    snapshot = site.snapshot()
    localhost = hostvars(inventory, "localhost")
    assert localhost["slurm_vm_snapshot_file"] == str(site.snapshot_file)
    assert localhost["ansible_connection"] == "local"
    assert sorted(snapshot["nodes"]) == sorted(h.name for g in ("deb12", "disk")
                                               for h in inventory.groups["slurm_vm_image_" + g].get_hosts())
    assert [group["ids"] for group in snapshot["vm_job_groups"]] == [["10"], ["12"]]
    assert snapshot["host_jobs"]["vm-disk-004"]["hypervisor"] == "hv01"
    commands = ["squeue", "scontrol", "scontrol", "squeue", "scontrol", "scontrol"]
    assert [call["argv"][0] for call in snapshot["calls"]] == commands


def test_keyed_groups_use_the_host_vars(plugin_class, tmp_path):
    site = Site(tmp_path, extra="keyed_groups:\n  - key: slurm_vm_state\n    prefix: vm_state\n")
    inventory, _runner = parse(plugin_class, site, CAPTURED)
    assert "vm-disk-004" in [h.name for h in inventory.groups["vm_state_booting"].get_hosts()]
    free = sorted(h.name for h in inventory.groups["vm_state_free"].get_hosts())
    # vm-deb12-008 is FUTURE with the SlurmdStartTime and BootTime of an earlier life: free all the same
    assert free == ["vm-deb12-%03d" % i for i in range(1, 9)] + ["vm-disk-002", "vm-disk-003"]
    # vm-disk-001's slurmd registered (IDLE) but no host job holds a VM for it
    assert [h.name for h in inventory.groups["vm_state_stray"].get_hosts()] == ["vm-disk-001"]
    assert hostvars(inventory, "vm-disk-001")["slurm_node_registered"] is True


def test_a_failing_slurm_command_is_a_parser_error_naming_it(plugin_class, tmp_path):
    site = Site(tmp_path)
    with pytest.raises(AnsibleParserError) as caught:
        failing = dict(CAPTURED)
        failing[("scontrol", "node")] = (1, None)
        parse(plugin_class, site, failing)
    assert "scontrol -F -o show node failed (rc 1)" in str(caught.value)


def test_a_missing_slurm_conf_is_a_parser_error(plugin_class, tmp_path):
    site = Site(tmp_path)
    os.remove(str(site.host_conf))
    with pytest.raises(AnsibleParserError) as caught:
        parse(plugin_class, site, CAPTURED)
    assert "host.conf does not exist" in str(caught.value)


# vm-deb12-008 as captured right after our teardown drained it and its slurmd died
# (scheduler/fixtures/teardown_tail/drain_at_once.txt): it still reads registered until the next ping.
TEARDOWN_TAIL = dict(CAPTURED)
TEARDOWN_TAIL[("scontrol", "node")] = (0, "scontrol_show_node_teardown_tail.txt")


@pytest.mark.parametrize("extra,state", [
    ("", "leftover"),                                  # the default prefix is the one in the reason
    ('reason_prefix: "hpc.slurm_vm:"\n', "leftover"),
    ('reason_prefix: "site-vm:"\n', "stray"),          # another site's prefix: not our teardown's reason
])
def test_the_reason_prefix_tells_a_teardown_tail_from_a_stray(plugin_class, tmp_path, extra, state):
    site = Site(tmp_path, extra=extra)
    inventory, _runner = parse(plugin_class, site, TEARDOWN_TAIL)
    tail = hostvars(inventory, "vm-deb12-008")
    assert tail["slurm_node_registered"] is True and tail["slurm_node_state"] == "IDLE"
    assert tail["slurm_vm_state"] == state
