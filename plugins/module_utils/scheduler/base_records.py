# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base image of each image version, as libvirt_guest measured it when it first started a VM of
that version: <state_dir>/base_images.json, {image: {version: {path, size, mtime, sha256, recorded,
hypervisor}}}. Pure, but for the file name.

The first record of a version is its truth: a later spawn on a base whose checksum differs is refused
(libvirt_guest base_record), so a base image changed in place never gets a new overlay. A new version
(a new file name, or a new `version` label in the image table) gets a record of its own."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

BASE_RECORDS_FILE = "base_images.json"
_FIELDS = ("path", "size", "mtime", "sha256")


def merge_records(records, measured, now):
    """(records with every measured base of a version not recorded yet, the [(image, version)] added).
    measured: [{image, image_version, path, size, mtime, sha256, hypervisor}] (role spawn's `spawn_base`);
    items without sha256 (a direct-kernel guest, a failed start) are skipped."""
    merged = {image: dict(versions) for image, versions in (records or {}).items()}
    added = []
    for item in measured or ():
        if not isinstance(item, dict) or not item.get("sha256") or not item.get("image") \
                or not item.get("image_version"):
            continue
        versions = merged.setdefault(item["image"], {})
        if item["image_version"] in versions:
            continue
        record = {key: item.get(key) for key in _FIELDS}
        record.update(recorded=int(now), hypervisor=item.get("hypervisor"))
        versions[item["image_version"]] = record
        added.append((item["image"], item["image_version"]))
    return merged, added
