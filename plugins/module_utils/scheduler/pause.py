# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Paused images: the file the admin verb hpc.slurm_vm.pause writes and the planner reads.

<slurm_vm_state_dir>/paused.json holds {image: {"reason": str, "since": epoch seconds, "by": str}}.
A paused image gets no new VM (its pending host jobs are cancelled); its running VMs serve on,
and its waiting jobs say why in their comment. Resuming removes the image's entry."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import state_files
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput

PAUSED_FILE = "paused.json"


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
