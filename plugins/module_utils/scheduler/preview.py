# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan as people read it: a fixed-width table for check mode and logs, and the
local time the plan's reasons give. Pure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

COLUMNS = ("ACTION", "IMAGE", "HOST", "STEP", "REASON")


def iso_time(epoch):
    """Local time as the plan's reasons write it (2026-11-25T22:00:00)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(epoch))


def preview_table(result):
    """The plan as a fixed-width text table, for check mode and logs."""
    rows = [COLUMNS] + _action_rows(result) + _hold_rows(result["images"]) + _comment_rows(result)
    if len(rows) == 1:
        rows.append(("none", "-", "-", "-", "nothing to do"))
    widths = [max(len(str(r[i])) for r in rows) for i in range(4)]
    lines = []
    for row in rows:
        lines.append("  ".join(str(row[i]).ljust(widths[i]) for i in range(4)) + "  " + str(row[4]))
    return "\n".join(line.rstrip() for line in lines)


def _action_rows(result):
    rows = []
    for item in result["spawn"]:
        rows.append(("spawn", item["image"], item["hostname"], item["ip"], item["reason"]))
    for item in result["cancel"]:
        rows.append(("cancel", item["image"], item["hostname"], "job " + str(item["host_job_id"]), item["reason"]))
    for item in result["teardown"]:
        rows.append(("teardown", item["image"], item["hostname"], item["step"], item["reason"]))
    for item in result["gc"]:
        rows.append(("gc", item["image"] or "-", item["hostname"], item["kind"], item["reason"]))
    for item in result["resume"]:
        rows.append(("resume", item["image"], item["hostname"], "job " + str(item["host_job_id"]), item["reason"]))
    for item in result.get("reserve", ()):
        rows.append(("reserve", item["image"], item["hostname"], "from " + iso_time(item["start"]), item["reason"]))
    return rows


def _hold_rows(images):
    """One row per image whose spawn was held back: by a limit, a backoff or jobs too long."""
    rows = []
    for name in sorted(images):
        summary = images[name]
        rollout = summary.get("rollout") or {}
        if rollout.get("old"):
            rows.append(("rollout", name, "-", summary.get("version") or "-",
                         "%d VM(s) of an older version to go, %d of this one" % (rollout["old"], rollout["new"])))
        if summary["limited_by"] or summary["backoff"] or summary["unservable_jobs"] or summary.get("drift"):
            note = []
            if summary["limited_by"]:
                note.append("wanted %d, limited by %s" % (summary["wanted"], summary["limited_by"]))
            if summary.get("drift") and "drift" not in (summary["limited_by"] or ""):
                note.append("drift between slurm.conf and the image table: %s" % "; ".join(
                    "%s=%s vs %s %s" % (d["field"], d["slurm"], d["table_key"], d["table"]) for d in summary["drift"]))
            if summary["unservable_jobs"]:
                note.append("jobs longer than the image lifetime: %s" % ",".join(summary["unservable_jobs"]))
            rows.append(("hold", name, "-", "-", "; ".join(note)))
    return rows


def _comment_rows(result):
    """One row per distinct job comment the run writes (or clears, shown as '-')."""
    rows = []
    for item in result.get("job_comments", ()):
        jobs = item["jobs"]
        shown = ",".join(jobs[:5]) + (",... (%d jobs)" % len(jobs) if len(jobs) > 5 else "")
        rows.append(("comment", "-", "-", shown, item["comment"] or "- (cleared)"))
    return rows
