# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner's lifecycle side: which states have a teardown rule, and where each VM's
item goes. (The rules themselves are driven by the scenario table in test_planner.py.)"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import lifecycle
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import vm_state


def test_the_failed_boot_reason_follows_the_reason_prefix():
    assert lifecycle.failed_boot_reason() == "hpc.slurm_vm: boot failed"
    assert lifecycle.failed_boot_reason("site-x:") == "site-x: boot failed"


def test_only_vms_and_teardown_tails_have_teardown_rules():
    with_rules = set(lifecycle.TEARDOWN_RULES)
    assert with_rules <= set(vm_state.ALIVE) | {"leftover"}
    # a name that belongs to no VM is the reconciler's (gc), never torn down by the planner
    assert not with_rules & set(vm_state.GC) and "free" not in with_rules
    # pending, ending and hidden VMs are left alone: their host job is not running or the reconciler resumes them
    assert set(vm_state.ALIVE) - with_rules == {"pending", "ending", "hidden"}


class _Context(object):
    now = 1000
    rules = {"drain_margin": 300}


def test_gc_states_go_to_gc_with_their_reason():
    image = {"name": "a", "rules": {"min_idle": 0}}
    vms = [{"hostname": "vm-a-%03d" % i, "state": state, "host_job": None, "node": None}
           for i, state in enumerate(vm_state.GC, start=1)]
    steps = lifecycle.vm_steps(_Context(), image, vms, used={})
    assert [(g["hostname"], g["kind"], g["reason"]) for g in steps["gc"]] == [
        (vm["hostname"], vm["state"], vm_state.GC_REASONS[vm["state"]]) for vm in vms]
    assert steps["teardown"] == steps["resume"] == steps["start"] == []
