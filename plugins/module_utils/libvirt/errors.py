# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The typed errors of the libvirt subpackage (the modules turn them into fail_json)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput, SlurmVmError


class LibvirtError(SlurmVmError):
    """A libvirt call failed."""


class LibvirtConnectionError(LibvirtError):
    """libvirtd cannot be reached at the URI (down, unknown driver, no permission)."""


class DomainNotOwned(LibvirtError):
    """The domain exists but carries no hpc.slurm_vm metadata; only force changes or removes it."""


class DomainOperationFailed(LibvirtError):
    """libvirt refused or failed an operation on a domain."""


class WaitTimeout(LibvirtError):
    """wait_for did not see its condition in time; carries the last console lines."""


class GuestFileError(LibvirtError):
    """Creating or removing an overlay, tmp disk or console log failed."""


class DiskSpaceError(InvalidInput):
    """The tmp disk would not fit into the free space of its directory."""


class BaseImageChanged(LibvirtError):
    """A base image's content differs from the version recorded for it (it was overwritten in place):
    no overlay is made on it, and nothing else is created either."""
