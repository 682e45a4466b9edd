# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""common/nodeset.py's size bound: 'vm-[1-99999999]' is refused from its text, before ClusterShell parses it
(ClusterShell's RangeSet is a set of every index: parsing that expression alone took 153 s and was then
killed for its memory on the lab machine)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ClusterShell.NodeSet import NodeSet

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import nodeset
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput


@pytest.fixture
def no_expansion(monkeypatch):
    """ClusterShell's NodeSet replaced by one that fails the test if anything reaches it."""
    def refuse(*args, **kwargs):
        raise AssertionError("ClusterShell was asked to parse %r" % (args,))
    monkeypatch.setattr(nodeset, "NodeSet", refuse)


@pytest.mark.parametrize("expression", [
    "vm-a-[001-003],x", "x[1-5]-[1-3000]", "vm-[1-10/2],vm-[20-22]", "a,b,c", "x[1-3,5,7-9]y[01-02]",
    "[1-1000]vm", ["vm-a-[001-002]", "vm-b-[1-4]"], "vm-deb12-007",
])
def test_the_count_is_the_number_of_names_when_no_term_overlaps(expression):
    items = expression if isinstance(expression, list) else [expression]
    assert nodeset.count_names(expression) == sum(len(NodeSet(i)) for i in items)


@pytest.mark.parametrize("expression, names", [
    ("vm-[1-5,3-7]", 7), ("a[1-5]!a[2-3]", 3), ("a[1-5]&a[2-3]", 2), ("a[1-5]^a[3-8]", 5),
])
def test_overlaps_and_operators_count_every_term_in_full(expression, names):
    assert len(NodeSet(expression)) == names < nodeset.count_names(expression)


@pytest.mark.parametrize("expression", ["vm-[1-99999999]", ["vm-a-001", "vm-[1-99999999]"],
                                        "vm-[1-1000]-[1-1000]", "x[1-100001]"])
def test_more_than_the_default_bound_is_refused_without_expanding(no_expansion, expression):
    for call in (nodeset.expand, nodeset.normalize):
        with pytest.raises(InvalidInput, match="more than the limit of 100,000") as caught:
            call(expression)
        assert caught.value.details["limit"] == nodeset.MAX_NAMES == 100000
        assert caught.value.details["names"] > 100000


def test_the_message_names_the_expression_and_its_size(no_expansion):
    with pytest.raises(InvalidInput) as caught:
        nodeset.expand("vm-[1-99999999]")
    assert caught.value.message == "hostlist 'vm-[1-99999999]' stands for 99,999,999 names, more than the limit of " \
                                   "100,000"


def test_the_bound_is_the_callers_to_set():
    assert nodeset.expand("vm-[1-10]", limit=10)[-1] == "vm-10"
    with pytest.raises(InvalidInput, match="stands for 10 names, more than the limit of 9"):
        nodeset.expand("vm-[1-10]", limit=9)
    with pytest.raises(InvalidInput, match="limit of 9"):
        nodeset.normalize(["vm-[1-5]", "vm-[6-10]"], limit=9)
    assert len(nodeset.expand("x[1-100001]", limit=None)) == 100001


def test_the_bound_itself_is_allowed():
    assert len(nodeset.expand("x[1-100000]")) == 100000


def test_a_malformed_range_is_left_to_clustershell():
    for expression in ("vm-[1-99999999", "vm-[a-b]", "vm-[5-1]"):
        assert nodeset.count_names(expression) == 1
        with pytest.raises(InvalidInput, match="invalid hostlist expression"):
            nodeset.expand(expression)
