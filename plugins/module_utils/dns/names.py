# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS owner names and zones: validation, absolute form, zone membership, reverse names."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


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


def normalize_zone(zone):
    """A zone option in absolute form, or None when it is not given."""
    return absolute_name(zone) if zone else None


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
