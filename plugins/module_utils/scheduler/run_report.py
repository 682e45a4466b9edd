# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What one scheduler run leaves behind: the failure history the next plan reads, the
run summary (JSON) and the same numbers as a Prometheus textfile. Pure, except
write_if_changed (atomic: a reader never sees half a file)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
import os

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import state_files
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import SlurmVmError
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import base_records
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import vm_state

# The states hpc_slurm_vm_vms counts: every VM (vm_state.ALIVE) and every name that belongs to no VM.
VM_STATES = vm_state.REPORTED


class ReportError(SlurmVmError):
    """The run report cannot be read or written."""


TEARDOWN_STEPS = ("drain", "end_host_job", "wait", "finish")
BOOT_FAILURE_CAUSES = ("boot_timeout", "invalid_registration")  # lifecycle.boot_failure
DRIFT_FIELDS = ("CPUs", "RealMemory", "Gres")  # config_drift.FIELDS
METRIC_PREFIX = "hpc_slurm_vm_"
FLAG_KINDS = ("base_changed",)  # what the reconciler reports and leaves alone


def failure_history(plan, previous, now):
    """Boot failures in a row per image: +1 per failed boot the plan tears down (boot_timeout, or a
    slurmd that registered invalid), reset to 0 once a VM of the image is idle or busy.
    previous: the last history ({} before the first run)."""
    history = dict(previous or {})
    for name, summary in sorted(plan.get("images", {}).items()):
        record = dict(history.get(name) or {"failures": 0, "last_failure": None})
        failed = [t for t in plan.get("teardown", []) if t["image"] == name and t.get("boot_failure")]
        if failed:
            record["failures"] = int(record.get("failures", 0)) + len(failed)
            record["last_failure"] = int(now)
        elif any(summary.get("vms", {}).get(state)
                 for state in (vm_state.VmState.IDLE.value, vm_state.VmState.BUSY.value)):
            record["failures"] = 0
        history[name] = record
    return history


def run_summary(plan, submitted, started, now, removed=()):
    """What one run did, per image (the JSON summary; the textfile derives from it).
    removed: what the reconciler removed this run (items with kind, hostname, reason)."""
    return {
        "orphans_removed": [{"kind": r.get("kind"), "hostname": r.get("hostname"), "reason": r.get("reason")}
                            for r in removed],
        "time": int(now),
        "duration": round(max(0.0, float(now) - float(started)), 3),
        "spawned": [s["hostname"] for s in submitted],
        "spawned_by_image": _count_by_image(submitted),
        "cancelled": [c["hostname"] for c in plan.get("cancel", [])],
        "hidden": [r["hostname"] for r in plan.get("resume", [])],
        "teardown": [{"image": t["image"], "hostname": t["hostname"], "step": t["step"], "reason": t["reason"],
                      "boot_failure": t.get("boot_failure")} for t in plan.get("teardown", [])],
        "gc": plan.get("gc", []),
        "reserve": [{"hostname": r["hostname"], "start": r["start"], "reason": r["reason"]}
                    for r in plan.get("reserve", [])],
        "images": plan.get("images", {}),
        # when the next time-based rule fires (a trigger may start a run then); null: none
        "next_due": plan.get("next_due"),
    }


def _count_by_image(items):
    counts = {}
    for item in items:
        counts[item["image"]] = counts.get(item["image"], 0) + 1
    return counts


def _quantile(values, q):
    """Nearest-rank quantile of sorted values; NaN for none (Prometheus' way to say: no data)."""
    if not values:
        return "NaN"
    return values[min(len(values) - 1, max(0, int(math.ceil(q * len(values))) - 1))]


