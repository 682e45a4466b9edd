# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: a pending VM job gets a VM from the scheduler, runs in it, and the VM
is torn down without a trace; the name then serves a second job."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from .story import Story


@pytest.fixture
def story():
    return Story(idle_timeout=20)


def test_a_vm_job_runs_in_a_fresh_vm_and_every_trace_goes(story):
    vm, output = story.one_vm("e2e-first")
    assert vm.startswith("vm-deb12-")
    assert output.endswith("ran on %s" % vm)
    assert story.traces(vm) == []
    # the name is reused for the next job, and works
    vm2, output2 = story.one_vm("e2e-second")
    assert vm2 == vm
    assert output2.endswith("ran on %s" % vm)
    assert story.traces(vm) == []
