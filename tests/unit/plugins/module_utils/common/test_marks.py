# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""common/marks.py: names made from a VM hostname, and the hostname read back from them."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import marks


@pytest.mark.parametrize("make, read", [
    (marks.host_job_name, marks.host_of_job),
    (marks.reservation_name, marks.host_of_reservation),
])
def test_a_marked_name_gives_its_hostname_back(make, read):
    assert read(make("vm-a-001")) == "vm-a-001"


@pytest.mark.parametrize("read, prefix", [
    (marks.host_of_job, marks.HOST_JOB_PREFIX),
    (marks.host_of_reservation, marks.RESERVATION_PREFIX),
])
@pytest.mark.parametrize("name", [None, "", "someone-else", "PREFIX"])
def test_unmarked_names_and_the_bare_prefix_name_no_host(read, prefix, name):
    assert read(prefix if name == "PREFIX" else name) is None


def test_the_two_marks_do_not_read_each_other():
    assert marks.host_of_job(marks.reservation_name("vm-a-001")) is None
    assert marks.host_of_reservation(marks.host_job_name("vm-a-001")) is None