def _label(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def prometheus_text(summary):
    """The summary in the Prometheus text exposition format (node_exporter's textfile collector)."""
    lines = []
    images = summary.get("images", {})
    names = sorted(images)
    families = list(_demand_and_vm_families(summary, images, names)) + list(_day_two_families(summary, images, names))
    for name, kind, text, samples in families + list(_run_families(summary, names)):
        lines.append("# HELP %s%s %s" % (METRIC_PREFIX, name, text))
        lines.append("# TYPE %s%s %s" % (METRIC_PREFIX, name, kind))
        for labels, value in samples:
            rendered = ",".join('%s="%s"' % (k, _label(v)) for k, v in labels)
            lines.append("%s%s{%s} %s" % (METRIC_PREFIX, name, rendered, value) if rendered
                         else "%s%s %s" % (METRIC_PREFIX, name, value))
    return "\n".join(lines) + "\n"


def _demand_and_vm_families(summary, images, names):
    """(name, kind, help, [(labels, value)]) of the per-image demand, VM, boot and teardown metrics."""
    yield ("pending_jobs", "gauge", "Pending VM-cluster jobs asking for the image.",
           [((("image", n),), images[n].get("pending_jobs", 0)) for n in names])
    yield ("requested_units", "gauge", "Units (gres count x nodes) the pending jobs ask for.",
           [((("image", n),), images[n].get("requested_units", 0)) for n in names])
    yield ("oldest_wait_seconds", "gauge", "How long the oldest pending job of the image has waited.",
           [((("image", n),), images[n].get("oldest_wait", 0)) for n in names])
    yield ("vms", "gauge", "VMs of the image by lifecycle state.",
           [((("image", n), ("state", s)), images[n].get("vms", {}).get(s, 0)) for n in names for s in VM_STATES])
    yield ("boot_seconds", "gauge", "Boot latency (host job start to slurmd registered) of the live VMs.",
           [((("image", n), ("quantile", q)), _quantile(images[n].get("boot_seconds") or [], float(q)))
            for n in names for q in ("0.5", "0.9", "1")])
    yield ("spawn_planned", "gauge", "VMs the run decided to start.",
           [((("image", n),), images[n].get("spawn", 0)) for n in names])
    yield ("backoff", "gauge", "1 while the image is in backoff after repeated boot failures.",
           [((("image", n),), 1 if images[n].get("backoff") else 0) for n in names])
    yield ("teardown_steps", "gauge", "Teardown steps the run took, by image and step.",
           [((("image", n), ("step", s)),
             sum(1 for t in summary.get("teardown", []) if t.get("image") == n and t["step"] == s))
            for n in names for s in TEARDOWN_STEPS])
    yield ("config_drift", "gauge", "1 while the VM cluster's slurm.conf and the image table disagree on the "
           "field for the image's pool nodes (no VM of the image is spawned then).",
           [((("image", n), ("field", f)), 1 if any(d.get("field") == f for d in images[n].get("drift") or []) else 0)
            for n in names for f in DRIFT_FIELDS])
    yield ("boot_failures", "gauge", "Failed boots the run tore down, by image and cause (boot_timeout: "
           "not registered in time; invalid_registration: Slurm set INVALID_REG, see the teardown reason).",
           [((("image", n), ("cause", c)),
             sum(1 for t in summary.get("teardown", []) if t.get("image") == n and t.get("boot_failure") == c))
            for n in names for c in BOOT_FAILURE_CAUSES])


def _day_two_families(summary, images, names):
    """The pause, rollout, failed-start and reconciler-flag metrics."""
    yield ("paused", "gauge", "1 while an admin paused the image (hpc.slurm_vm.pause): no new VMs.",
           [((("image", n),), 1 if images[n].get("paused") else 0) for n in names])
    yield ("rollout_vms", "gauge", "The image's VMs by version during a rollout: old (still to go) and new.",
           [((("image", n), ("version", v)), (images[n].get("rollout") or {}).get(v, 0))
            for n in names for v in ("old", "new")])
    yield ("spawn_failed", "gauge", "VMs whose start failed on their hypervisor in the run (e.g. a base image "
           "changed in place), by image.",
           [((("image", n),), sum(1 for f in summary.get("spawn_failed", []) if f.get("image") == n)) for n in names])
    yield ("flagged", "gauge", "Problems the reconciler reported and left alone (base_changed: a running VM's base "
           "image changed in place), by kind.",
           [((("kind", k),), sum(1 for f in summary.get("flagged", []) if f.get("kind") == k)) for k in FLAG_KINDS])


def _run_families(summary, names):
    """The run's own counts and times."""
    yield ("spawned", "gauge", "Host jobs the run submitted, by image.",
           [((("image", n),), summary.get("spawned_by_image", {}).get(n, 0)) for n in names])
    yield ("cancelled", "gauge", "Pending host jobs the run cancelled.", [((), len(summary.get("cancelled", [])))])
    yield ("gc_items", "gauge", "Things found that belong to no live VM.", [((), len(summary.get("gc", [])))])
    kinds = ("domain", "file", "reservation", "dhcp", "dns", "node")
    yield ("orphans_removed", "gauge", "What the reconciler removed this run, by kind.",
           [((("kind", k),), sum(1 for r in summary.get("orphans_removed", []) if r.get("kind") == k)) for k in kinds])
    yield ("run_duration_seconds", "gauge", "Wall time of the scheduler run.", [((), summary.get("duration", 0))])
    yield ("run_timestamp_seconds", "gauge", "When the run ended (epoch).", [((), summary.get("time", 0))])


def to_json(data):
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write_if_changed(path, content, mode=0o644, check_mode=False):
    """Write content to path atomically unless it is already there. Returns changed."""
    try:
        with open(path) as handle:
            if handle.read() == content:
                return False
    except FileNotFoundError:
        pass
    if check_mode:
        return True
    state_files.write_atomic(path, content, mode)
    return True


ARGUMENT_SPEC = {
    "state_dir": {"type": "path", "required": True},
    "plan": {"type": "dict", "required": True},
    "submitted": {"type": "list", "elements": "dict", "default": []},
    "removed": {"type": "list", "elements": "dict", "default": []},
    "started": {"type": "float"},
    "textfile": {"type": "path"},
    "base_images": {"type": "list", "elements": "dict", "default": []},
    "spawn_failed": {"type": "list", "elements": "dict", "default": []},
    "flagged": {"type": "list", "elements": "dict", "default": []},
}


def write_report(params, now, check_mode=False):
    """params (validated, see ARGUMENT_SPEC) -> result: writes history.json, summary.json
    and the Prometheus textfile under state_dir (the textfile where O(textfile) says)."""
    state_dir = params["state_dir"]
    history_path = os.path.join(state_dir, "history.json")
    previous = state_files.read_state(history_path, "failure history", error=ReportError)
    plan = params["plan"]
    started = params.get("started")
    history = failure_history(plan, previous, now)
    summary = run_summary(plan, params.get("submitted") or [], started if started is not None else now, now,
                          removed=params.get("removed") or [])
    keys = ("hostname", "image", "image_version", "hypervisor", "msg")
    summary["spawn_failed"] = [{key: item.get(key) for key in keys} for item in params.get("spawn_failed") or []]
    summary["flagged"] = [{key: item.get(key) for key in ("kind", "hostname", "image", "where", "reason")}
                          for item in params.get("flagged") or []]
    textfile = params.get("textfile") or os.path.join(state_dir, "hpc_slurm_vm.prom")
    files = [(history_path, to_json(history)), (os.path.join(state_dir, "summary.json"), to_json(summary)),
             (textfile, prometheus_text(summary)),
             (os.path.join(state_dir, vm_state.REGISTERED_FILE), to_json(plan.get("registered") or {}))]
    added = []
    if params.get("base_images"):
        records_path = os.path.join(state_dir, base_records.BASE_RECORDS_FILE)
        records, added = base_records.merge_records(
            state_files.read_state(records_path, "recorded base images", error=ReportError), params["base_images"], now)
        if added:
            files.append((records_path, to_json(records)))
    changed = []
    try:
        if not check_mode:
            for directory in sorted({os.path.dirname(path) for path, _content in files}):
                os.makedirs(directory, mode=0o755, exist_ok=True)
        for path, content in files:
            if write_if_changed(path, content, check_mode=check_mode):
                changed.append(path)
    except OSError as exc:
        raise ReportError("cannot write the run report: %s" % exc) from exc
    return {"changed": bool(changed), "files": changed, "summary": summary, "history": history,
            "base_images_recorded": ["%s %s" % pair for pair in added]}
