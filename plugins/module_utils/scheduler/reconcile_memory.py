# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reconciler's memory and grace period: a record orphaned for the first time starts its
clock, one orphaned for `grace` seconds goes, one that turns live or disappears is forgotten.
The memory ({record key: epoch first seen orphaned}) is what reconcile_run keeps between runs. Pure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput


class ReconcileInputError(InvalidInput):
    """An input of the reconciler is not what the _info modules return."""


def record_key(kind, where, identity):
    """The first-seen memory key of one record."""
    return "%s|%s|%s" % (kind, where, identity)


def _age(seconds):
    seconds = int(seconds)
    if seconds < 120:
        return "%ds" % seconds
    if seconds < 7200:
        return "%dm" % (seconds // 60)
    return "%dh%02dm" % (seconds // 3600, (seconds % 3600) // 60)


class OrphanCollector(object):
    """Sorts each orphan into `remove` or `waiting` by the grace period, and keeps the memory."""

    def __init__(self, now, grace, first_seen, only_hosts=None):
        self.only_hosts = only_hosts
        self.now = now
        self.grace = grace
        self.previous = first_seen
        self.memory = {}
        self.remove = []
        self.waiting = []

    def orphan(self, item, why):
        key = item["key"]
        if self.only_hosts is not None and item["hostname"] not in self.only_hosts:
            if key in self.previous:  # not judged in this run: its clock runs on
                self.memory[key] = self.previous[key]
            return
        first = self.previous.get(key, self.now)
        if first > self.now:  # a clock step back: start again rather than wait forever
            first = self.now
        self.memory[key] = first
        age = self.now - first
        item = dict(item, first_seen=first, orphaned_for=age)
        if age >= self.grace:
            item["reason"] = "%s (orphaned for %s, grace %s)" % (why, _age(age), _age(self.grace))
            self.remove.append(item)
        else:
            item["reason"] = "%s (orphaned for %s, removed after %s)" % (why, _age(age), _age(self.grace))
            self.waiting.append(item)

    def keep_unobserved(self, kinds_wheres):
        """Memory of records this run did not look at (an unread hypervisor) is kept as it was."""
        for key, first in self.previous.items():
            kind, _sep, rest = key.partition("|")
            where = rest.partition("|")[0]
            if (kind, where) in kinds_wheres or (kind, None) in kinds_wheres:
                continue
            self.memory.setdefault(key, first)


def validate_first_seen(first_seen):
    memory = {}
    for key, value in (first_seen or {}).items():
        try:
            memory[str(key)] = int(value)
        except (TypeError, ValueError) as exc:
            raise ReconcileInputError("first-seen memory: %r is not an epoch for %s" % (value, key)) from exc
    return memory
