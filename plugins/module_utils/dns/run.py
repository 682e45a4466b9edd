# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read, plan, apply, verify, roll back: what dns_record does, without Ansible.

manage_records() returns a result dict (changed, changes, diff, ...) or raises a
typed error: RecordConflict, ForeignRecords (a name that is not ours, without force),
NameTaken (claim lost: details claim_failed/taken),
a DnsError from the client, or UpdateNotApplied when a query after the update
does not show the records (BIND ignores data next to a CNAME). A failure after
some zone was updated rolls those zones back, so a run leaves all or nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import contextlib

from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import plan
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import MARK_TAG
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.module_exit import finish_module
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.client import (
    DNSPYTHON_IMPORT_ERROR,
    QUERY_TYPES_OF_NAME,
    client_from_params,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.errors import (
    DnsError,
    DnsPrerequisiteFailed,
    ForeignRecords,
    NameTaken,
    RecordConflict,
    UpdateNotApplied,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.model import Item, NameState
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.names import (
    absolute_name,
    in_zone,
    normalize_zone,
    relative_label,
    reverse_name,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.ownership_mark import MARK_RDATA_PREFIX, parse_mark
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.zone_check import check_zones
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.records import (
    forward_items,
    merge_items,
    ptr_item,
    record_spec,
)

RecordsRequest = collections.namedtuple("RecordsRequest", "specs state claim replace reverse_zone force")


def build_request(params):
    """A RecordsRequest from module parameters: top-level name/ip/... or a records: list."""
    record_keys = ("name", "ip", "type", "value", "ttl", "ptr", "mark", "zone")
    defaults = {k: params.get(k) for k in ("ttl", "ptr", "zone", "mark")}
    records = params.get("records")
    if records and params.get("name"):
        raise InvalidInput("give either name (one record) or records (a list), not both")
    if not records:
        if not params.get("name"):
            raise InvalidInput("give name (one record) or records (a list)")
        records = [{k: params.get(k) for k in record_keys}]
    specs = [record_spec(record, defaults) for record in records]
    return RecordsRequest(specs=specs, state=params.get("state") or "present", claim=bool(params.get("claim")),
                          replace=bool(params.get("replace")), reverse_zone=normalize_zone(params.get("reverse_zone")),
                          force=bool(params.get("force")))


def _read(client, items, marks=True):
    """{name: NameState} for the names of items, read zone by zone; with marks, the TXT RRset of every name too
    (a name's ownership mark decides whether it is ours)."""
    by_zone = collections.OrderedDict()
    for item in items:
        types = by_zone.setdefault(item.zone, collections.OrderedDict()).setdefault(item.name, set())
        types.update([item.rtype, "TXT"] if marks else [item.rtype])
    current = {}
    for zone, names in by_zone.items():
        current.update(client.read_names(zone, names))
    return current


def _zone_for(client, fqdn, given):
    if given:
        if not in_zone(fqdn, given):
            raise InvalidInput("%s is not inside zone %s" % (fqdn, given))
        return given
    return client.find_zone(fqdn)


def _desired_items(client, request):
    """(forward items, ptr specs) with zones resolved."""
    forward, ptr_wanted = [], []
    for spec in request.specs:
        fqdn = absolute_name(spec.name, spec.zone)
        zone = _zone_for(client, fqdn, spec.zone)
        forward.extend(forward_items(spec, fqdn, zone, request.state))
        if spec.ptr:
            ptr_wanted.append((spec, fqdn))
    return merge_items(forward), ptr_wanted


def _ptr_items(client, request, ptr_wanted, current):
    items = []
    for spec, fqdn in ptr_wanted:
        if spec.values is not None:
            ips = spec.values
        else:  # absent by name only: the PTRs of the addresses the name holds now
            ips = sorted(current.get(fqdn, NameState()).rrset(spec.rtype)[1])
        for ip in ips:
            rname = reverse_name(ip)
            zone = _zone_for(client, rname, request.reverse_zone)
            items.append(ptr_item(ip, fqdn, spec.ttl, zone))
    return merge_items(items)


def _taken_details(taken, current):
    details = []
    for name in taken:
        rrsets = current.get(name, NameState()).rrsets
        details.append(dict(name=name, records={t: sorted(v) for t, (_ttl, v) in rrsets.items() if v}))
    return details


def _refuse_foreign(client, names, items):
    """ForeignRecords for names that are not ours, with everything they hold (read again, every type)."""
    zones = {item.name: item.zone for item in items}
    held = {}
    for name in names:
        state = client.read_names(zones[name], {name: set(QUERY_TYPES_OF_NAME)})[name]
        held[name] = plan.held_records(state)
    words = []
    for name in names:
        records = ", ".join("%s %s" % (rtype, " ".join(values)) for rtype, values in held[name].items())
        words.append("%s holds %s" % (name, records or "records of other types"))
    return ForeignRecords(
        "not ours: %s, without the %s ownership mark (a PTR counts as ours only when it points at this task's "
        "names); nothing was changed; set force=true to change or remove them" % ("; ".join(words), MARK_TAG),
        foreign=[dict(name=name, records=held[name]) for name in names])


def _rollback(client, applied):
    """Undo applied zone groups, newest first. Returns a list of rollback errors (strings)."""
    problems = []
    for zone, changes in reversed(applied):
        try:
            client.update(zone, [plan.inverse(c) for c in changes])
        except DnsError as exc:
            problems.append("%s: %s" % (zone, exc.message))
    return problems


def _apply(client, groups, request, items):
    """Send one UPDATE (or a few, if too large) per zone; roll back on failure."""
    applied = []
    for zone, changes in groups.items():
        try:
            client.update(zone, changes)
        except DnsError as exc:
            problems = _rollback(client, applied)
            exc.details.update(rolled_back=[z for z, _c in applied], rollback_errors=problems)
            if request.claim and isinstance(exc, DnsPrerequisiteFailed) and exc.details.get("rcode") == "YXDOMAIN":
                # lost a race: find out which names the other claimant took
                current = _read(client, items)
                _changes, taken = plan.plan_claim(items, current)
                raise NameTaken(
                    "claim failed: name(s) taken by a concurrent update: %s" % ", ".join(taken or ["(unknown)"]),
                    claim_failed=True, taken=taken, taken_records=_taken_details(taken, current),
                    rolled_back=[z for z, _c in applied], rollback_errors=problems) from None
            raise
        applied.append((zone, changes))
    return applied


def _verify(client, changes, applied):
    """Query every changed RRset; roll everything back if one did not land."""
    touched = [Item(c.name, c.rtype, c.after, c.ttl, None, c.zone) for c in changes]
    current = _read(client, touched, marks=False)
    missing = plan.unapplied(changes, current)
    if not missing:
        return
    missed = {(c.name, c.rtype) for c in missing}
    landed = [(zone, [c for c in group if (c.name, c.rtype) not in missed]) for zone, group in applied]
    problems = _rollback(client, [(zone, group) for zone, group in landed if group])
    hints = []
    for change in missing:
        now = current.get(change.name, NameState()).rrset(change.rtype)[1]
        hint = "%s %s is %s, expected %s" % (change.name, change.rtype, sorted(now), sorted(change.after))
        cname = current.get(change.name, NameState()).rrset("CNAME")[1]
        if cname and change.rtype != "CNAME":
            hint += " (the name holds a CNAME to %s; the server ignores other data next to a CNAME)" % sorted(cname)[0]
        elif change.rtype == "CNAME" and change.after:
            hint += " (a CNAME cannot sit next to other data at the same name)"
        hints.append(hint)
    raise UpdateNotApplied("the server accepted the update but did not apply it: %s; rolled back the rest"
                           % "; ".join(hints), not_applied=[plan.change_result(c) for c in missing],
                           rollback_errors=problems, cause="verification by query after the update failed")


def manage_records(client, request, check_mode=False):
    forward, ptr_wanted = _desired_items(client, request)
    current = _read(client, forward)
    reverse = _ptr_items(client, request, ptr_wanted, current)
    if reverse:
        current.update(_read(client, reverse))
    items = forward + reverse
    if request.state == "absent":
        changes = plan.plan_absent(items, current)
        foreign = plan.foreign_names([c.name for c in changes], items, current)
        if foreign and not request.force:
            raise _refuse_foreign(client, foreign, items)
    elif request.claim:
        changes, taken = plan.plan_claim(items, current)
        if taken:
            raise NameTaken("claim failed: name(s) already in use: %s" % ", ".join(taken), claim_failed=True,
                            taken=taken, taken_records=_taken_details(taken, current))
    else:
        changes, conflicts = plan.plan_present(items, current, request.replace)
        foreign = plan.foreign_names([c.name for c in changes] + [c["name"] for c in conflicts], items, current)
        if foreign and not request.force:
            raise _refuse_foreign(client, foreign, items)
        if conflicts:
            raise RecordConflict(
                "name(s) hold other data; set replace=true to overwrite: %s" % "; ".join(
                    "%s %s has %s, wanted %s" % (c["name"], c["type"], c["current"], c["wanted"]) for c in conflicts),
                conflicts=conflicts)
    groups = plan.group_by_zone(changes)
    result = dict(changed=bool(changes), changes=[plan.change_result(c) for c in changes], zones=list(groups),
                  diff=plan.diff_of(changes), claim_failed=False, taken=[], updates=0)
    if changes and not check_mode:
        before = client.stats["updates"]
        applied = _apply(client, groups, request, items)
        _verify(client, changes, applied)
        result["updates"] = client.stats["updates"] - before
    return result


def list_records(client, zone=None, prefix=None, names=None, types=None, owned_only=False):
    """Records under a zone (AXFR, optionally by name prefix) or at given names, with their marks."""
    wanted_types = {t.upper() for t in types} if types else None
    states = {}
    zones = []
    if names:
        by_zone = collections.OrderedDict()
        for name in names:
            fqdn = absolute_name(name, zone)
            by_zone.setdefault(_zone_for(client, fqdn, zone), collections.OrderedDict())[fqdn] = set(
                wanted_types or QUERY_TYPES_OF_NAME)
        for name_zone, name_types in by_zone.items():
            zones.append(name_zone)
            states.update((n, (name_zone, s)) for n, s in client.read_names(name_zone, name_types).items())
    else:
        if not zone:
            raise InvalidInput("give zone (to list it) or names")
        zones.append(zone)
        states.update((n, (zone, s)) for n, s in client.transfer(zone).items())
    records, owners = [], []
    for fqdn in sorted(states):
        name_zone, state = states[fqdn]
        label = relative_label(fqdn, name_zone)
        if prefix and not (label.startswith(prefix.lower()) or fqdn.startswith(prefix.lower())):
            continue
        if not state.exists:
            continue
        marks = [parse_mark(v) for v in state.rrset("TXT")[1] if v.startswith(MARK_RDATA_PREFIX)]
        mark = marks[0] if marks else None
        if owned_only and mark is None:
            continue
        entry = dict(name=fqdn, label=label, zone=name_zone, mark=mark, owned=mark is not None, records={})
        for rtype, (ttl, values) in sorted(state.rrsets.items()):
            if wanted_types and rtype not in wanted_types:
                continue
            if rtype in ("SOA", "NS") and fqdn == name_zone and not wanted_types:
                continue
            entry["records"][rtype] = sorted(values)
            for value in sorted(values):
                records.append(dict(name=fqdn, zone=name_zone, type=rtype, ttl=ttl, value=value,
                                    owned=mark is not None))
        if entry["records"]:
            owners.append(entry)
    return dict(changed=False, zones=zones, records=records, names=owners,
                owned=[e["name"] for e in owners if e["owned"]])


def run_dns_record(module):
    """The whole of dns_record's work; exits the module."""
    def work():
        request = build_request(module.params)
        with contextlib.closing(client_from_params(module.params)) as client:
            return manage_records(client, request, check_mode=module.check_mode)

    finish_module(module, work, required_library=("dnspython", DNSPYTHON_IMPORT_ERROR),
                  failure_keys=dict(claim_failed=False, taken=[], changed=False), catch_all=True)


def run_dns_record_info(module):
    """The whole of dns_record_info's work; exits the module."""
    params = module.params

    def work():
        with contextlib.closing(client_from_params(params)) as client:
            return list_records(client, zone=normalize_zone(params["zone"]), prefix=params["prefix"],
                                names=params["names"], types=params["types"], owned_only=params["owned_only"])

    finish_module(module, work, required_library=("dnspython", DNSPYTHON_IMPORT_ERROR), catch_all=True)


def run_dns_zone_check(module):
    """The whole of dns_zone_check's work; exits the module."""
    params = module.params

    def work():
        with contextlib.closing(client_from_params(params)) as client:
            return check_zones(client, params["zones"], params["probe_label"])

    finish_module(module, work, required_library=("dnspython", DNSPYTHON_IMPORT_ERROR), catch_all=True,
                  failure_keys=dict(changed=False, server="%s:%s" % (params["server"], params["port"])))
