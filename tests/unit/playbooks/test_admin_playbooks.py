# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The admin verbs' playbooks: status plans exactly as scheduler.yml does, drain talks to the VM cluster as
scheduler.yml does, and hpc.slurm_vm.pause runs for real (ansible-playbook, a local connection, a folder of
the test's own): check mode writes nothing, pause, pause again, resume, a bad image or no reason fails."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess

import pytest
import yaml

from ansible_collections.hpc.slurm_vm.tests.unit import checkout


def _plays(name):
    with open(os.path.join(checkout.ROOT, "playbooks", name)) as handle:
        return yaml.safe_load(handle)


def _defaults(play):
    """A play's module_defaults as one mapping (scheduler.yml gives a list of mappings)."""
    merged = {}
    defaults = play.get("module_defaults") or {}
    for entry in defaults if isinstance(defaults, list) else [defaults]:
        merged.update(entry)
    return merged


def test_status_plans_with_exactly_the_schedulers_inputs():
    scheduler = _defaults(_plays("scheduler.yml")[0])["hpc.slurm_vm.vm_plan"]
    (status,) = _plays("status.yml")
    assert _defaults(status)["hpc.slurm_vm.vm_plan"] == scheduler
    (plan_task,) = [t for t in status["tasks"] if "hpc.slurm_vm.vm_plan" in t]
    assert plan_task["hpc.slurm_vm.vm_plan"] == {}  # read-only: no reconcile stamps


def test_drain_talks_to_the_vm_cluster_as_the_scheduler_does():
    scheduler = _defaults(_plays("scheduler.yml")[0])["group/hpc.slurm_vm.slurm"]
    (drain,) = _plays("drain.yml")
    assert _defaults(drain) == {"group/hpc.slurm_vm.slurm": scheduler}
    (task,) = [t for t in drain["tasks"] if "hpc.slurm_vm.slurm_node_state" in t]
    assert task["hpc.slurm_vm.slurm_node_state"]["state"] == "drain"


NETWORK = {"bridge": "br0", "subnet": "10.77.0.0/16", "ip_offset": 256, "mac_prefix": "52:54:00:77:01"}
IMAGES = {"deb12": {"pool": "vm-deb12-[001-002]", "network": NETWORK}}


@pytest.fixture
def site(tmp_path):
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    inventory = {"all": {"hosts": {"localhost": {"ansible_connection": "local",
                                                 "ansible_python_interpreter": "{{ ansible_playbook_python }}"}},
                         "vars": {"slurm_vm_state_dir": str(state_dir), "slurm_vm_images": IMAGES}}}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    return tmp_path


def _pause(site, *extra):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=checkout.COLLECTIONS, ANSIBLE_NOCOLOR="1",
               ANSIBLE_CONFIG=os.path.join(str(site), "none.cfg"), ANSIBLE_LOCALHOST_WARNING="0")
    proc = subprocess.run([checkout.executable("ansible-playbook"), "-i", "inventory.yml",
                           os.path.join(checkout.ROOT, "playbooks", "pause.yml")] + list(extra),
                          cwd=str(site), env=env, capture_output=True, text=True, timeout=300, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def _changed(output):
    return int(output.split("changed=")[1].split()[0])


def test_pause_playbook_check_real_repeat_resume(site):
    paused = site / "state" / "paused.json"
    rc, out = _pause(site, "-C", "--diff", "-e", "image=deb12", "-e", "reason='cert pending'")
    assert rc == 0 and _changed(out) == 1 and not paused.exists(), out
    assert "check mode: nothing written" in out and '"reason": "cert pending"' in out
    rc, out = _pause(site, "-e", "image=deb12", "-e", "reason='cert pending'")
    assert rc == 0 and _changed(out) == 1, out
    assert json.loads(paused.read_text())["deb12"]["reason"] == "cert pending"
    assert "jobs waiting for it say in their comment: image deb12 paused: cert pending" in out
    rc, out = _pause(site, "-e", "image=deb12", "-e", "reason='cert pending'")
    assert rc == 0 and _changed(out) == 0 and "was paused already" in out, out
    rc, out = _pause(site, "-C", "-e", "image=deb12", "-e", "resume=true")
    assert rc == 0 and _changed(out) == 1 and "deb12" in json.loads(paused.read_text()), out
    rc, out = _pause(site, "-e", "image=deb12", "-e", "resume=true")
    assert rc == 0 and _changed(out) == 1 and json.loads(paused.read_text()) == {}, out


@pytest.mark.parametrize("extra, said", [
    (["-e", "image=sl6", "-e", "reason=x"], "image 'sl6' is not in the image table (slurm_vm_images: deb12)"),
    (["-e", "image=deb12"], "give the image (-e image=<name>, one of deb12) and either a reason"),
    ([], "give the image"),
])
def test_pause_playbook_refuses_bad_input_and_writes_nothing(site, extra, said):
    rc, out = _pause(site, *extra)
    assert rc == 2 and said in out, out
    assert os.listdir(str(site / "state")) == []


@pytest.fixture
def demand_site(site):
    """The site plus what the slurm_demand inventory sets (as static variables): the snapshot's path on
    localhost, a VM state on each pool host, the guests of each hypervisor. No Slurm is reached: these
    cases change no node."""
    inventory = yaml.safe_load((site / "inventory.yml").read_text())
    inventory["all"]["hosts"]["localhost"]["slurm_vm_snapshot_file"] = str(site / "snapshot.json")
    inventory["all"]["vars"]["slurm_vm_vm_cluster"] = {"slurm_conf": str(site / "no-slurm.conf")}
    inventory["all"]["children"] = {
        "slurm_vm_image_deb12": {"hosts": {
            "vm-deb12-001": {"slurm_vm_image": "deb12", "slurm_vm_state": "booting", "slurm_vm_hypervisor": "hv01",
                             "slurm_node_reason": ""},
            "vm-deb12-002": {"slurm_vm_image": "deb12", "slurm_vm_state": "free", "slurm_vm_hypervisor": None,
                             "slurm_node_reason": ""}}},
        "slurm_vm_hypervisors": {"hosts": {"hv01": {"slurm_vm_guests": ["vm-deb12-001"]}}}}
    (site / "inventory.yml").write_text(yaml.safe_dump(inventory))
    return site


def _drain(site, *extra):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=checkout.COLLECTIONS, ANSIBLE_NOCOLOR="1",
               ANSIBLE_CONFIG=os.path.join(str(site), "none.cfg"), ANSIBLE_LOCALHOST_WARNING="0")
    proc = subprocess.run([checkout.executable("ansible-playbook"), "-i", "inventory.yml",
                           os.path.join(checkout.ROOT, "playbooks", "drain.yml"), "-e", "reason='test'"] + list(extra),
                          cwd=str(site), env=env, capture_output=True, text=True, timeout=300, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_drain_playbook_reads_the_demand_hostvars(demand_site):
    rc, out = _drain(demand_site, "-e", "hypervisor=hv01")
    assert rc == 0 and _changed(out) == 0, out
    assert "not drained: vm-deb12-001 (booting): its slurmd has not registered" in out
    assert "node reason: hpc.slurm_vm admin drain: test" in out
    rc, out = _drain(demand_site, "-e", "hypervisor=hv02")
    assert rc == 2 and "hypervisor hv02 runs no VM of hpc.slurm_vm" in out and "with VMs: hv01" in out, out
    rc, out = _drain(demand_site, "-e", "vms=vm-deb12-002")
    assert rc == 2 and "no VM to drain: vm-deb12-002 is free" in out, out


NODE = {"state": "IDLE", "flags": [], "reason": "", "registered": True, "boot_time": 900, "slurmd_start": 950,
        "last_busy": 990, "gres": "vm_deb12:1", "features": "", "alloc_cpus": 0}


def test_status_playbook_prints_the_table_and_writes_the_json(demand_site):
    """status.yml end to end on a snapshot file written here (the shape the slurm_demand inventory writes)."""
    now = 1796300000
    snapshot = {"time": now, "vm_jobs": [], "reservations": {},
                "nodes": {"vm-deb12-001": dict(NODE, last_busy=now - 30, slurmd_start=now - 100),
                          "vm-deb12-002": dict(NODE, state="FUTURE", registered=False)},
                "host_jobs": {"vm-deb12-001": {"id": "100001", "name": "hpcvm:vm-deb12-001", "state": "RUNNING",
                                               "start": now - 120, "end": now + 14000, "time_limit": 14400,
                                               "hypervisor": "hv01", "comment": ""}}}
    (demand_site / "snapshot.json").write_text(json.dumps(snapshot))
    (demand_site / "state" / "paused.json").write_text(json.dumps(
        {"deb12": {"reason": "cert pending", "since": now - 60, "by": "alice"}}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=checkout.COLLECTIONS, ANSIBLE_NOCOLOR="1",
               ANSIBLE_CONFIG=os.path.join(str(demand_site), "none.cfg"), ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_DISPLAY_SKIPPED_HOSTS="0")
    out_file = demand_site / "status.json"
    proc = subprocess.run([checkout.executable("ansible-playbook"), "-i", "inventory.yml",
                           os.path.join(checkout.ROOT, "playbooks", "status.yml"), "-e", "status_file=%s" % out_file],
                          cwd=str(demand_site), env=env, capture_output=True, text=True, timeout=300, check=False)
    out = proc.stdout + proc.stderr
    if proc.returncode != 0 and "Unsupported parameters" in out and "paused_file" in out:
        pytest.xfail("vm_plan has no paused_file yet (the lead's part of issue 18)")
    assert proc.returncode == 0, out
    data = json.loads(out_file.read_text())
    (row,) = data["vms"]
    assert (row["hostname"], row["state"], row["hypervisor"], str(row["host_job_id"])) == (
        "vm-deb12-001", "idle", "hv01", "100001")
    assert data["images"]["deb12"]["paused"]["reason"] == "cert pending"
    assert "PAUSED since" in out and "by alice: cert pending" in out
    assert "vm-deb12-001  deb12" in out
