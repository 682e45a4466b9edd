# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.durations import format_duration, parse_duration


@pytest.mark.parametrize("text, seconds", [
    ("90", 5400), (90, 5400), ("5:30", 330), ("1:00:00", 3600), ("2-3", 2 * 86400 + 3 * 3600),
    ("1-00:30", 86400 + 1800), ("7-00:00:00", 7 * 86400), ("UNLIMITED", None), ("infinite", None),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "1:2:3:4", "-5", "1h", "1-", "a-1"])
def test_parse_duration_rejects(text):
    with pytest.raises(InvalidInput):
        parse_duration(text)


@pytest.mark.parametrize("seconds, text", [(0, "00:00:00"), (3599, "00:59:59"), (90061, "1-01:01:01"),
                                           (None, "UNLIMITED")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds
