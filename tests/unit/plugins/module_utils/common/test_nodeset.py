# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""common/nodeset.py: hostlist expressions through ClusterShell, and its absence reported like netaddr's."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import nodeset
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput


def test_expand_fold_and_normalize_round_trip():
    names = nodeset.expand(["vm-a-[001-003]", "x"])
    assert names == ["vm-a-001", "vm-a-002", "vm-a-003", "x"]
    assert nodeset.fold(names) == "vm-a-[001-003],x"
    assert nodeset.normalize(["vm-a-003", "vm-a-[001-002]"]) == "vm-a-[001-003]"


def test_a_bad_expression_is_invalid_input():
    with pytest.raises(InvalidInput, match="invalid hostlist expression"):
        nodeset.expand("vm-a-[001")


def test_missing_clustershell_names_the_library(monkeypatch):
    monkeypatch.setattr(nodeset, "CLUSTERSHELL_IMPORT_ERROR", "ImportError: No module named 'ClusterShell'")
    with pytest.raises(InvalidInput) as caught:
        nodeset.expand("vm-a-001")
    assert caught.value.message == "the Python library ClusterShell is required for hostlist expressions"
    assert caught.value.details["library"] == "ClusterShell"
    assert "No module named" in caught.value.details["exception"]
