# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drift between the image table and the running slurmctld. Pure.

slurm.conf's pool lines are rendered from the table (role vm_cluster_conf), but an admin who
changes one without the other, or forgets `scontrol reconfigure`, leaves Slurm with other
numbers: a VM then registers INVALID_REG (fewer CPUs or memory than its node says) or
serves fewer jobs than the planner counts. The planner spawns no VM of a drifted image
until both agree, and says why in the preview, the metrics and the jobs' comments.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import nodeset
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.parse import parse_node_gres


def _gres_count(node, image):
    """The node's count of the image's gres; None when the image has none or Slurm's line had no
    Gres field at all ('(null)' is a field that says: no gres, so 0)."""
    if not image["gres"] or not node.get("gres"):
        return None
    return parse_node_gres(node["gres"]).get(image["gres"], 0)


# (Slurm's node field, the table's key, the snapshot node's value or None when not known)
FIELDS = (
    ("CPUs", "vcpus", lambda node, image: node.get("cpus")),
    ("RealMemory", "real_memory_mb", lambda node, image: node.get("real_memory")),
    ("Gres", "gres_count", _gres_count),
)


def image_drift(image, nodes):
    """[{field, slurm, table, hosts}] where the image's pool nodes in Slurm differ from its table
    entry; one item per field and Slurm value. A node Slurm does not know is the reconciler's."""
    found = {}
    for host in image["hosts"]:
        node = nodes.get(host)
        if node is None:
            continue
        for field, key, read in FIELDS:
            have = read(node, image)
            if have is not None and have != image[key]:
                found.setdefault((field, key, have), []).append(host)
    return [{"field": field, "slurm": have, "table": image[key], "table_key": key, "hosts": nodeset.fold(hosts)}
            for (field, key, have), hosts in sorted(found.items(), key=lambda kv: (kv[0][0], str(kv[0][2])))]


def describe(drift):
    """One line: 'slurm.conf says CPUs=4 where the image table says vcpus 1 (vm-deb12-[001-008])'."""
    return "; ".join("slurm.conf says %s=%s where the image table says %s %s (%s)"
                     % (d["field"], d["slurm"], d["table_key"], d["table"], d["hosts"]) for d in drift)
