# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of plugins/filter/scheduler.py."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type


def _report_line(status, check, reason):
    import json
    report = json.dumps({"status": status, "host": "vm-a-001", "check": check, "reason": reason, "attempt": 3})
    return json.dumps({"received": "2026-11-26T01:05:40+00:00", "ip": "10.77.1.1", "vm": "vm-a-001", "report": report})


def test_gate_report_reason_takes_the_last_report():
    from ansible_collections.hpc.slurm_vm.plugins.filter.scheduler import gate_report_reason
    log = "\n".join([_report_line("pass", "all", "all checks passed"),
                     _report_line("fail", "mounts", 'missing /scratch "quoted"'), ""])
    assert gate_report_reason(log) == 'gate: mounts: missing /scratch "quoted"'
    assert gate_report_reason(_report_line("pass", "all", "ok")) == "gate passed, slurmd did not register"
    assert gate_report_reason("") == "" and gate_report_reason(None) == ""
    assert gate_report_reason("<html>403</html>") == "gate: unreadable report"


def test_gate_report_reason_ignores_reports_of_an_earlier_life():
    from ansible_collections.hpc.slurm_vm.plugins.filter.scheduler import gate_report_reason
    line = _report_line("fail", "tmp", "full")  # received 2026-11-26T01:05:40+00:00 = 1795655140
    assert gate_report_reason(line, since=1795655140) == "gate: tmp: full"
    assert gate_report_reason(line, since=1795655141) == ""
    assert gate_report_reason(line, since=None) == "gate: tmp: full"


def test_claim_marks_differ_between_claims_and_name_the_host_job_later():
    from ansible_collections.hpc.slurm_vm.plugins.filter.scheduler import claim_record
    item = {"hostname": "vm-a-001", "ip": "10.77.1.1", "image": "a"}
    first, second = claim_record(item, "claimed-aaaa"), claim_record(item, "claimed-bbbb")
    assert first["mark"] != second["mark"] and first["mark"]["job"] == "claimed-aaaa"
    assert claim_record(dict(item, host_job_id="4711"))["mark"] == {"image": "a", "job": "4711"}
