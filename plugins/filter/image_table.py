# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the image table (slurm_vm_images): pool lines, pool hosts, MAC and IP."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import pool_conf as pool_conf_lines
from ansible_collections.hpc.slurm_vm.plugins.plugin_utils.filter_errors import raises_filter_error


def _table(images):
    return image_table.normalize_table(images)


@raises_filter_error
def normalized_image_table(images):
    """The table with every default filled in and every entry validated."""
    return _table(images)


@raises_filter_error
def pool_conf(images, partition="vms", max_time="7-00:00:00", default_time="01:00:00",
              extra_gres_types=(), partition_options=""):
    """slurm.conf lines (GresTypes, FUTURE nodes, partition) for the VM cluster."""
    return pool_conf_lines.render_pool_conf(
        _table(images), partition=partition, max_time=max_time, default_time=default_time,
        extra_gres_types=extra_gres_types, partition_options=partition_options)


@raises_filter_error
def pool_hosts(images, image):
    """Every hostname in one image's pool, in order."""
    return list(image_table.get_image(_table(images), image)["hosts"])


@raises_filter_error
def pool_addresses(images, image):
    """[{hostname, mac, ip}] for one image's pool."""
    return image_table.pool_addresses(image_table.get_image(_table(images), image))


@raises_filter_error
def vm_mac(hostname, images):
    """The MAC address of a pool host."""
    table = _table(images)
    return image_table.vm_mac(image_table.image_of_host(table, hostname), hostname)


@raises_filter_error
def vm_ip(hostname, images):
    """The IP address of a pool host."""
    table = _table(images)
    return image_table.vm_ip(image_table.image_of_host(table, hostname), hostname)


@raises_filter_error
def vm_image(hostname, images):
    """The name of the image whose pool holds hostname."""
    return image_table.image_of_host(_table(images), hostname)["name"]


class FilterModule(object):
    def filters(self):
        return {
            "normalized_image_table": normalized_image_table,
            "pool_conf": pool_conf,
            "pool_hosts": pool_hosts,
            "pool_addresses": pool_addresses,
            "vm_mac": vm_mac,
            "vm_ip": vm_ip,
            "vm_image": vm_image,
        }
