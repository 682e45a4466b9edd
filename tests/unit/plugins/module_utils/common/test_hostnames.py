# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one VM hostname rule (image table pools, host jobs)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.hostnames import is_vm_hostname
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.image_table import normalize_image
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import ImageTableError


@pytest.mark.parametrize("name", ["vm-deb12-001", "a", "0", "a" * 63, "x-1"])
def test_lowercase_dns_labels_are_hostnames(name):
    assert is_vm_hostname(name)


@pytest.mark.parametrize("name", ["", "VM-A-001", "vm_a_001", "-vm", "vm-", "a" * 64, "vm.a", "vm a", None, 1])
def test_anything_else_is_not(name):
    assert not is_vm_hostname(name)


def test_the_image_table_uses_the_rule_for_pool_names():
    with pytest.raises(ImageTableError, match="lowercase DNS label"):
        normalize_image("a", {"pool": "vm_a-[001-002]"})
