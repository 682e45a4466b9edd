# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module_defaults of the collection's action groups, built once from the site variables.

Every play that runs this collection's roles sets (playbooks/scheduler.yml, playbooks/gc.yml):

  module_defaults:
    group/hpc.slurm_vm.dns: "{{ slurm_vm_dns | hpc.slurm_vm.dns_defaults }}"
    group/hpc.slurm_vm.dhcp: "{{ slurm_vm_dhcp | hpc.slurm_vm.dhcp_defaults }}"
    group/hpc.slurm_vm.slurm: "{{ slurm_vm_vm_cluster | hpc.slurm_vm.slurm_defaults }}"
    hpc.slurm_vm.slurm_host_job: "{{ slurm_vm_host_cluster | hpc.slurm_vm.slurm_defaults }}"
    group/hpc.slurm_vm.libvirt: >-
      {{ slurm_vm_libvirt_uri | default(none)
         | hpc.slurm_vm.libvirt_defaults(slurm_vm_vm_dir, slurm_vm_image_dir | default(none)) }}

so the roles pass only what is per task. Ansible gives a module every key of its group's
defaults and the module fails on a key it does not know, so each filter returns only options
every module of the group accepts (their shared argument specs), and refuses a site key it
does not know rather than let a typo fall back to a module default.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

# the option modules import nothing else: this filter runs in the worker of every module task of the groups
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.connection_options import site_argument_spec
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.connection_options import DNS_CONNECTION_ARGSPEC
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.connection_options import SLURM_ARGUMENT_SPEC

# slurm_vm_dns names the TSIG key's fields after the key; the modules after their options.
DNS_SITE_NAMES = {"tsig_key_name": "key_name", "tsig_secret": "key_secret", "tsig_algorithm": "key_algorithm"}
# Keys of slurm_vm_dns that are per task (which zone a task writes or reads), not connection options.
DNS_PER_TASK = ("zone", "reverse_zone")


def _mapping(value, variable):
    if not isinstance(value, dict):
        raise AnsibleFilterError("%s must be a dict, got %s" % (variable, type(value).__name__))
    return value


def _unknown(value, known, variable):
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise AnsibleFilterError("%s has unknown keys: %s (known: %s)" % (variable, ", ".join(unknown),
                                                                          ", ".join(sorted(known))))


def dns_defaults(site):
    """slurm_vm_dns -> the connection options of dns_record and dns_record_info (group hpc.slurm_vm.dns)."""
    site = _mapping(site, "slurm_vm_dns")
    known = set(DNS_CONNECTION_ARGSPEC) | set(DNS_SITE_NAMES) | set(DNS_PER_TASK)
    _unknown(site, known, "slurm_vm_dns")
    return {DNS_SITE_NAMES.get(key, key): value for key, value in site.items()
            if key not in DNS_PER_TASK and value is not None}


def dhcp_defaults(site):
    """slurm_vm_dhcp -> the backend, every backend's connection options and the subnet, for dhcp_host and
    dhcp_host_info (group hpc.slurm_vm.dhcp). slurm_vm_dhcp uses the options' own names."""
    site = _mapping(site, "slurm_vm_dhcp")
    _unknown(site, site_argument_spec(), "slurm_vm_dhcp")
    return {key: value for key, value in site.items() if value is not None}


def slurm_defaults(cluster):
    """slurm_vm_host_cluster or slurm_vm_vm_cluster -> the options of the Slurm modules that select the cluster:
    slurm_conf, and cluster when the site dict sets it (it addresses the cluster through slurmdbd; the
    dict's other keys, such as name and partition, describe the cluster and are not module options).

    Every option is returned, None when unset: the host cluster's defaults for slurm_host_job override
    the VM cluster's group defaults key by key, so none of the VM cluster's may show through.
    """
    cluster = _mapping(cluster, "the cluster")
    return {key: cluster.get(key) for key in SLURM_ARGUMENT_SPEC}


def libvirt_defaults(uri=None, state_dir=None, image_dir=None):
    """slurm_vm_libvirt_uri, slurm_vm_vm_dir, slurm_vm_image_dir -> the options of libvirt_guest and
    libvirt_guest_info (group hpc.slurm_vm.libvirt); an unset one keeps the module's default (for image_dir
    /var/lib/hpc-slurm-vm/images: the images are confined to a directory either way)."""
    given = {"uri": uri, "state_dir": state_dir, "image_dir": image_dir}
    return {key: value for key, value in given.items() if value}


class FilterModule(object):
    def filters(self):
        return {
            "dns_defaults": dns_defaults,
            "dhcp_defaults": dhcp_defaults,
            "slurm_defaults": slurm_defaults,
            "libvirt_defaults": libvirt_defaults,
        }
