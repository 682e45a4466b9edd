# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The data of DNS record management: what is wanted, what the server holds, what changes.

The flow is: records given by the user -> validated RecordSpec (dns/records.py)
-> desired Items (owner name, type, values) -> compared with the NameState read
from the server (dns/client.py) -> Changes (dns/plan.py), each one RRset going
from `before` to `after`, guarded by a prerequisite (the RRset is exactly
`before`, or the whole name is absent for a claim). The client sends the
Changes of one zone as few UPDATE messages as fit (dns/update_message.py).

Names are absolute, lower case, with a trailing dot. Values are canonical
presentation text (the form dnspython prints), so that what is read from the
server compares equal to what is wanted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections

# A prerequisite kind: the RRset must be exactly `before` ...
PREREQ_RRSET = "rrset"
# ... or, for a claim, the owner name must not exist at all (YXDOMAIN otherwise).
PREREQ_NAME_ABSENT = "name_absent"

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
