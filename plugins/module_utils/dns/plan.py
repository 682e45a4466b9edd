# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure planning for RFC 2136 record management (no I/O, no dnspython): wanted Items -> Changes.

The Items come from dns/records.py, the NameStates from the server through
dns/client.py; the data flow is described in dns/model.py. Each Change is one
RRset going from `before` to `after`, guarded by a prerequisite.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections

from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.model import (
    PREREQ_NAME_ABSENT,
    PREREQ_RRSET,
    Change,
    NameState,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.names import is_reverse_zone
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.ownership_mark import MARK_RDATA_PREFIX


def _ours(values, item):
    return frozenset(v for v in values if v.startswith(item.partial)) if item.partial else values


def plan_present(items, current, replace=False):
    """Changes that make `items` present; (changes, conflicts) where conflicts block the update."""
    changes, conflicts = [], []
    for item in items:
        cur_ttl, cur = current.get(item.name, NameState()).rrset(item.rtype)
        ours = _ours(cur, item)
        if ours and ours != item.values and not replace:
            conflicts.append(dict(name=item.name, type=item.rtype, current=sorted(ours), wanted=sorted(item.values)))
            continue
        after = (cur - ours) | item.values
        ttl = item.ttl
        if item.partial and cur - ours:
            ttl = cur_ttl  # the RRset holds records that are not ours: keep its TTL
        if after == cur and ttl == cur_ttl:
            continue
        changes.append(Change(item.zone, item.name, item.rtype, cur, cur_ttl, after, ttl, PREREQ_RRSET))
    return changes, conflicts


def plan_absent(items, current):
    """Changes that remove `items` (values None: the whole RRset, or all our marks)."""
    changes = []
    for item in items:
        cur_ttl, cur = current.get(item.name, NameState()).rrset(item.rtype)
        ours = _ours(cur, item)
        remove = ours if item.values is None else ours & item.values
        if not remove:
            continue
        after = cur - remove
        changes.append(Change(item.zone, item.name, item.rtype, cur, cur_ttl, after,
                              cur_ttl if after else None, PREREQ_RRSET))
    return changes


def plan_claim(items, current):
    """Changes that claim every name of `items`: (changes, taken).

    A name is free when it does not exist at all. A name that already holds exactly
    the wanted records, including an ownership mark, is this claim's own (a re-run):
    nothing to do. Any other existing name is taken.
    """
    by_name = collections.OrderedDict()
    for item in items:
        by_name.setdefault(item.name, []).append(item)
    changes, taken = [], []
    for name, wanted in by_name.items():
        state = current.get(name, NameState())
        if not state.exists:
            changes.extend(Change(i.zone, i.name, i.rtype, frozenset(), None, i.values, i.ttl, PREREQ_NAME_ABSENT)
                           for i in wanted)
            continue
        marked = any(i.partial for i in wanted) or all(i.rtype == "PTR" for i in wanted)
        want = {i.rtype: i.values for i in wanted}
        have = {rtype: values for rtype, (_ttl, values) in state.rrsets.items() if values}
        if not (marked and have == want):
            taken.append(name)
    return changes, taken


def held_records(state):
    """{type: sorted values} of the non-empty RRsets a NameState holds."""
    return {rtype: sorted(values) for rtype, (_ttl, values) in sorted(state.rrsets.items()) if values}


def _ptr_targets(items):
    """{reverse name: the PTR targets this task gives for it}; None where a PTR is removed without values."""
    targets = {}
    for item in items:
        if item.rtype != "PTR":
            continue
        known = targets.get(item.name, frozenset())
        targets[item.name] = None if item.values is None or known is None else known | item.values
    return targets


def is_ours(state, zone, ptr_targets=frozenset()):
    """Whether a name is this collection's to change or remove (DOCUMENTATION of dns_record, option force).

    Ours: a name that holds nothing (a name that exists with no record we read may hold other types: not
    ours); a name with an ownership mark of any host job; in a reverse zone, a name that holds only PTRs that
    all point at the targets this task gives for it. A CNAME never carries a mark (nothing may sit beside
    it), so an existing CNAME is never ours.
    """
    held = {rtype: values for rtype, (_ttl, values) in state.rrsets.items() if values}
    if not held:
        return not state.exists
    if any(value.startswith(MARK_RDATA_PREFIX) for value in held.get("TXT", ())):
        return True
    return (is_reverse_zone(zone) and set(held) == {"PTR"} and ptr_targets is not None
            and held["PTR"] <= ptr_targets)


def foreign_names(names, items, current):
    """The names of `names` (those a task would change) that are not ours, in order, each once."""
    zones = {item.name: item.zone for item in items}
    targets = _ptr_targets(items)
    foreign = []
    for name in names:
        if name in foreign:
            continue
        if not is_ours(current.get(name, NameState()), zones[name], targets.get(name, frozenset())):
            foreign.append(name)
    return foreign


def inverse(change):
    """The change that undoes `change` once it is applied (used for rollback)."""
    return Change(change.zone, change.name, change.rtype, change.after, change.ttl, change.before,
                  change.before_ttl, PREREQ_RRSET)


def group_by_zone(changes):
    """OrderedDict zone -> changes: forward zones first, then reverse ones, stable within."""
    groups = collections.OrderedDict()
    ordered = [c for c in changes if not is_reverse_zone(c.zone)] + [c for c in changes if is_reverse_zone(c.zone)]
    for change in ordered:
        groups.setdefault(change.zone, []).append(change)
    return groups


def unapplied(changes, current):
    """The changes whose RRset on the server is not what they should have left."""
    return [c for c in changes if current.get(c.name, NameState()).rrset(c.rtype)[1] != c.after]


def render_rrsets(rrsets):
    """Zone-file style lines ('name ttl IN TYPE value'), sorted, for diff output."""
    lines = []
    for (name, rtype), (ttl, values) in sorted(rrsets.items()):
        for value in sorted(values):
            lines.append("%s %s IN %s %s" % (name, ttl if ttl is not None else "-", rtype, value))
    return "\n".join(lines) + ("\n" if lines else "")


def diff_of(changes):
    before = {(c.name, c.rtype): (c.before_ttl, c.before) for c in changes}
    after = {(c.name, c.rtype): (c.ttl, c.after) for c in changes}
    return dict(before=render_rrsets(before), after=render_rrsets(after))


def change_result(change):
    return dict(zone=change.zone, name=change.name, type=change.rtype, ttl=change.ttl,
                before=sorted(change.before), after=sorted(change.after))
