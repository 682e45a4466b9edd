# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DNS preflight's no-op update, on the wire, and its order of work (the real checks: tests/integration/dns)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dns.rdataclass
import dns.rdatatype
import pytest
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import zone_check
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.model import NameState
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.update_message import update_message

ZONE = "vms.lab.test."
REV = "77.10.in-addr.arpa."
SOA = "ns.lab.test. admin.lab.test. 2026120207 3600 600 86400 60"


def test_the_update_can_only_be_a_noop_the_name_must_be_absent_and_only_its_txt_is_deleted():
    probe = "_hpc-slurm-vm-preflight." + ZONE
    message = update_message(ZONE, [zone_check.noop_update(ZONE, probe)])
    (prereq,) = message.prerequisite
    assert prereq.name.to_text() == probe
    # RFC 2136 2.4.5 "Name is not in use": class NONE, type ANY, no rdata
    assert (prereq.rdclass, prereq.rdtype, len(prereq)) == (dns.rdataclass.NONE, dns.rdatatype.ANY, 0)
    (delete,) = message.update
    # RFC 2136 2.5.2 "Delete an RRset": class ANY, the type, no rdata
    assert delete.name.to_text() == probe
    assert (delete.deleting, delete.rdtype, len(delete)) == (dns.rdataclass.ANY, dns.rdatatype.TXT, 0)


class RecordingClient(object):
    server = "127.0.0.1:53"

    def __init__(self, zones):
        self.zones, self.calls, self.stats = zones, [], dict(queries=0, transfers=0, updates=0)

    def transfer(self, zone):
        self.calls.append(("transfer", zone))
        return self.zones[zone]

    def update(self, zone, changes):
        self.calls.append(("update", zone, [c.name for c in changes]))
        return 1


def _zone(*names, **kwargs):
    states = {kwargs.get("zone", ZONE): NameState(True, {"SOA": (3600, frozenset([SOA]))})}
    states.update((n, NameState(True, {"A": (300, frozenset(["10.77.1.1"]))})) for n in names)
    return states


def test_each_zone_is_transferred_then_probed_once_in_order():
    client = RecordingClient({ZONE: _zone("vm-deb12-001." + ZONE), REV: _zone(zone=REV)})
    result = zone_check.check_zones(client, ["VMS.lab.test", "77.10.in-addr.arpa", "vms.lab.test."])
    assert client.calls == [
        ("transfer", ZONE), ("update", ZONE, ["_hpc-slurm-vm-preflight." + ZONE]),
        ("transfer", REV), ("update", REV, ["_hpc-slurm-vm-preflight." + REV]),
    ]
    assert result["changed"] is False
    found = [(z["zone"], z["serial"], z["names"]) for z in result["zones"]]
    assert found == [(ZONE, 2026120207, 2), (REV, 2026120207, 1)]


def test_a_zone_holding_the_probe_name_is_never_updated():
    client = RecordingClient({ZONE: _zone("t5-probe." + ZONE)})
    with pytest.raises(zone_check.ProbeNameInUse, match="choose another probe_label"):
        zone_check.check_zones(client, [ZONE], "T5-Probe")
    assert client.calls == [("transfer", ZONE)]


@pytest.mark.parametrize("label", ["", "a.b", "-x" * 40, "a b", None])
def test_a_probe_label_that_is_not_one_label_is_refused(label):
    with pytest.raises(InvalidInput, match="one DNS label"):
        zone_check.check_zones(RecordingClient({}), [ZONE], label)


def test_no_zone_is_refused():
    with pytest.raises(InvalidInput, match="at least one zone"):
        zone_check.check_zones(RecordingClient({}), [])
