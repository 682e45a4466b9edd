# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Slurm client: scontrol as argv lists, parsed output, typed errors.

The text scontrol prints is read by slurm/parse.py, the one parse layer. The
client never calls fail_json: the modules' main() turns its typed errors into
one failure.

The runner is injected (common/runner.py: run(argv, env=None, changes=False,
data=None) -> CommandResult): unit tests replay captured real scontrol output
through a fake with the same interface.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import nodeset
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.runner import CommandError
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput, SlurmVmError
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm.parse import parse_nodes, parse_reservations

# Shared by every Slurm-facing module (doc fragment hpc.slurm_vm.slurm).


# ---------------------------------------------------------------- errors
class SlurmError(SlurmVmError):
    """Base class of the Slurm client's errors."""


class SlurmConfNotFound(InvalidInput):
    """slurm_conf names a file that does not exist."""


class SlurmCommandError(CommandError):
    """scontrol failed in a way the client does not map to a more precise error."""


class UnknownNodes(InvalidInput):
    """Node names that the cluster does not define (not even as FUTURE nodes)."""


class ReservationError(SlurmCommandError):
    """A reservation command that Slurm refused; nothing was created or changed."""


class ReservationExists(ReservationError):
    pass


class ReservationOverlap(ReservationError):
    pass


class ReservationNodesBusy(ReservationError):
    pass


class ReservationInvalidNodes(ReservationError):
    pass


class ReservationNeedsUsers(ReservationError):
    pass


class ReservationInvalidUser(ReservationError):
    pass


# Slurm's messages (22.05, seen in the lab) -> the error to raise.
_RESERVATION_ERRORS = (
    ("Duplicate reservation name", ReservationExists),
    ("overlaps with another reservation", ReservationOverlap),
    ("Requested nodes are busy", ReservationNodesBusy),
    ("Invalid node name specified", ReservationInvalidNodes),
    ("Users/Groups and/or Accounts must be specified", ReservationNeedsUsers),
    ("Invalid user id", ReservationInvalidUser),
)


# ---------------------------------------------------------------- client
class SlurmClient(object):
    """Talks to one cluster: SLURM_CONF=slurm_conf, and -M cluster when cluster is set."""

    def __init__(self, runner, slurm_conf=None, cluster=None):
        if slurm_conf is not None and not os.path.isfile(slurm_conf):
            raise SlurmConfNotFound("slurm_conf %s does not exist (or is not a file)" % slurm_conf,
                                    slurm_conf=slurm_conf)
        self.runner = runner
        self.slurm_conf = slurm_conf
        self.cluster = cluster
        self.env = {"SLURM_CONF": slurm_conf} if slurm_conf else {}

    def scontrol(self, args, changes=False):
        argv = ["scontrol"]
        if self.cluster:
            argv += ["--clusters", self.cluster]
        return self.runner.run(argv + list(args), env=self.env, changes=changes)

    @staticmethod
    def _fail(result, message, cls=SlurmCommandError):
        detail = result.output.strip()
        return cls("%s: %s" % (message, detail) if detail else message, cmd=list(result.argv),
                   rc=result.rc, stdout=result.stdout, stderr=result.stderr)

    # ----- nodes
    def show_nodes(self, names, expression=None):
        """All named nodes (FUTURE included) in one call; UnknownNodes if any is not defined.

        expression: `names` already folded (folding 1,000 names costs ~70 ms).
        """
        if not names:
            return {}
        result = self.scontrol(["-F", "-o", "show", "node", expression or nodeset.fold(names)])
        nodes = parse_nodes(result.stdout)
        missing = [name for name in names if name not in nodes]
        if missing:
            if result.rc != 0 and not nodes and "not found" not in result.output:
                raise self._fail(result, "scontrol show node failed")
            raise UnknownNodes("unknown node(s) in this cluster: %s" % nodeset.fold(missing),
                               unknown_nodes=missing)
        if result.rc != 0:
            raise self._fail(result, "scontrol show node failed")
        return nodes

    def update_nodes(self, names, state, reason=None, expression=None):
        """One `scontrol update nodename=<hostlist> state=...`; raises SlurmCommandError."""
        args = ["update", "nodename=%s" % (expression or nodeset.fold(names)), "state=%s" % state]
        if reason is not None:
            args.append("reason=%s" % reason)
        result = self.scontrol(args, changes=True)
        if result.rc != 0:
            raise self._fail(result, "scontrol update state=%s failed" % state)
        return result

    # ----- reservations
    def reservations(self):
        result = self.scontrol(["-o", "show", "reservation"])
        if result.rc != 0:
            raise self._fail(result, "scontrol show reservation failed")
        return parse_reservations(result.stdout)

    def reservation(self, name):
        """One reservation's record, or None when it does not exist."""
        result = self.scontrol(["-o", "show", "reservation", name])
        if result.rc != 0:
            if "not found" in result.output:
                return None
            raise self._fail(result, "scontrol show reservation %s failed" % name)
        records = [r for r in parse_reservations(result.stdout) if r.get("ReservationName") == name]
        return records[0] if records else None

    def _reservation_command(self, args, what):
        result = self.scontrol(args, changes=True)
        if result.rc != 0:
            for needle, cls in _RESERVATION_ERRORS:
                if needle in result.output:
                    raise self._fail(result, what, cls=cls)
            raise self._fail(result, what)
        return result

    def create_reservation(self, args):
        """args: ['ReservationName=x', 'Nodes=...', ...]. Slurm creates it whole or not at all."""
        return self._reservation_command(["create", "reservation"] + list(args), "could not create the reservation")

    def update_reservation(self, name, args):
        """One update with every changed field; Slurm applies all of them or none."""
        return self._reservation_command(["update", "ReservationName=%s" % name] + list(args),
                                         "could not update reservation %s" % name)

    def delete_reservation(self, name):
        """True when deleted, False when it did not exist."""
        result = self.scontrol(["delete", "ReservationName=%s" % name], changes=True)
        if result.rc != 0:
            if "Requested reservation is invalid" in result.output:
                return False
            raise self._fail(result, "could not delete reservation %s" % name)
        return True
