# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller-side action plugins (vm_plan, scheduler_report) run by a real
ansible-playbook: argument validation, results and check mode as a playbook sees them."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

PLAY = """
- hosts: localhost
  gather_facts: false
  vars:
    images:
      a: {pool: "vm-a-[001-002]", network: {bridge: br0, subnet: 10.77.0.0/16, ip_offset: 256,
                                            mac_prefix: "52:54:00:77:01"}}
  tasks:
    - name: plan
      hpc.slurm_vm.vm_plan:
        snapshot_file: "{{ state }}/snapshot.json"
        images: "{{ images }}"
        history_file: "{{ state }}/history.json"
      register: plan
    - name: report
      hpc.slurm_vm.scheduler_report:
        state_dir: "{{ state }}"
        plan: "{{ plan }}"
        started: "{{ now(utc=true).timestamp() }}"
      register: report
    - name: bad arguments
      hpc.slurm_vm.vm_plan:
        images: "{{ images }}"
      register: bad
      ignore_errors: true
    - name: results
      ansible.builtin.copy:
        dest: "{{ state }}/results.json"
        content: "{{ {'plan': plan, 'report': report, 'bad': bad} | to_json }}"
        mode: "0644"
      check_mode: false
"""

SNAPSHOT = {"time": 100, "host_jobs": {}, "reservations": {}, "vm_jobs": [
    {"id": "7", "name": "j", "user": "u", "partition": "vms", "state": "PENDING", "reason": "Resources",
     "gres": {"vm_a": 1}, "features": "", "num_nodes": 1, "nodelist": "", "time_limit": 600, "submit": 99,
     "start": None, "end": None}],
    "nodes": {h: {"state": "FUTURE", "flags": [], "reason": "", "registered": False, "boot_time": None,
                  "slurmd_start": None, "last_busy": None, "gres": "vm_a:1", "features": "", "alloc_cpus": 0}
              for h in ("vm-a-001", "vm-a-002")}}


def run_play(tmp_path, *extra):
    (tmp_path / "snapshot.json").write_text(json.dumps(SNAPSHOT))
    (tmp_path / "play.yml").write_text(PLAY)
    argv = [PLAYBOOK, "-i", "localhost,", "-c", "local", "-e", "state=%s" % tmp_path,
            "-e", "ansible_python_interpreter=" + sys.executable, str(tmp_path / "play.yml")]
    proc = subprocess.run(argv + list(extra),
                          cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((tmp_path / "results.json").read_text())


def test_plan_and_report_in_a_playbook(tmp_path):
    results = run_play(tmp_path)
    assert [s["hostname"] for s in results["plan"]["spawn"]] == ["vm-a-001"]
    assert results["plan"]["changed"] is False
    assert results["report"]["changed"] is True
    written = ["snapshot.json", "play.yml", "results.json", "history.json", "summary.json", "hpc_slurm_vm.prom",
               "registered.json"]
    assert sorted(os.listdir(str(tmp_path))) == sorted(written)
    assert 'hpc_slurm_vm_spawn_planned{image="a"} 1' in (tmp_path / "hpc_slurm_vm.prom").read_text()
    assert results["bad"]["failed"] and "snapshot" in results["bad"]["msg"]


def test_check_mode_plans_the_same_and_writes_no_report(tmp_path):
    results = run_play(tmp_path, "--check")
    assert [s["hostname"] for s in results["plan"]["spawn"]] == ["vm-a-001"]
    assert results["report"]["changed"] is True and len(results["report"]["files"]) == 4
    assert not (tmp_path / "summary.json").exists() and not (tmp_path / "history.json").exists()


PREFIX_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: plan with the site's reason prefix
      hpc.slurm_vm.vm_plan:
        snapshot_file: "{{ state }}/snapshot.json"
        images:
          a: {pool: "vm-a-[001-002]", network: {bridge: br0, subnet: 10.77.0.0/16, ip_offset: 256,
                                                mac_prefix: "52:54:00:77:01"}}
        reason_prefix: "site-x:"
      register: plan
    - name: results
      ansible.builtin.copy:
        dest: "{{ state }}/results.json"
        content: "{{ {'plan': plan} | to_json }}"
        mode: "0644"
"""


def test_the_action_plugin_passes_reason_prefix_to_the_planner(tmp_path):
    """A node DOWN after a failed boot, under the site's prefix: held for failed_hold (wait), not finished."""
    snapshot = json.loads(json.dumps(SNAPSHOT))
    snapshot["vm_jobs"] = []
    snapshot["nodes"]["vm-a-002"].update(state="DOWN", reason="site-x: boot failed: boot_timeout", reason_time=90)
    (tmp_path / "snapshot.json").write_text(json.dumps(snapshot))
    (tmp_path / "play.yml").write_text(PREFIX_PLAY)
    argv = [PLAYBOOK, "-i", "localhost,", "-c", "local", "-e", "state=%s" % tmp_path,
            "-e", "ansible_python_interpreter=" + sys.executable, str(tmp_path / "play.yml")]
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    plan = json.loads((tmp_path / "results.json").read_text())["plan"]
    assert [(t["hostname"], t["step"]) for t in plan["teardown"]] == [("vm-a-002", "wait")]
