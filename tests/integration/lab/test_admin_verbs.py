# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The admin verbs against the lab's real services, with no VM booted (tests/e2e/test_pause.py and
test_drain.py boot them):

- hpc.slurm_vm.pause changes only paused.json in the scheduler's state folder; check mode changes nothing;
- hpc.slurm_vm.drain refuses, changing no node, a name in no pool, a hypervisor that runs no VM and a free
  pool name; a VM whose host job runs but whose slurmd has not registered (its node is FUTURE) is listed,
  not drained;
- hpc.slurm_vm.status reads the real snapshot: the table and the JSON list that VM, with its hypervisor and
  host job, and every image with its version.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os

import pytest

from ansible_collections.hpc.slurm_vm.tests.e2e.admin_verbs import STATE_DIR, paused_images, status, verb
from ..conftest import wait_until

FREE_VM = "vm-deb12-008"  # the last name of the lab's deb12 pool: free unless eight deb12 VMs run


def _folder_state(path):
    """{name: sha256} of the files in path (the scheduler's state folder)."""
    found = {}
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if os.path.isfile(full):
            with open(full, "rb") as handle:
                found[name] = hashlib.sha256(handle.read()).hexdigest()
    return found


def _node(lab, name):
    node = lab.node("vm", name)
    return node.get("State"), node.get("Reason")


def test_pause_changes_only_paused_json_and_check_mode_nothing():
    if "share" in paused_images():
        pytest.fail("image share is paused in the lab already: %s" % paused_images()["share"])
    os.makedirs(STATE_DIR, exist_ok=True)
    before = _folder_state(STATE_DIR)
    try:
        check = verb("pause.yml", "-C", "--diff", "-e", "image=share", "-e", "reason='integration test'").ok()
        assert check.changed == 1 and "check mode: nothing written" in check.output
        assert _folder_state(STATE_DIR) == before
        real = verb("pause.yml", "-e", "image=share", "-e", "reason='integration test'").ok()
        assert real.changed == 1 and paused_images()["share"]["reason"] == "integration test"
        after = _folder_state(STATE_DIR)
        changed = sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
        assert set(changed) <= {"paused.json", "paused.json.lock"} and "paused.json" in changed, changed
        assert os.stat(os.path.join(STATE_DIR, "paused.json")).st_mode & 0o777 == 0o600
        again = verb("pause.yml", "-e", "image=share", "-e", "reason='integration test'").ok()
        assert again.changed == 0 and _folder_state(STATE_DIR) == after
    finally:
        resumed = verb("pause.yml", "-e", "image=share", "-e", "resume=true").ok()
    assert resumed.changed == 1 and "share" not in paused_images()


def test_an_unknown_image_is_refused_and_nothing_is_written():
    before = _folder_state(STATE_DIR)
    run = verb("pause.yml", "-e", "image=nosuch", "-e", "reason=x")
    assert run.rc == 2
    assert "image 'nosuch' is not in the image table (slurm_vm_images: deb12, disk, share)" in run.output
    assert _folder_state(STATE_DIR) == before


@pytest.mark.parametrize("args, said", [
    (["-e", "vms=vm-nosuch-001"], "'vm-nosuch-001' is in no image's pool"),
    (["-e", "hypervisor=hv04"], "hypervisor hv04 runs no VM of hpc.slurm_vm"),
    (["-e", "vms=" + FREE_VM], "no VM to drain: %s is free" % FREE_VM),
    (["-e", "vms=" + FREE_VM, "-e", "hypervisor=hv01"], "give either vms"),
])
def test_drain_refuses_and_changes_no_node(lab, args, said):
    before = _node(lab, FREE_VM)
    assert before[0].split("+")[0] == "FUTURE", "%s is not free in the lab: %s" % (FREE_VM, before)
    run = verb("drain.yml", "-e", "reason='integration test'", *args)
    assert run.rc == 2 and said in run.output, run.output[-3000:]
    assert _node(lab, FREE_VM) == before


def test_drain_needs_a_reason(lab):
    run = verb("drain.yml", "-e", "vms=" + FREE_VM)
    assert run.rc == 2 and "a drain needs a reason" in run.output


@pytest.fixture
def booting_vm(lab):
    """A host job hpcvm:<FREE_VM> running on a hypervisor, with no VM: to the scheduler, a VM still booting.
    No scheduler run happens while it lives (it would start the VM)."""
    if _node(lab, FREE_VM)[0] != "FUTURE":
        pytest.fail("%s is not free in the lab" % FREE_VM)
    job_id = lab.sbatch("host", "--exclusive", "-J", "hpcvm:" + FREE_VM, "-t", "5", "-o", "/dev/null",
                        "--wrap", "sleep 300")
    try:
        info = wait_until(lambda: lab.job("host", job_id).get("JobState") == "RUNNING" and lab.job("host", job_id),
                          30, what="the host job running")
        yield job_id, info["NodeList"]
    finally:
        lab.scancel("host", job_id)
        wait_until(lambda: lab.job("host", job_id).get("JobState") not in ("RUNNING", "COMPLETING"), 60,
                   what="the host job gone")


def test_a_booting_vm_is_listed_not_drained_and_status_shows_it(lab, booting_vm):
    job_id, hypervisor = booting_vm
    run = verb("drain.yml", "-e", "hypervisor=" + hypervisor, "-e", "reason='integration test'").ok()
    assert run.changed == 0
    assert "not drained: %s (booting): its slurmd has not registered" % FREE_VM in run.output
    assert _node(lab, FREE_VM)[0] == "FUTURE"  # not FUTURE+DRAIN
    data, table = status()
    (row,) = [r for r in data["vms"] if r["hostname"] == FREE_VM]
    assert (row["state"], row["hypervisor"], str(row["host_job_id"]), row["image"]) == (
        "booting", hypervisor, job_id, "deb12")
    assert row["action"] == "start" and row["age"] is not None and row["node_state"] == "FUTURE"
    assert set(data["images"]) == {"deb12", "disk", "share"}
    assert all(data["images"][name]["version"] for name in data["images"])
    (line,) = [t for t in table if t.startswith(FREE_VM + " ")]
    assert line.split()[:5] == [FREE_VM, "deb12", "?", hypervisor, job_id] and " booting " in line
    print("\n".join(table))


def test_status_of_the_lab_as_a_table_and_as_json():
    data, table = status()
    assert sorted(data) == ["images", "planned_at", "vms"]
    assert [t.split(" ")[1] for t in table[:3]] == ["deb12", "disk", "share"]
    header = [t for t in table if t.startswith("HOST ")]
    assert header and header[0].split()[-3:] == ["JOBS", "NEXT", "WHY"]
    assert len([t for t in table if t.startswith("vm-")]) == len(data["vms"])
    as_json = verb("status.yml", "-e", "status_format=json").ok()
    assert as_json.changed == 0 and '"planned_at":' in as_json.output and '"rollout":' in as_json.output
    bad = verb("status.yml", "-e", "status_format=xml")
    assert bad.rc == 2 and "status_format must be table or json, got xml" in bad.output
