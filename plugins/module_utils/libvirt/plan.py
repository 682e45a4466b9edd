# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What libvirt_guest has to do: pure decisions from desired vs current.

plan_guest() takes the desired spec and state, what libvirt reports about the
domain (or None) and which of the guest's files exist, and returns the ordered
list of actions plus the human-readable changes.  No libvirt, no I/O: check mode
reports exactly this plan, and the unit tests walk every transition.

Actions, in the order they run:
  destroy, undefine, remove_overlay, remove_tmp_disk, remove_console_log,
  create_overlay, create_tmp_disk, define, set_metadata, create_transient,
  start, resume, shutdown
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import LIBVIRT_NAMESPACE
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.domain_spec import SPEC_KEYS, fill_generated
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.errors import DomainNotOwned

STATES = ("running", "shutdown", "destroyed", "defined", "absent")
# Changes that need the guest's files rebuilt: only safe while the guest is off.
FILE_FIELDS = ("base_image", "tmp_disk_size")
# Changes libvirt applies to a running guest at once (virDomainSetMetadata).
LIVE_FIELDS = ("metadata",)


def _show(field, value):
    if field == "memory_kib" and isinstance(value, int):
        return "%d MiB" % (value // 1024) if value % 1024 == 0 else "%d KiB" % value
    if field == "tmp_disk_size" and isinstance(value, int):
        return "%d MiB" % (value // 1024 ** 2) if value % 1024 ** 2 == 0 else "%d bytes" % value
    if field == "rng" and isinstance(value, list):
        return "[%s]" % ", ".join(_show_rng(rng) for rng in value)
    return repr(value)


def _show_rng(rng):
    """'virtio from /dev/urandom, 1024 bytes per 1000 ms' (no rate: 'unlimited')."""
    source = rng.get("source") or "%s backend" % rng.get("backend")
    if rng.get("rate_bytes"):
        period = rng.get("rate_period_ms")
        rate = "%s bytes per %s" % (rng["rate_bytes"], "%s ms" % period if period else "default period")
    else:
        rate = "unlimited"
    return "%s from %s, %s" % (rng.get("model"), source, rate)


def diff_specs(current, desired):
    """[(field, before, after)] for every managed field that differs."""
    return [(key, current.get(key), desired.get(key)) for key in SPEC_KEYS
            if current.get(key) != desired.get(key)]


def describe_changes(differences):
    return ["%s: %s -> %s" % (key, _show(key, before), _show(key, after)) for key, before, after in differences]


def plan_guest(desired, state, persistent, current, files, force=False):
    """Decide the actions.

    desired:    spec from domain_spec.desired_spec (ignored for state=absent)
    state:      one of STATES
    persistent: bool, a defined domain (True) or a transient one
    current:    None, or {"spec": spec, "active": bool, "paused": bool, "persistent": bool, "ours": bool}
                (spec read from the inactive XML of a persistent domain, the live one otherwise;
                ours: it carries our metadata)
    files:      {"overlay": bool, "tmp_disk": size in bytes or None, "console_log": bool}
    force:      change or remove a domain that is not ours; without it, such a domain raises
                DomainNotOwned and nothing is planned (its files of the same name are left alone too)

    Returns {"actions": [...], "changes": [...], "differences": [...], "restart_needed": bool,
    "warnings": [...], "desired": spec with libvirt-generated values filled in, "after_state": str}.
    """
    if state not in STATES:
        raise InvalidInput("state must be one of %s" % ", ".join(STATES))
    _check_ownership(state, current, force)
    if state == "absent":
        return _result(_removal_actions(current, files), [], False, [], None, "absent")
    _check_persistence(desired, state, persistent, current)

    desired = fill_generated(desired, current["spec"] if current else None)
    differences = diff_specs(current["spec"], desired) if current else []
    warnings = []
    if current is None:
        actions, restart_needed = _fresh_guest_actions(desired, persistent, files), False
    else:
        actions, restart_needed = _existing_guest_actions(desired, persistent, current, files, differences, warnings)
    after_state = _after_state(state, current, actions)
    actions.extend(_power_actions(state, persistent, current))
    return _result(actions, differences, restart_needed, warnings, desired, after_state)


def _check_ownership(state, current, force):
    """A domain without our metadata is someone else's: refuse any state for it unless force."""
    if current is None or current["ours"] or force:
        return
    name = current["spec"]["name"]
    if state == "absent":
        refusal = "refusing to remove domain %s: it is not ours (no %s metadata); force=true removes it"
    else:
        refusal = "refusing to change domain %s: it is not ours (no %s metadata); force=true changes it"
    raise DomainNotOwned(refusal % (name, LIBVIRT_NAMESPACE), name=name, ours=False,
                         state=current.get("state"))


def _removal_actions(current, files):
    """state=absent: power off, undefine, and remove every file the guest left."""
    actions = []
    if current and current["active"]:
        actions.append("destroy")
    if current and current["persistent"]:
        actions.append("undefine")
    for name in ("overlay", "tmp_disk", "console_log"):
        if files.get(name):
            actions.append("remove_" + name)
    return actions


def _check_persistence(desired, state, persistent, current):
    if not persistent and state != "running":
        raise InvalidInput("a transient guest (persistent: false) exists only while it runs; "
                           "use state running or absent, not %s" % state)
    if current and current["persistent"] and not persistent:
        raise InvalidInput("%s is a persistent domain; remove it (state: absent) before running it as transient"
                           % desired["name"])


def _fresh_guest_actions(desired, persistent, files):
    """No domain yet: fresh files, and a definition unless the guest is transient."""
    actions = []
    # A fresh guest always gets fresh files: an overlay or tmp disk left behind by
    # an earlier life of this name (a crash, a killed run) is stale.
    if files.get("overlay"):
        actions.append("remove_overlay")
    if files.get("tmp_disk") is not None:
        actions.append("remove_tmp_disk")
    if desired["base_image"]:
        actions.append("create_overlay")
    if desired["tmp_disk_size"]:
        actions.append("create_tmp_disk")
    if persistent:
        actions.append("define")
    return actions


def _existing_guest_actions(desired, persistent, current, files, differences, warnings):
    """A domain exists: (actions, restart_needed) to bring its files and definition in line."""
    active = bool(current["active"])
    changed_fields = {key for key, _before, _after in differences}
    file_changes = changed_fields.intersection(FILE_FIELDS)
    if active and file_changes:
        # The files are in use: leave the whole definition alone, so a later run with
        # the guest shut off still sees the difference and rebuilds them.
        warnings.append("%s is running: %s can change only while it is shut off; nothing was changed"
                        % (desired["name"], ", ".join(sorted(file_changes))))
        return [], True
    actions = [] if active else _file_rebuild_actions(desired, files, changed_fields)
    restart_needed = _definition_actions(desired, persistent, active, changed_fields, actions, warnings)
    if not current["persistent"] and persistent:
        actions.append("define")
    return actions, restart_needed


def _file_rebuild_actions(desired, files, changed_fields):
    """A shut-off guest: rebuild the overlay or tmp disk that is missing or no longer matches."""
    actions = []
    if desired["base_image"] and (not files.get("overlay") or "base_image" in changed_fields):
        if files.get("overlay"):
            actions.append("remove_overlay")
        actions.append("create_overlay")
    elif not desired["base_image"] and files.get("overlay"):
        actions.append("remove_overlay")
    size = files.get("tmp_disk")
    if desired["tmp_disk_size"] and size != desired["tmp_disk_size"]:
        if size is not None:
            actions.append("remove_tmp_disk")
        actions.append("create_tmp_disk")
    elif not desired["tmp_disk_size"] and size is not None:
        actions.append("remove_tmp_disk")
    return actions


def _definition_actions(desired, persistent, active, changed_fields, actions, warnings):
    """Apply changed fields: live metadata, or a new definition. Appends to actions; returns restart_needed."""
    if not changed_fields:
        return False
    if changed_fields <= set(LIVE_FIELDS):
        actions.append("set_metadata")
        return False
    if persistent:
        actions.append("define")
        if active and "metadata" in changed_fields:
            actions.append("set_metadata")   # the live copy too, for the _info module
        return active
    warnings.append("%s is transient and running: the changes apply only when it is "
                    "recreated" % desired["name"])
    return True


def _power_actions(state, persistent, current):
    """The last action: bring the guest to the wanted power state."""
    active = bool(current and current["active"])
    if state == "running":
        if not active:
            return ["start" if persistent else "create_transient"]
        if current.get("paused"):
            return ["resume"]
    elif state in ("shutdown", "destroyed") and active:
        return ["shutdown" if state == "shutdown" else "destroy"]
    return []


def _after_state(state, current, actions):
    if state == "running":
        return "running"
    if state == "defined":
        if current is None:
            return "shutoff"
        return "running" if current["active"] else "shutoff"
    return "shutoff"


def _result(actions, differences, restart_needed, warnings, desired, after_state):
    return {
        "actions": actions,
        "differences": differences,
        "changes": describe_changes(differences),
        "restart_needed": restart_needed,
        "warnings": warnings,
        "desired": desired,
        "after_state": after_state,
    }
