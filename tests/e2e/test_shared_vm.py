# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: several users share one VM. The lab's image `share` has gres_count 4 and 4 vCPUs; the VM
cluster's partition has DefMemPerCPU (rendered from the table), so four one-unit jobs that ask for no
memory run side by side on one VM. Before, the first job took all of the node's memory and the other
three waited on "Resources" while the planner counted three free units."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import pool_conf

from . import faults_helpers as fh
from .story import Story, job, run

SHARE = ["vm-share-001", "vm-share-002"]


def test_four_jobs_run_at_once_on_one_vm():
    story = Story(image="share", idle_timeout=10, name="shared-vm")
    jobs = [fh.sbatch("shared-vm", "--gres=vm_share:1", wrap="sleep 25; hostname") for _job in range(4)]
    seen = {"together": None}
    try:
        def all_running_together():
            fields = {job_id: job(job_id) for job_id in jobs}
            running = {f["NodeList"] for f in fields.values() if f["JobState"] == "RUNNING"}
            if all(f["JobState"] == "RUNNING" for f in fields.values()) and len(running) == 1:
                seen["together"] = running.pop()
                return fields
            assert not any(f["JobState"] in ("FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL") for f in fields.values())
            return None
        fields = story.wait("4 jobs running at once on one VM", all_running_together, timeout=300, every=8)
        vm = seen["together"]
        story.event("4 jobs run together on %s: %s" % (vm, sorted(fields)))
        assert vm in SHARE, vm
        # each took one CPU, one unit and its share of memory (the partition's DefMemPerCPU), not the whole node
        mem = pool_conf.default_mem_per_cpu(image_table.normalize_table(story.images))
        for job_fields in fields.values():
            assert job_fields["TRES"].startswith("cpu=1,mem=%dM," % mem), job_fields["TRES"]
            assert "vm_share:1" in job_fields["TresPerNode"], job_fields["TresPerNode"]
        host_jobs = [h for h in SHARE if story.host_job(h)]
        assert host_jobs == [vm], host_jobs  # one VM for the four
        done = story.wait("the 4 jobs to finish", lambda: all(fh.job_finished(j)() for j in jobs), timeout=120)
        assert done
        assert {job(j)["JobState"] for j in jobs} == {"COMPLETED"}
    finally:
        for job_id in jobs:
            run(["scancel", job_id], check=False)
    fh.clean_up(story, "shared-vm", set(SHARE), timeout=240)
    for vm in SHARE:
        assert story.traces(vm) == []
