# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small pure filters that turn the planner's items into module arguments."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def _mark(item, job=None):
    return {"image": item["image"], "job": str(job or item.get("host_job_id") or "claimed")}


def claim_record(item, job=None):
    """A spawn item as a dns_record `records` entry: A (+PTR via ptr) and the ownership mark."""
    return {"name": item["hostname"], "ip": item["ip"], "mark": _mark(item, job)}


def claim_dhcp_host(item, job=None):
    """A spawn item as a dhcp_host `hosts` entry."""
    return {"hostname": item["hostname"], "mac": item["mac"], "ip": item["ip"], "mark": _mark(item, job)}


def with_host_job_id(items, jobs):
    """Spawn items + slurm_host_job's `jobs` result -> the items whose host job exists, with
    host_job_id, host_job_state, and once it runs hypervisor, host_job_start and host_job_end."""
    by_host = {job["hostname"]: job for job in jobs if job.get("job_id")}
    merged = []
    for item in items:
        job = by_host.get(item["hostname"])
        if job is None:
            continue
        extra = {"host_job_id": str(job["job_id"]), "host_job_state": job.get("state")}
        if job.get("state") == "RUNNING" and job.get("node"):
            extra.update(hypervisor=job["node"], host_job_start=job.get("start"), host_job_end=job.get("end"))
        merged.append(dict(item, **extra))
    return merged


def _addresses(item, images):
    from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
    table = image_table.normalize_table(images)
    image = image_table.image_of_host(table, item["hostname"])
    return image, image_table.vm_mac(image, item["hostname"]), image_table.vm_ip(image, item["hostname"])


def teardown_dns_record(item, images):
    """A teardown item as a dns_record `records` entry to remove: by name, so A, PTR and mark go."""
    return {"name": item["hostname"]}


def teardown_dhcp_host(item, images):
    """A teardown item as a dhcp_host `hosts` entry to remove."""
    _image, mac, ip = _addresses(item, images)
    return {"hostname": item["hostname"], "mac": mac, "ip": ip}


def gate_report_reason(content, since=None):
    """The provisioning server's report log of one VM (JSON lines, newest last) -> what its
    last readiness gate said, for a node's Reason; '' when there is no report received at
    or after `since` (epoch: the host job's start; earlier lives of the name do not count)."""
    import datetime
    import json
    lines = [line for line in str(content or "").splitlines() if line.strip()]
    if not lines:
        return ""
    try:
        entry = json.loads(lines[-1])
        report = entry["report"]
        report = json.loads(report) if isinstance(report, str) else report
        received = datetime.datetime.fromisoformat(entry["received"]).timestamp() if entry.get("received") else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return "gate: unreadable report"
    if since and received is not None and received < float(since):
        return ""
    if report.get("status") == "pass":
        return "gate passed, slurmd did not register"
    return "gate: %s: %s" % (report.get("check", "?"), report.get("reason", "?"))


class FilterModule(object):
    def filters(self):
        return {
            "claim_record": claim_record,
            "claim_dhcp_host": claim_dhcp_host,
            "with_host_job_id": with_host_job_id,
            "teardown_dns_record": teardown_dns_record,
            "teardown_dhcp_host": teardown_dhcp_host,
            "gate_report_reason": gate_report_reason,
        }
