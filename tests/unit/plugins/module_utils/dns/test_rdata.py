# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record values: TXT presentation text both ways."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.rdata import txt_rdata, txt_text
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput


@pytest.mark.parametrize("text, rdata", [
    ("plain", '"plain"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ("hpc.slurm_vm vm=a image=b job=1", '"hpc.slurm_vm vm=a image=b job=1"'),
])
def test_txt_round_trip(text, rdata):
    assert txt_rdata(text) == rdata
    assert txt_text(rdata) == text


def test_txt_text_reads_dnspython_escapes_and_split_strings():
    assert txt_text('"a\\059b"') == "a;b"
    assert txt_text('"part1" "part2"') == "part1part2"


@pytest.mark.parametrize("text", ["tab\there", "\u00e9", "x" * 256])
def test_txt_rejects(text):
    with pytest.raises(InvalidInput):
        txt_rdata(text)
