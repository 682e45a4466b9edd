# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure planning for RFC 2136 record management (no I/O, no dnspython).

The flow is: records given by the user -> validated RecordSpec -> desired
Items (owner name, type, values) -> compared with the NameState read from the
server -> Changes, each one RRset going from `before` to `after`, guarded by a
prerequisite (the RRset is exactly `before`, or the whole name is absent for a
claim). Changes are grouped into one UPDATE per zone by the client.

Names are absolute, lower case, with a trailing dot. Values are canonical
presentation text (the form dnspython prints), so that what is read from the
server compares equal to what is wanted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import ipaddress
import re

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import MARK_TAG
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput, SlurmVmError

SUPPORTED_TYPES = ("A", "AAAA", "CNAME", "PTR", "TXT")
ADDRESS_TYPES = ("A", "AAAA")
MARK_FIELDS = ("vm", "image", "job")
# TXT rdata (presentation form) that carries an ownership mark starts with this
MARK_RDATA_PREFIX = '"%s ' % MARK_TAG
DEFAULT_TTL = 300

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_MARK_VALUE = re.compile(r"^[A-Za-z0-9._:@+/-]{1,100}$")

# A prerequisite kind: the RRset must be exactly `before` ...
PREREQ_RRSET = "rrset"
# ... or, for a claim, the owner name must not exist at all (YXDOMAIN otherwise).
PREREQ_NAME_ABSENT = "name_absent"


class RecordConflict(SlurmVmError):
    """A name already holds other data and replace is false."""


class NameTaken(SlurmVmError):
    """A claim found a name in use: the caller should pick another name."""


RecordSpec = collections.namedtuple("RecordSpec", "name rtype values ttl ptr mark zone")
# values: frozenset of canonical rdata; partial: None when the whole RRset is ours,
# else a prefix: only the rdatas starting with it are ours (the TXT ownership mark).
Item = collections.namedtuple("Item", "name rtype values ttl partial zone")
Change = collections.namedtuple("Change", "zone name rtype before before_ttl after ttl prereq")


class NameState(object):
    """What a server holds at one owner name: whether it exists and its RRsets."""

    def __init__(self, exists=False, rrsets=None):
        self.exists = exists
        self.rrsets = dict(rrsets or {})  # rtype -> (ttl, frozenset(values))

    def rrset(self, rtype):
        return self.rrsets.get(rtype, (None, frozenset()))

    def __eq__(self, other):
        return isinstance(other, NameState) and (self.exists, self.rrsets) == (other.exists, other.rrsets)

    def __ne__(self, other):
        return not self == other

    def __repr__(self):
        return "NameState(exists=%r, rrsets=%r)" % (self.exists, self.rrsets)


# ---------------------------------------------------------------- names and values

