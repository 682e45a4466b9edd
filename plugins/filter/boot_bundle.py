# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the boot bundle: per-VM tokens and the guest's slurm.conf."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.hpc.slurm_vm.plugins.module_utils.provision import bundle as boot_bundle
from ansible_collections.hpc.slurm_vm.plugins.plugin_utils.filter_errors import raises_filter_error


@raises_filter_error
def vm_boot_token(hostname, secret, length=32):
    """The per-VM token: HMAC-SHA256(secret, hostname), first `length` hex digits."""
    return boot_bundle.vm_token(hostname, secret, length)


@raises_filter_error
def slurm_conf_includes(text):
    """Absolute paths the slurm.conf includes."""
    return boot_bundle.slurm_conf_includes(text)


@raises_filter_error
def guest_slurm_conf(text, guest_etc, extra_includes=()):
    """The slurm.conf with its Include lines pointing into the bundle's etc folder."""
    return boot_bundle.guest_slurm_conf(text, guest_etc, extra_includes)


@raises_filter_error
def guest_slurm_dirs(text, hostname=None):
    """{munge_socket, dirs}: what slurmd and munged need in the guest."""
    return boot_bundle.guest_dirs(text, hostname)


class FilterModule(object):
    def filters(self):
        return {
            "vm_boot_token": vm_boot_token,
            "slurm_conf_includes": slurm_conf_includes,
            "guest_slurm_conf": guest_slurm_conf,
            "guest_slurm_dirs": guest_slurm_dirs,
        }
