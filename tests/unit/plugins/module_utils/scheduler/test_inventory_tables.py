# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The image tables shipped in inventories/ must stay valid."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import pool_conf
from ansible_collections.hpc.slurm_vm.tests.unit.checkout import checkout_only

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".."))


@pytest.mark.parametrize("inventory", [pytest.param("lab", marks=checkout_only), "example"])
def test_shipped_image_tables_validate(inventory):
    path = os.path.join(REPO, "inventories", inventory, "group_vars", "all", "images.yml")
    with open(path) as handle:
        images = image_table.normalize_table(yaml.safe_load(handle)["slurm_vm_images"])
    text = pool_conf.render_pool_conf(images)
    assert text.count("State=FUTURE") == sum(len(i["hosts"]) for i in images.values())


@pytest.mark.parametrize("inventory, host, mac, ip", [
    # the addresses the inventories' comments promise (vm-deb12-001 -> 10.77.1.1, vm-sl6-001 -> 10.20.16.1)
    pytest.param("lab", "vm-deb12-001", "52:54:00:77:01:01", "10.77.1.1", marks=checkout_only),
    pytest.param("lab", "vm-deb12-008", "52:54:00:77:01:08", "10.77.1.8", marks=checkout_only),
    pytest.param("lab", "vm-disk-001", "52:54:00:77:02:01", "10.77.2.1", marks=checkout_only),
    ("example", "vm-sl6-001", "52:54:00:20:01:01", "10.20.16.1"),
])
def test_shipped_pool_addresses(inventory, host, mac, ip):
    path = os.path.join(REPO, "inventories", inventory, "group_vars", "all", "images.yml")
    with open(path) as handle:
        images = image_table.normalize_table(yaml.safe_load(handle)["slurm_vm_images"])
    image = image_table.image_of_host(images, host)
    assert (image_table.vm_mac(image, host), image_table.vm_ip(image, host)) == (mac, ip)
