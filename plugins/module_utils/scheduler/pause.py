# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Paused images: the file the admin verb hpc.slurm_vm.pause writes and the planner reads.

<slurm_vm_state_dir>/paused.json holds {image: {"reason": str, "since": epoch seconds, "by": str}}.
A paused image gets no new VM (its pending host jobs are cancelled); its running VMs serve on,
and its waiting jobs say why in their comment. Resuming removes the image's entry.

The writer (module image_pause) changes one image's entry: read, change, write to a temporary
file in the same folder and rename it over paused.json (mode 0600), under an flock on
paused.json.lock so that two admins pausing two images at once both count. The scheduler reads
the file without the lock: a rename is atomic, it sees the old file or the new one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import getpass
import json
import os
import time

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import state_files
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput, UnknownImage
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import admin_reason_text

PAUSED_FILE = "paused.json"
LOCK_FILE = PAUSED_FILE + ".lock"
FILE_MODE = 0o600

ARGUMENT_SPEC = {
    "state_dir": {"type": "path", "required": True},
    "image": {"type": "str", "required": True},
    "state": {"type": "str", "default": "paused", "choices": ["paused", "active"]},
    "reason": {"type": "str"},
    "images": {"type": "dict", "required": True},
    "by": {"type": "str"},
}
REQUIRED_IF = [("state", "paused", ("reason",))]


def paused_reason(image_name, entry):
    """What a paused image's waiting jobs and cancelled host jobs are told: 'image <name> paused: <reason>'."""
    return "image %s paused: %s" % (image_name, entry["reason"])


def check_paused(data, source="the paused images"):
    """data checked: {image: {reason (non-empty str), since (int), by (str)}}; raises InvalidInput."""
    if not isinstance(data, dict):
        raise InvalidInput("%s is not a mapping of image names" % source)
    checked = {}
    for image, entry in data.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("reason"), str) or not entry["reason"].strip():
            raise InvalidInput("%s: image %s has no reason (a mapping with reason, since, by)" % (source, image))
        since = entry.get("since")
        if not isinstance(since, int) or isinstance(since, bool):
            raise InvalidInput("%s: image %s has no 'since' (epoch seconds)" % (source, image))
        checked[str(image)] = {"reason": entry["reason"].strip(), "since": since, "by": str(entry.get("by") or "")}
    return checked


def read_paused(path):
    """The paused images in path; {} when the file does not exist (no image was ever paused)."""
    return check_paused(state_files.read_state(path, "paused images"), "the paused images %s" % path)


def check_reason(reason):
    """The reason, stripped: one printable line (marks.admin_reason_text); raises InvalidInput."""
    return admin_reason_text(reason, "a pause needs a reason: the users whose jobs wait read it in their job's "
                                     "comment")


def paused_after(paused, image, state, reason=None, by="", now=None):
    """The paused images after pausing (state 'paused') or resuming ('active') image; a new mapping.

    Pausing a paused image again with the same reason leaves its entry as it is; with another reason,
    the reason and `by` change and `since` (when the pause began) stays."""
    after = dict(paused)
    if state == "active":
        after.pop(image, None)
        return after
    reason = check_reason(reason)
    entry = paused.get(image)
    if entry and entry["reason"] == reason:
        return after
    since = entry["since"] if entry else int(time.time() if now is None else now)
    after[image] = {"reason": reason, "since": since, "by": by}
    return after


def check_image(images, image, paused, state):
    """Refuse an image the table does not define, unless it is resumed and still in the file (an image that
    left the table while paused)."""
    if image in images:
        return
    if state == "active" and image in paused:
        return
    raise UnknownImage("image %r is not in the image table (slurm_vm_images: %s)"
                       % (image, ", ".join(sorted(images)) or "empty"), image=image)


def write_paused(path, paused):
    """Write paused to path atomically (a temporary file renamed over it), mode 0600."""
    state_files.write_atomic(path, json.dumps(paused, indent=1, sort_keys=True) + "\n", FILE_MODE)


def invoking_user():
    """Who runs the verb: the sudo caller when run through sudo as root, else the effective user."""
    if os.geteuid() == 0 and os.environ.get("SUDO_USER"):
        return os.environ["SUDO_USER"]
    return getpass.getuser()


def run_image_pause(params, check_mode=False, now=None, user=None):
    """The module image_pause: pause or resume params['image'] in <state_dir>/paused.json.
    Returns the result (changed, image, state, paused, path, diff); raises InvalidInput."""
    state_dir = params["state_dir"]
    if not os.path.isdir(state_dir):
        raise InvalidInput("the scheduler's state folder %s does not exist (slurm_vm_state_dir; the scheduler "
                           "creates it on its first run)" % state_dir)
    path = os.path.join(state_dir, PAUSED_FILE)
    image, state = params["image"], params["state"]
    by = params.get("by") or user or invoking_user()
    if check_mode:
        return _change(path, image, state, params, by, now, write=False)
    # refuse bad input before the lock file is created: nothing is written then
    if state == "paused":
        check_reason(params.get("reason"))
    if image not in params["images"]:
        check_image(params["images"], image, read_paused(path), state)
    lock_path = os.path.join(state_dir, LOCK_FILE)
    try:
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return _change(path, image, state, params, by, now, write=True)
    except OSError as exc:
        raise InvalidInput("cannot lock or write the paused images %s (lock %s): %s" % (path, lock_path, exc)) from exc


def _change(path, image, state, params, by, now, write):
    before = read_paused(path)
    check_image(params["images"], image, before, state)
    after = paused_after(before, image, state, params.get("reason"), by, now)
    changed = after != before
    if changed and write:
        write_paused(path, after)
    return {"changed": changed, "image": image, "state": state, "paused": after.get(image), "path": path,
            "paused_images": after,
            "diff": {"before": before, "after": after, "before_header": path, "after_header": path}}
