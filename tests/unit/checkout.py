# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the unit tests run: the source checkout or an installed copy of the collection (the tarball ships
tests/unit but leaves out galaxy.yml, lab/, inventories/lab, inventories/lab_demand, tests/molecule and .venv).

- ROOT: the collection's root, COLLECTIONS: the collections path that holds it as hpc.slurm_vm (the one this
  module was imported from: .cache/collections in the checkout, the install folder elsewhere).
- LAB_IMAGES: the lab's image table as test data (tests/unit/fixtures/lab_images.yml). The Slurm output, zone
  transfers and domain XML the tests replay were captured in the lab, so they need its pools; the copy ships,
  and test_checkout_fixtures checks in the checkout that it is still the lab's table.
- checkout_only: for the assertions about the checkout's own files (the lab inventories, the molecule plays).
- executable(name): an Ansible command of the Python that runs the tests, not the checkout's .venv.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import pytest

UNIT = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(UNIT))
# __file__ as imported (ansible_collections.hpc.slurm_vm.tests.unit.checkout): six folders up is the path that
# holds ansible_collections/hpc/slurm_vm, without resolving the checkout's .cache/collections symlink.
COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 5))
IN_CHECKOUT = os.path.isfile(os.path.join(ROOT, "galaxy.yml"))
LAB = os.path.join(ROOT, "inventories", "lab")
LAB_IMAGES = os.path.join(UNIT, "fixtures", "lab_images.yml")

checkout_only = pytest.mark.skipif(
    not IN_CHECKOUT, reason="about the source checkout's own files (lab inventories, molecule plays), which the "
                            "tarball leaves out")


def executable(name):
    """ansible-playbook and friends beside the running interpreter (the venv or the site's Python)."""
    return os.path.join(os.path.dirname(sys.executable), name)
