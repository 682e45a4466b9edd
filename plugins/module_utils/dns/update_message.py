# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""RFC 2136 UPDATE messages from Changes: prerequisites first, then the changes, in batches that fit.

DnsClient.update sends them; this module only builds and sizes them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.model import PREREQ_NAME_ABSENT

try:  # noqa: SIM105 - the try/except ImportError guard ansible-test knows
    import dns.update
except ImportError:  # pragma: no cover - dns/client.py reports it: no DnsClient, so no message is built
    pass

# Stay under the 65535-byte DNS message limit; estimated without name compression.
MAX_UPDATE_BYTES = 60000


def update_message(zone, batch, keyring=None, keyname=None, keyalgorithm=None):
    """One UPDATE: the prerequisites of every change, then the changes."""
    message = dns.update.UpdateMessage(zone, keyring=keyring, keyname=keyname, keyalgorithm=keyalgorithm)
    absent_names = set()
    for change in batch:
        if change.prereq == PREREQ_NAME_ABSENT:
            if change.name not in absent_names:
                absent_names.add(change.name)
                message.absent(change.name)
        elif change.before:
            message.present(change.name, change.rtype, *sorted(change.before))
        else:
            message.absent(change.name, change.rtype)
    for change in batch:
        if change.after and not change.before:
            # the prerequisite guarantees the RRset is empty: a plain add is enough
            message.add(change.name, change.ttl, change.rtype, *sorted(change.after))
        elif change.after:
            message.replace(change.name, change.ttl, change.rtype, *sorted(change.after))
        else:
            message.delete(change.name, change.rtype)
    return message


def estimated_wire_bytes(change):
    """Wire bytes of one change, counting names as compressed (a label plus a pointer).

    Only a guide: DnsClient.update checks the real size and splits a message that is too big.
    """
    owner = len(change.name.split(".", 1)[0]) + 3
    header = owner + 10

    def rdata(value):
        if change.rtype in ("PTR", "CNAME"):
            return len(value.split(".", 1)[0]) + 3
        return len(value) + 1 if change.rtype == "TXT" else (4 if change.rtype == "A" else 16)

    size = header if not change.before else sum(header + rdata(v) for v in change.before)  # prerequisite
    size += header if change.before else 0  # the delete of a replace
    return size + sum(header + rdata(v) for v in change.after)


def split_in_halves(batch):
    """Split a batch in two at a name boundary near its middle."""
    cut = len(batch) // 2
    while 0 < cut < len(batch) and batch[cut].name == batch[cut - 1].name:
        cut += 1
    if cut >= len(batch):
        cut = len(batch) // 2
    return [batch[:cut], batch[cut:]]


def update_batches(changes):
    """Split changes so each UPDATE stays under MAX_UPDATE_BYTES; one name never spans two."""
    batches, current, size = [], [], 0
    last_name = None
    for change in changes:
        cost = estimated_wire_bytes(change)
        if current and size + cost > MAX_UPDATE_BYTES and change.name != last_name:
            batches.append(current)
            current, size = [], 0
        current.append(change)
        size += cost
        last_name = change.name
    if current:
        batches.append(current)
    return batches
