# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The libvirt part of the module_defaults filters: the site's image directory reaches libvirt_guest through
libvirt_defaults (no role passes it), and the shipped inventories keep every boot file inside it."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

import pytest
import yaml

from ansible_collections.hpc.slurm_vm.plugins.filter import module_defaults
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import domain_spec
from ansible_collections.hpc.slurm_vm.plugins.modules import libvirt_guest, libvirt_guest_info
from ansible_collections.hpc.slurm_vm.tests.unit.checkout import checkout_only

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
BOOT_FILES = ("image", "kernel", "initrd")


def test_the_image_dir_flows_into_the_group_defaults():
    assert module_defaults.libvirt_defaults("qemu:///system", "/var/lib/vms", "/srv/images") == {
        "uri": "qemu:///system", "state_dir": "/var/lib/vms", "image_dir": "/srv/images"}
    # unset: the module's own default directory confines the images
    assert module_defaults.libvirt_defaults("qemu:///system", "/var/lib/vms", None) == {
        "uri": "qemu:///system", "state_dir": "/var/lib/vms"}
    assert module_defaults.libvirt_defaults(None, "/v") == {"state_dir": "/v"}
    assert libvirt_guest.argument_spec()["image_dir"]["default"] == domain_spec.DEFAULT_IMAGE_DIR


def test_both_modules_of_the_group_accept_every_key_of_its_defaults():
    # Ansible gives each module of group hpc.slurm_vm.libvirt every key; an unknown one fails the task
    keys = set(module_defaults.libvirt_defaults("qemu:///system", "/v", "/i"))
    assert keys <= set(libvirt_guest.argument_spec())
    assert keys <= set(libvirt_guest_info.argument_spec())


def _site(inventory):
    site = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "inventories", inventory, "group_vars", "all", "*.yml"))):
        with open(path) as handle:
            site.update(yaml.safe_load(handle) or {})
    return site


def _boot_files(site):
    """(where, path) of every image, kernel and initrd the site boots: slurm_vm_boot and the table's boot."""
    boots = dict(site.get("slurm_vm_boot") or {})
    for name, image in (site.get("slurm_vm_images") or {}).items():
        if image.get("boot"):
            boots["slurm_vm_images.%s" % name] = image["boot"]
    return [("%s.%s" % (name, key), boot[key]) for name, boot in sorted(boots.items())
            for key in BOOT_FILES if boot.get(key)]


@pytest.mark.parametrize("inventory, image_dir", [pytest.param("lab", "/var/cache/hpcvm-lab", marks=checkout_only),
                                                  ("example", "/var/lib/slurm-vm/images")])
def test_the_shipped_inventories_keep_their_boot_files_in_the_image_dir(inventory, image_dir):
    site = _site(inventory)
    assert site["slurm_vm_image_dir"] == image_dir
    files = _boot_files(site)
    assert files, "no boot files in inventory %s" % inventory
    for where, path in files:
        assert domain_spec.check_path(path, where, inside=site["slurm_vm_image_dir"]) == path
