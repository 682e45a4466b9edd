# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""hpc.slurm_vm.status: every VM of a plan as one table, and the same as data (JSON). Pure.

The input is the result of hpc.slurm_vm.vm_plan, run read-only on the scheduler's own snapshot:
its `vms` rows (one per pool host that is not free, sorted by image then hostname) and, per
image in `images`, the demand summary with the image's `version`, `paused` and `rollout`.
A plan without them (a vm_plan older than the status verb) is refused, never shown as an
empty table.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.preview import iso_time

ROW_KEYS = ("hostname", "image", "state", "version", "current_version", "hypervisor", "host_job_id",
            "host_job_state", "started", "age", "jobs", "node_state", "node_reason", "action", "action_reason")
IMAGE_KEYS = ("version", "paused", "rollout")
# The image summary's keys the JSON keeps (the plan's summary also lists up to every pending job id).
IMAGE_JSON_KEYS = ("version", "paused", "rollout", "pending_jobs", "requested_units", "oldest_wait", "vms",
                   "spawn", "wanted", "limited_by", "backoff", "unservable_jobs")
COLUMNS = ("HOST", "IMAGE", "VERSION", "HYPERVISOR", "HOST JOB", "AGE", "STATE", "JOBS", "NEXT", "WHY")
MAX_JOBS_SHOWN = 3


def check_plan(plan):
    """Raise InvalidInput unless plan has the per-VM rows and the per-image keys the status shows."""
    if not isinstance(plan, dict):
        raise InvalidInput("hpc.slurm_vm.status takes the result of hpc.slurm_vm.vm_plan, not %s" % type(plan).__name__)
    if plan.get("failed"):
        raise InvalidInput("vm_plan failed: %s" % plan.get("msg", "no message"))
    missing = [key for key in ("vms", "images") if key not in plan]
    if missing:
        raise InvalidInput("the plan has no %s: this vm_plan does not list the VMs one by one (it predates "
                           "hpc.slurm_vm.status); update the collection on the scheduler host"
                           % " and no ".join(missing))
    for row in plan["vms"]:
        absent = [key for key in ROW_KEYS if key not in row]
        if absent:
            raise InvalidInput("the plan's row of %s lacks %s" % (row.get("hostname", "a VM"), ", ".join(absent)))
    for name, summary in sorted(plan["images"].items()):
        absent = [key for key in IMAGE_KEYS if key not in summary]
        if absent:
            raise InvalidInput("the plan's summary of image %s lacks %s" % (name, ", ".join(absent)))


def status_data(plan):
    """The status as data, for JSON: {planned_at, images: {name: summary}, vms: [row]}."""
    check_plan(plan)
    images = {name: {key: summary.get(key) for key in IMAGE_JSON_KEYS}
              for name, summary in sorted(plan["images"].items())}
    return {"planned_at": plan.get("started"), "images": images, "vms": [dict(row) for row in plan["vms"]]}


def status_table(plan):
    """The status as text: one line per image (demand, VMs by state, paused, rollout), then one table
    row per VM."""
    check_plan(plan)
    lines = [image_line(name, summary) for name, summary in sorted(plan["images"].items())]
    rows = [COLUMNS] + [_row(row) for row in plan["vms"]]
    if len(rows) == 1:
        rows.append(("-",) * (len(COLUMNS) - 1) + ("no VM: every pool host is free",))
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS) - 1)]
    lines.append("")
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(len(COLUMNS) - 1)] + [row[-1]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def image_line(name, summary):
    """'image deb12 (version a1b2c3d4e5f6): demand 2 jobs (2 units, oldest 45s); VMs busy 1, idle 1; ...'."""
    parts = ["image %s (version %s)" % (name, summary.get("version") or "?")]
    pending = summary.get("pending_jobs") or 0
    if pending:
        parts.append("demand %d job%s (%d unit%s, oldest %s)" % (
            pending, _plural(pending), summary.get("requested_units") or 0,
            _plural(summary.get("requested_units") or 0), duration(summary.get("oldest_wait"))))
    else:
        parts.append("no demand")
    counts = dict(summary.get("vms") or {})
    free = counts.pop("free", 0)
    parts.append("VMs " + (", ".join("%s %d" % (state, counts[state]) for state in sorted(counts)) or "none")
                 + (" (%d name%s free)" % (free, _plural(free)) if free else ""))
    paused = summary["paused"]
    if paused:
        by = paused.get("by") or "?"
        parts.append("PAUSED since %s by %s: %s" % (iso_time(paused["since"]), by, paused["reason"]))
    rollout = summary["rollout"] or {}
    if rollout.get("old"):
        parts.append("rollout: %d VM%s of an old version to replace, %d of this one" % (
            rollout["old"], _plural(rollout["old"]), rollout.get("new") or 0))
    if summary.get("spawn"):
        parts.append("this run would start %d" % summary["spawn"])
    if summary.get("limited_by") and not (paused and summary["limited_by"].startswith("image paused")):
        parts.append("limited by %s" % summary["limited_by"])
    if summary.get("backoff"):
        parts.append("backoff after %s failed boots" % summary["backoff"].get("failures", "?"))
    return "%s: %s" % (parts[0], "; ".join(parts[1:]))


def _row(row):
    version = row["version"] or "?"
    if row["version"] and row["current_version"] and row["version"] != row["current_version"]:
        version += " (old)"
    host_job = "-"
    if row["host_job_id"]:
        host_job = str(row["host_job_id"])
        if row["host_job_state"] and row["host_job_state"] != "RUNNING":
            host_job += " " + row["host_job_state"]
    jobs = [str(j) for j in row["jobs"] or ()]
    shown = ",".join(jobs[:MAX_JOBS_SHOWN])
    if len(jobs) > MAX_JOBS_SHOWN:
        shown += "+%d" % (len(jobs) - MAX_JOBS_SHOWN)
    action, why = row["action"] or "-", row["action_reason"] or ""
    if not row["action"] and row.get("next_step"):
        # no step now: the next time rule that brings one
        action, why = "%s in %s" % (row["next_step"], duration(row["next_in"])), row["next_rule"]
    if not row["action"] and row["node_reason"]:
        why = ("%s; " % why if why else "") + "node reason: %s" % row["node_reason"]
    return (row["hostname"], row["image"], version, row["hypervisor"] or "-", host_job, duration(row["age"]),
            row["state"], shown or "-", action, why)


def duration(seconds):
    """45 -> '45s', 3725 -> '1h02m', 93784 -> '1d02h'; None -> '-'."""
    if seconds is None:
        return "-"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return "%ds" % seconds
    if seconds < 3600:
        return "%dm%02ds" % (seconds // 60, seconds % 60)
    if seconds < 86400:
        return "%dh%02dm" % (seconds // 3600, seconds % 3600 // 60)
    return "%dd%02dh" % (seconds // 86400, seconds % 86400 // 3600)


def _plural(count):
    return "" if count == 1 else "s"
