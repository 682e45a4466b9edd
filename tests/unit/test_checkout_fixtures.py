# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/unit/checkout.py finds the collection where the tests run, and the copy of the lab's image table the
unit tests replay against is still the lab's (checked where inventories/lab is: the checkout)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml

from ansible_collections.hpc.slurm_vm.tests.unit import checkout


def _images(path):
    with open(path) as handle:
        return yaml.safe_load(handle)["slurm_vm_images"]


def test_the_collections_path_holds_this_collection():
    here = os.path.join(checkout.COLLECTIONS, "ansible_collections", "hpc", "slurm_vm")
    assert os.path.realpath(here) == os.path.realpath(checkout.ROOT)
    assert os.path.isfile(os.path.join(here, "meta", "runtime.yml"))


def test_the_running_python_has_ansible_playbook():
    assert os.access(checkout.executable("ansible-playbook"), os.X_OK)


@checkout.checkout_only
def test_the_copy_of_the_lab_image_table_is_the_lab_s():
    assert _images(checkout.LAB_IMAGES) == _images(os.path.join(checkout.LAB, "group_vars", "all", "images.yml"))