def absolute_name(name, zone=None):
    """Validate a DNS owner name and make it absolute: lower case, trailing dot.

    A name ending in a dot is absolute. A name without a dot is relative to
    `zone`. A name with a dot but none at the end is taken as fully qualified.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("a DNS name must be a non-empty string, got %r" % (name,))
    text = name.strip().lower()
    if text.endswith("."):
        fqdn = text
    elif "." in text or zone is None:
        if "." not in text:
            raise InvalidInput("%r is not fully qualified: give 'zone' or a name with its domain" % name)
        fqdn = text + "."
    else:
        fqdn = text + "." + absolute_name(zone)
    if fqdn == ".":
        raise InvalidInput("the root name is not a valid record name")
    labels = fqdn[:-1].split(".")
    for label in labels:
        if not _LABEL.match(label):
            raise InvalidInput("invalid label %r in DNS name %r" % (label, name))
    if len(fqdn) > 254:
        raise InvalidInput("DNS name %r is longer than 253 characters" % name)
    return fqdn


def parent_name(fqdn):
    """The name one label up ('a.b.c.' -> 'b.c.'), or None at a top-level name."""
    rest = fqdn.split(".", 1)[1]
    return rest if rest else None


def in_zone(fqdn, zone):
    return fqdn == zone or fqdn.endswith("." + zone)


def zone_of(fqdn, zones):
    """The longest of `zones` that contains fqdn, or None."""
    best = None
    for zone in zones:
        if in_zone(fqdn, zone) and (best is None or len(zone) > len(best)):
            best = zone
    return best


def relative_label(fqdn, zone):
    """fqdn written relative to its zone ('a.b.zone.' -> 'a.b'; the apex -> '@')."""
    if fqdn == zone:
        return "@"
    return fqdn[: -len(zone) - 1]


def is_reverse_zone(zone):
    return zone.endswith(("in-addr.arpa.", "ip6.arpa."))


def parse_ip(value):
    try:
        return ipaddress.ip_address(str(value).strip())
    except ValueError:
        raise InvalidInput("%r is not an IPv4 or IPv6 address" % (value,)) from None


def reverse_name(ip):
    """The PTR owner name of an address: 10.77.50.5 -> '5.50.77.10.in-addr.arpa.'."""
    return parse_ip(ip).reverse_pointer + "."


def txt_rdata(text):
    """A TXT value as one quoted character-string, the way dnspython prints it."""
    if not isinstance(text, str):
        text = str(text)
    out = []
    for char in text:
        code = ord(char)
        if code > 126 or code < 32:
            raise InvalidInput("TXT value %r holds a non-printable or non-ASCII character" % text)
        if char in '"\\':
            out.append("\\" + char)
        else:
            out.append(char)
    if len(text) > 255:
        raise InvalidInput("TXT value %r is longer than 255 characters" % text)
    return '"%s"' % "".join(out)


def txt_text(rdata):
    """The string(s) inside a TXT rdata in presentation form, joined (inverse of txt_rdata)."""
    out, i, quoted = [], 0, False
    while i < len(rdata):
        char = rdata[i]
        if char == '"':
            quoted = not quoted
        elif char == "\\" and i + 1 < len(rdata):
            nxt = rdata[i + 1: i + 4]
            if nxt.isdigit() and len(nxt) == 3:
                out.append(chr(int(nxt)))
                i += 3
            else:
                out.append(rdata[i + 1])
                i += 1
        elif quoted or char != " ":
            out.append(char)
        i += 1
    return "".join(out)


def canonical_value(rtype, value, zone=None):
    """Canonical presentation text of one rdata of the given type."""
    if rtype == "A":
        address = parse_ip(value)
        if address.version != 4:
            raise InvalidInput("%r is not an IPv4 address (type A)" % (value,))
        return str(address)
    if rtype == "AAAA":
        address = parse_ip(value)
        if address.version != 6:
            raise InvalidInput("%r is not an IPv6 address (type AAAA)" % (value,))
        return str(address)
    if rtype in ("CNAME", "PTR"):
        return absolute_name(str(value), zone)
    if rtype == "TXT":
        return txt_rdata(value)
    raise InvalidInput("record type %r is not supported (one of %s)" % (rtype, ", ".join(SUPPORTED_TYPES)))


# ---------------------------------------------------------------- ownership mark

def format_mark(mark, default_vm=None):
    """'hpc.slurm_vm vm=<host> image=<img> job=<hostjob>' from a dict (vm defaults to the host)."""
    mark = dict(mark or {})
    unknown = sorted(set(mark) - set(MARK_FIELDS))
    if unknown:
        raise InvalidInput("unknown ownership mark field(s) %s (allowed: %s)"
                           % (", ".join(unknown), ", ".join(MARK_FIELDS)))
    if not mark.get("vm"):
        mark["vm"] = default_vm
    words = [MARK_TAG]
    for field in MARK_FIELDS:
        value = mark.get(field)
        if value is None or value == "":
            raise InvalidInput("the ownership mark needs %s=" % field)
        value = str(value)
        if not _MARK_VALUE.match(value):
            raise InvalidInput("ownership mark %s=%r: use letters, digits and ._:@+/- only" % (field, value))
        words.append("%s=%s" % (field, value))
    return " ".join(words)


def parse_mark(text):
    """The fields of an ownership mark (plain or TXT presentation text), or None if it is not one."""
    if text.startswith('"'):
        text = txt_text(text)
    words = text.split()
    if not words or words[0] != MARK_TAG:
        return None
    fields = {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if sep:
            fields[key] = value
    return fields


# ---------------------------------------------------------------- user input -> specs

def record_spec(record, defaults):
    """Validate one record (the module's top-level options or one `records:` entry)."""
    merged = dict(defaults)
    merged.update({k: v for k, v in record.items() if v is not None})
    name = merged.get("name")
    if not name:
        raise InvalidInput("every record needs a name")
    zone = absolute_name(merged["zone"]) if merged.get("zone") else None
    ip = merged.get("ip")
    rtype = (merged.get("type") or "").upper() or None
    values = merged.get("value")
    if values is not None and not isinstance(values, list):
        values = [values]
    if ip is not None:
        if values:
            raise InvalidInput("record %s: give either ip or value, not both" % name)
        ips = ip if isinstance(ip, list) else [ip]
        versions = {parse_ip(one).version for one in ips}
        if len(versions) != 1:
            raise InvalidInput("record %s: mix of IPv4 and IPv6 in ip; use two records" % name)
        inferred = "A" if versions == {4} else "AAAA"
        if rtype not in (None, inferred):
            raise InvalidInput("record %s: ip %s needs type %s, not %s" % (name, ips[0], inferred, rtype))
        rtype, values = inferred, ips
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


# ---------------------------------------------------------------- planning

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
