# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""User input -> records: validated RecordSpecs, then the desired Items at each owner name."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.model import Item, RecordSpec
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.names import absolute_name, parse_ip, reverse_name
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.ownership_mark import MARK_RDATA_PREFIX, format_mark
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.rdata import SUPPORTED_TYPES, canonical_value, txt_rdata

ADDRESS_TYPES = ("A", "AAAA")
DEFAULT_TTL = 300


def record_spec(record, defaults):
    """Validate one record (the module's top-level options or one `records:` entry)."""
    merged = dict(defaults)
    merged.update({k: v for k, v in record.items() if v is not None})
    name = merged.get("name")
    if not name:
        raise InvalidInput("every record needs a name")
    zone = absolute_name(merged["zone"]) if merged.get("zone") else None
    rtype = (merged.get("type") or "").upper() or None
    values = merged.get("value")
    if values is not None and not isinstance(values, list):
        values = [values]
    if merged.get("ip") is not None:
        rtype, values = _address_type_and_values(name, merged["ip"], rtype, values)
    rtype = rtype or "A"
    if rtype not in SUPPORTED_TYPES:
        raise InvalidInput("record %s: type %s is not supported (one of %s)"
                           % (name, rtype, ", ".join(SUPPORTED_TYPES)))
    if rtype == "CNAME" and values and len(values) > 1:
        raise InvalidInput("record %s: a CNAME takes exactly one value" % name)
    ttl = merged.get("ttl")
    ttl = DEFAULT_TTL if ttl is None else int(ttl)
    if not 0 <= ttl <= 2147483647:
        raise InvalidInput("record %s: ttl %s is out of range" % (name, ttl))
    ptr = bool(merged.get("ptr"))
    if ptr and rtype not in ADDRESS_TYPES:
        raise InvalidInput("record %s: ptr needs an A or AAAA record (ip)" % name)
    mark = merged.get("mark")
    if mark is not None and not isinstance(mark, dict):
        raise InvalidInput("record %s: mark must be a dict with vm, image, job" % name)
    return RecordSpec(name=name, rtype=rtype, values=values, ttl=ttl, ptr=ptr, mark=mark, zone=zone)


def _address_type_and_values(name, ip, rtype, values):
    """(A or AAAA, the addresses) for a record given by `ip`; the type, if given, must agree."""
    if values:
        raise InvalidInput("record %s: give either ip or value, not both" % name)
    ips = ip if isinstance(ip, list) else [ip]
    versions = {parse_ip(one).version for one in ips}
    if len(versions) != 1:
        raise InvalidInput("record %s: mix of IPv4 and IPv6 in ip; use two records" % name)
    inferred = "A" if versions == {4} else "AAAA"
    if rtype not in (None, inferred):
        raise InvalidInput("record %s: ip %s needs type %s, not %s" % (name, ips[0], inferred, rtype))
    return inferred, ips


def forward_items(spec, fqdn, zone, state):
    """The desired Items at the forward name of one spec (values None: 'any value', for absent)."""
    items = []
    values = None
    if spec.values is not None:
        values = frozenset(canonical_value(spec.rtype, v, zone) for v in spec.values)
    elif state == "present":
        raise InvalidInput("record %s: state=present needs ip or value" % spec.name)
    items.append(Item(fqdn, spec.rtype, values, spec.ttl, None, zone))
    if spec.mark is not None:
        host = fqdn.split(".", 1)[0]
        mark = txt_rdata(format_mark(spec.mark, default_vm=host))
        items.append(Item(fqdn, "TXT", frozenset([mark]), spec.ttl, MARK_RDATA_PREFIX, zone))
    elif state == "absent" and spec.values is None:
        # removing a name the collection created also removes its mark
        items.append(Item(fqdn, "TXT", None, spec.ttl, MARK_RDATA_PREFIX, zone))
    return items


def ptr_item(ip, fqdn, ttl, zone):
    return Item(reverse_name(ip), "PTR", frozenset([fqdn]), ttl, None, zone)


def merge_items(items):
    """One Item per (name, type); identical duplicates fold, contradictory ones are an error."""
    merged = collections.OrderedDict()
    for item in items:
        key = (item.name, item.rtype)
        seen = merged.get(key)
        if seen is None:
            merged[key] = item
            continue
        if seen == item:
            continue
        if seen.rtype == "TXT" and (seen.partial is None) != (item.partial is None):
            whole, part = (seen, item) if seen.partial is None else (item, seen)
            merged[key] = whole._replace(values=whole.values | (part.values or frozenset()))
            continue
        raise InvalidInput("%s %s is given twice with different values (%s / %s)" % (
            item.name, item.rtype, sorted(seen.values or []), sorted(item.values or [])))
    return list(merged.values())
