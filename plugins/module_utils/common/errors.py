# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors shared by every client and planner of hpc.slurm_vm.

Clients raise these and never call fail_json; each module's main() turns
them into one clear failure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class SlurmVmError(Exception):
    """Base class of every error this collection raises on purpose."""

    def __init__(self, message, **details):
        super(SlurmVmError, self).__init__(message)
        self.message = message
        self.details = details

    def to_result(self):
        """Keyword arguments for fail_json: the message plus machine-readable details."""
        result = dict(msg=self.message, error=type(self).__name__)
        result.update(self.details)
        return result


class InvalidInput(SlurmVmError):
    """A value given by the user is malformed or inconsistent."""


class ImageTableError(InvalidInput):
    """The slurm_vm_images table is invalid."""


class UnknownImage(InvalidInput):
    """An image name that the table does not define."""


class NotInPool(InvalidInput):
    """A hostname that belongs to no image's pool."""


def require_library(import_error, library, purpose):
    """Raise InvalidInput when an optional Python library could not be imported.

    import_error: the traceback text its guarded import kept (None when it worked). The error's details name
    the library, so a module can report it with missing_required_lib.
    """
    if import_error is not None:
        raise InvalidInput("the Python library %s is required for %s" % (library, purpose),
                           exception=import_error, library=library)
