# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VM cluster's slurm.conf lines for the pools of the image table (role vm_cluster_conf, filter pool_conf)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import nodeset
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import ImageTableError
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.image_table import vm_ip
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.durations import format_duration, parse_duration


def default_mem_per_cpu(images):
    """The partition's DefMemPerCPU: the smallest RealMemory / vcpus of the images (MB).

    The VM cluster runs CR_Core_Memory; without a default, a job that does not ask for memory
    gets the whole node's and the gres_count jobs of a shared VM cannot run side by side. With
    it, a one-CPU job gets its share (RealMemory / vcpus) on the image with the least memory
    per CPU, and as much or more elsewhere is left to the others (a job may ask --mem)."""
    return min(image["real_memory_mb"] // image["vcpus"] for image in images.values())


def render_pool_conf(images, partition="vms", max_time="7-00:00:00", default_time="01:00:00",
                     extra_gres_types=(), partition_options=""):
    """The VM cluster's slurm.conf lines for every pool: GresTypes, nodes, partition.

    Nodes are State=FUTURE: slurmctld neither resolves nor pings them and keeps
    their jobs across restarts; a node turns IDLE when its VM's slurmd registers.
    The partition needs a finite MaxTime so that reservations keep out jobs that
    would outlive a VM, a DefaultTime so that jobs without --time fit too, and a
    DefMemPerCPU (default_mem_per_cpu) so that the jobs of a shared VM fit side by
    side; partition_options may set DefMemPerCPU or DefMemPerNode itself.
    """
    max_seconds = parse_duration(max_time)
    if max_seconds is None:
        raise ImageTableError("the VM partition needs a finite MaxTime, got %r" % (max_time,))
    default_seconds = parse_duration(default_time)
    if default_seconds is None or default_seconds > max_seconds:
        raise ImageTableError("DefaultTime %r must be finite and at most MaxTime %r" % (default_time, max_time))
    if not re.match(r"^[A-Za-z0-9_.-]+$", str(partition)):
        raise ImageTableError("invalid partition name %r" % (partition,))
    if "\n" in str(partition_options):
        raise ImageTableError("partition_options must be one line")
    gres_types = sorted(set([i["gres"] for i in images.values() if i["gres"]] + list(extra_gres_types)))
    lines = ["# Rendered by hpc.slurm_vm from slurm_vm_images. Do not edit by hand."]
    if gres_types:
        lines.append("GresTypes=" + ",".join(gres_types))
    pools = []
    for name in sorted(images):
        image = images[name]
        attrs = ["CPUs=%d" % image["vcpus"], "RealMemory=%d" % image["real_memory_mb"]]
        if image["gres"]:
            attrs.append("Gres=%s:%d" % (image["gres"], image["gres_count"]))
        if image["feature"]:
            attrs.append("Features=%s" % image["feature"])
        attrs.append("State=FUTURE")
        lines.append("# image %s: %d hosts, pool %s" % (name, len(image["hosts"]), image["pool"]))
        if image["network"]["node_addr"]:
            for host in image["hosts"]:
                lines.append("NodeName=%s NodeAddr=%s %s" % (host, vm_ip(image, host), " ".join(attrs)))
        else:
            lines.append("NodeName=%s %s" % (image["pool"], " ".join(attrs)))
        pools.append(image["pool"])
    part = "PartitionName=%s Nodes=%s DefaultTime=%s MaxTime=%s State=UP" % (
        partition, nodeset.normalize(pools), format_duration(default_seconds), format_duration(max_seconds))
    if not re.search(r"(?i)\bDefMemPer(CPU|Node)=", str(partition_options)):
        part += " DefMemPerCPU=%d" % default_mem_per_cpu(images)
    if partition_options:
        part += " " + str(partition_options).strip()
    lines.append(part)
    return "\n".join(lines) + "\n"
