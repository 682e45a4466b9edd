# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A failed slurm_demand source leaves slurm_vm_inventory_failure (source, command, error, msg) on the snapshot
host, and no slurm_vm_snapshot_file: ansible-core only warns about the parser error, so the playbooks' first task
reads this. The replayed stderr is what squeue printed against a controller nobody listens for."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
from ansible.errors import AnsibleError, AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader

# plugin_class is a pytest fixture: imported to be found, never named
# pylint: disable=unused-import
from ansible_collections.hpc.slurm_vm.tests.unit.plugins.inventory.test_slurm_demand import (  # noqa: F401
    CAPTURED,
    Site,
    plugin_class,
)
# pylint: enable=unused-import
from ansible_collections.hpc.slurm_vm.tests.unit.plugins.module_utils.slurm.slurm_replay import SnapshotReplayRunner

UNREACHABLE = "slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n"
SQUEUE_VM = ("squeue -h -a -r -t PENDING,RUNNING,CONFIGURING,COMPLETING "
             "-o %i|%T|%r|%b|%D|%N|%l|%V|%S|%e|%u|%P|%f|%k")


@pytest.fixture
def make_plugin(request):
    return request.getfixturevalue("plugin_class")


def failed_parse(make_plugin, config, outputs=None, stderr="", raised=AnsibleParserError):
    outputs = CAPTURED if outputs is None else outputs
    plugin = make_plugin()
    plugin.runner = SnapshotReplayRunner(outputs, stderr=stderr)
    inventory = InventoryData()
    with pytest.raises(raised) as caught:
        plugin.parse(inventory, DataLoader(), str(config), cache=False)
    return inventory, caught.value


def test_an_unreachable_controller_is_recorded_with_its_command(make_plugin, tmp_path):
    site = Site(tmp_path)
    outputs = dict(CAPTURED)
    outputs[("squeue", "vm.conf")] = (1, None)
    inventory, error = failed_parse(make_plugin, site.config, outputs, stderr=UNREACHABLE)
    localhost = inventory.get_host("localhost").vars
    error_text = "%s failed (rc 1): %s" % (SQUEUE_VM, UNREACHABLE.strip())
    assert localhost["slurm_vm_inventory_failure"] == {
        "source": str(site.config), "command": SQUEUE_VM, "error": error_text,
        "msg": "no Slurm snapshot: the inventory source %s (hpc.slurm_vm.slurm_demand) failed: %s"
               % (site.config, error_text)}
    assert "slurm_vm_snapshot_file" not in localhost and str(error) == "%s: %s" % (site.config, error_text)
    assert not os.path.exists(str(site.snapshot_file))


def test_a_failure_before_any_command_has_no_command(make_plugin, tmp_path):
    site = Site(tmp_path, extra="snapshot_host: scheduler01\n")
    os.remove(str(site.vm_conf))
    inventory, _error = failed_parse(make_plugin, site.config)
    failure = inventory.get_host("scheduler01").vars["slurm_vm_inventory_failure"]
    assert failure["command"] is None and failure["error"] == "slurm.conf %s does not exist" % site.vm_conf
    assert failure["source"] == str(site.config) and failure["msg"].endswith("failed: " + failure["error"])


def test_a_config_that_does_not_load_is_recorded_on_localhost(make_plugin, tmp_path):
    config = tmp_path / "broken.slurm_demand.yml"
    config.write_text("plugin: hpc.slurm_vm.slurm_demand\nimages: {}\n")  # no vm_slurm_conf
    inventory, error = failed_parse(make_plugin, config, raised=AnsibleError)  # AnsibleRequiredOptionError
    failure = inventory.get_host("localhost").vars["slurm_vm_inventory_failure"]
    assert failure["source"] == str(config) and failure["command"] is None
    assert "vm_slurm_conf" in failure["error"] and "vm_slurm_conf" in str(error)
