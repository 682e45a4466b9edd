# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ownership mark TXT format."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import ownership_mark
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import rdata
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput


def test_mark_format_and_parse():
    text = ownership_mark.format_mark({"image": "deb12", "job": 4711}, default_vm="vm-deb12-001")
    assert text == "hpc.slurm_vm vm=vm-deb12-001 image=deb12 job=4711"
    assert ownership_mark.parse_mark(text) == {"vm": "vm-deb12-001", "image": "deb12", "job": "4711"}
    assert ownership_mark.parse_mark(rdata.txt_rdata(text)) == {"vm": "vm-deb12-001", "image": "deb12", "job": "4711"}
    assert ownership_mark.parse_mark('"v=spf1 -all"') is None
    assert ownership_mark.parse_mark("hpc.slurm_vmx vm=a") is None


@pytest.mark.parametrize("mark", [
    {"image": "deb12"},                       # no job
    {"image": "deb 12", "job": "1"},          # space would forge another field
    {"image": "deb12", "job": "1", "x": 1},   # unknown field
    {"image": "deb12", "job": '1"'},          # quote
])
def test_mark_rejects(mark):
    with pytest.raises(InvalidInput):
        ownership_mark.format_mark(mark, default_vm="h")
