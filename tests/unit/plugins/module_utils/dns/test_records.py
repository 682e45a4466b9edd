# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""User input -> RecordSpecs -> desired Items."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import model
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import ownership_mark
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import records
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput

FWD = "vms.lab.test."
REV = "77.10.in-addr.arpa."
MARK = '"hpc.slurm_vm vm=t5-a image=deb12 job=11"'


# ---------------------------------------------------------------- record specs

def _spec(**kw):
    return records.record_spec(kw, {"ttl": None, "ptr": False, "zone": None, "mark": None})


def test_spec_infers_type_from_ip():
    assert _spec(name="a", ip="10.77.50.1").rtype == "A"
    assert _spec(name="a", ip="fd00::1").rtype == "AAAA"
    assert _spec(name="a", ip="10.77.50.1").ttl == records.DEFAULT_TTL


def test_spec_top_level_defaults_apply_to_records():
    spec = records.record_spec({"name": "a", "ip": "10.77.50.1", "ttl": None},
                               {"ttl": 60, "ptr": True, "zone": "z.test"})
    assert (spec.ttl, spec.ptr, spec.zone) == (60, True, "z.test.")


@pytest.mark.parametrize("record, message", [
    ({"name": "a", "ip": "10.77.50.1", "value": ["x"]}, "either ip or value"),
    ({"name": "a", "ip": "10.77.50.1", "type": "AAAA"}, "needs type A"),
    ({"name": "a", "type": "MX", "value": ["x"]}, "not supported"),
    ({"name": "a", "type": "CNAME", "value": ["x", "y"]}, "exactly one"),
    ({"name": "a", "type": "TXT", "value": ["x"], "ptr": True}, "ptr needs"),
    ({"name": "a", "ip": "10.77.50.1", "ttl": -1}, "out of range"),
    ({"ip": "10.77.50.1"}, "needs a name"),
])
def test_spec_rejects(record, message):
    with pytest.raises(InvalidInput, match=message):
        _spec(**record)


def test_forward_items_with_mark():
    spec = _spec(name="t5-a", ip="10.77.50.1", mark={"image": "deb12", "job": "11"}, zone="vms.lab.test")
    items = records.forward_items(spec, "t5-a.vms.lab.test.", FWD, "present")
    assert items == [
        model.Item("t5-a.vms.lab.test.", "A", frozenset(["10.77.50.1"]), 300, None, FWD),
        model.Item("t5-a.vms.lab.test.", "TXT", frozenset([MARK]), 300, ownership_mark.MARK_RDATA_PREFIX, FWD),
    ]


def test_forward_items_present_needs_a_value():
    with pytest.raises(InvalidInput, match="needs ip or value"):
        records.forward_items(_spec(name="t5-a"), "t5-a.vms.lab.test.", FWD, "present")


def test_cname_value_relative_to_zone():
    spec = _spec(name="alias", type="CNAME", value=["t5-a"])
    item = records.forward_items(spec, "alias.vms.lab.test.", FWD, "present")[0]
    assert item.values == frozenset(["t5-a.vms.lab.test."])


def test_merge_items_folds_duplicates_and_rejects_contradictions():
    a = model.Item("n.z.", "A", frozenset(["10.0.0.1"]), 300, None, "z.")
    assert records.merge_items([a, a]) == [a]
    with pytest.raises(InvalidInput, match="given twice"):
        records.merge_items([a, a._replace(values=frozenset(["10.0.0.2"]))])
    ptr1 = records.ptr_item("10.77.50.1", "a.z.", 300, REV)
    with pytest.raises(InvalidInput, match="given twice"):
        records.merge_items([ptr1, records.ptr_item("10.77.50.1", "b.z.", 300, REV)])
