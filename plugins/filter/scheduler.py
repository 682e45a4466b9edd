# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small pure filters that turn the planner's items into module arguments."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.errors import AnsibleFilterError


def _mark(item, job=None):
    return {"image": item["image"], "job": str(job or item.get("host_job_id") or "claimed")}


def claim_record(item, job=None):
    """A spawn item as a dns_record `records` entry: A (+PTR via ptr) and the ownership mark."""
    return {"name": item["hostname"], "ip": item["ip"], "mark": _mark(item, job)}


def claim_dhcp_host(item, job=None):
    """A spawn item as a dhcp_host `hosts` entry."""
    return {"hostname": item["hostname"], "mac": item["mac"], "ip": item["ip"], "mark": _mark(item, job)}


def with_host_job_id(results):
    """sbatch --parsable results (loop results over spawn items) -> spawn items with host_job_id."""
    items = []
    for result in results:
        job_id = str(result.get("stdout", "")).strip().split(";", maxsplit=1)[0]
        if not job_id.isdigit():
            raise AnsibleFilterError("sbatch printed no job id for %s: %r"
                                     % (result["item"]["hostname"], result.get("stdout")))
        item = dict(result["item"])
        item["host_job_id"] = job_id
        items.append(item)
    return items


def _addresses(item, images):
    from ansible_collections.hpc.slurm_vm.plugins.module_utils import image_table
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


def failure_history(plan, previous):
    """Boot failures in a row per image: +1 for each boot_timeout teardown, reset when a VM of
    the image is idle or busy. previous: the slurp result of the last history.json (or {})."""
    import base64
    import json
    history = {}
    if isinstance(previous, dict) and previous.get("content"):
        history = json.loads(base64.b64decode(previous["content"]).decode("utf-8"))
    now = int(time.time())
    for name, summary in plan.get("images", {}).items():
        record = dict(history.get(name) or {"failures": 0, "last_failure": None})
        failed = [t for t in plan.get("teardown", []) if t["image"] == name and t["reason"].startswith("boot_timeout")]
        if failed:
            record["failures"] = int(record.get("failures", 0)) + len(failed)
            record["last_failure"] = now
        elif summary.get("vms", {}).get("idle") or summary.get("vms", {}).get("busy"):
            record["failures"] = 0
        history[name] = record
    return history


def run_summary(plan, submitted):
    """What one run did, per image, for JSON and Prometheus."""
    return {
        "time": int(time.time()),
        "spawned": [s["hostname"] for s in submitted],
        "cancelled": [c["hostname"] for c in plan.get("cancel", [])],
        "teardown": [{"hostname": t["hostname"], "step": t["step"], "reason": t["reason"]}
                     for t in plan.get("teardown", [])],
        "gc": plan.get("gc", []),
        "images": plan.get("images", {}),
    }


class FilterModule(object):
    def filters(self):
        return {
            "claim_record": claim_record,
            "claim_dhcp_host": claim_dhcp_host,
            "with_host_job_id": with_host_job_id,
            "teardown_dns_record": teardown_dns_record,
            "teardown_dhcp_host": teardown_dhcp_host,
            "failure_history": failure_history,
            "run_summary": run_summary,
        }
