# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Can this TSIG key do, on each zone, what the collection needs: transfer it and update it?

dns_zone_check's work, without Ansible. For each zone:
  1. an AXFR signed with the key (the reconciler lists the zones that way);
  2. an UPDATE that the server authorizes but that cannot change the zone: its
     prerequisite is "the probe name is not in use" and its only change deletes the
     probe name's TXT RRset (where the collection keeps its ownership marks). The
     server checks the key and the update policy for that name and type, then has
     nothing to do: no record, no journal entry, no serial bump.
The probe name is checked absent in the transfer first; a zone that holds it fails.
Any refusal raises the client's typed error (DnsAuthError for the key, DnsRefused for
the policy, DnsTransferRefused, DnsConnectionError/DnsTimeout for a server that is down).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.errors import DnsError
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.model import Change, PREREQ_NAME_ABSENT
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.names import normalize_zone

DEFAULT_PROBE_LABEL = "_hpc-slurm-vm-preflight"
# An underscore label is never a host name (RFC 8552 style), so it cannot hit a VM's records.
_LABEL = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$")


class ProbeNameInUse(DnsError):
    """The zone holds the probe name: the update check would not be a no-op."""


def check_probe_label(label):
    if not isinstance(label, str) or not _LABEL.match(label):
        raise InvalidInput("probe_label must be one DNS label (letters, digits, '-' and '_', at most 63), "
                           "got %r" % (label,))
    return label.lower()


def serial_of(states, zone):
    """The SOA serial in a transferred zone, or None."""
    state = states.get(zone)
    if state is None:
        return None
    values = state.rrsets.get("SOA", (None, frozenset()))[1]
    for value in values:
        return int(value.split()[2])
    return None


def noop_update(zone, probe):
    """The Change whose UPDATE the server must authorize and cannot apply (see the module doc)."""
    return Change(zone=zone, name=probe, rtype="TXT", before=frozenset(), before_ttl=None,
                  after=frozenset(), ttl=None, prereq=PREREQ_NAME_ABSENT)


def check_zone(client, zone, probe_label):
    """One zone's result dict; raises a typed error if the key cannot transfer or update it."""
    zone = normalize_zone(zone)
    states = client.transfer(zone)
    probe = "%s.%s" % (probe_label, zone)
    held = states.get(probe)
    if held is not None and held.exists:
        raise ProbeNameInUse("zone %s holds the probe name %s: the update check would not be a no-op; "
                             "choose another probe_label" % (zone, probe), server=client.server, name=probe)
    client.update(zone, [noop_update(zone, probe)])
    return dict(zone=zone, serial=serial_of(states, zone), names=len(states), transfer=True, update=True,
                probe=probe)


def check_zones(client, zones, probe_label=DEFAULT_PROBE_LABEL):
    """Check every zone, in order; the first refusal raises."""
    label = check_probe_label(probe_label)
    if not zones:
        raise InvalidInput("give at least one zone to check")
    seen, results = set(), []
    for zone in zones:
        if not zone:
            raise InvalidInput("a zone to check is empty")
        key = normalize_zone(zone)
        if key in seen:
            continue
        seen.add(key)
        results.append(check_zone(client, key, label))
    return dict(changed=False, zones=results, server=client.server, stats=dict(client.stats))
