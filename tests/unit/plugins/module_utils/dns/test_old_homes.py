# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dns/client.py and dns/plan.py were split into errors, transport, update_message, model, names, rdata,
ownership_mark and records. Every name another file takes from the two old modules must still be there,
and be the very object of its new home (one definition, re-exported).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os

import pytest
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import (
    client,
    errors,
    model,
    names,
    ownership_mark,
    plan,
    rdata,
    records,
)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".."))
PACKAGE = "ansible_collections.hpc.slurm_vm.plugins.module_utils.dns"
OLD_MODULES = {"client": client, "plan": plan}
# Files outside the dns package code that import dns.client or dns.plan.
CALLERS = ("plugins/module_utils/dns/run.py", "plugins/modules/dns_record.py", "plugins/modules/dns_record_info.py",
           "plugins/filter/module_defaults.py", "tests/integration/dns/test_dns_record.py",
           "tests/bench/dns_record_bench.py")


def names_taken_from_old_modules(path):
    """{(old module, name)} that a file imports from dns.client / dns.plan or reads as an attribute of them."""
    with open(os.path.join(REPO, path)) as source:
        tree = ast.parse(source.read())
    taken, aliases = set(), {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == PACKAGE:
            aliases.update({a.asname or a.name: a.name for a in node.names if a.name in OLD_MODULES})
        elif isinstance(node, ast.ImportFrom) and node.module in ("%s.%s" % (PACKAGE, m) for m in OLD_MODULES):
            taken.update((node.module.rsplit(".", 1)[1], a.name) for a in node.names)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            taken.add((aliases[node.value.id], node.attr))
    return taken


TAKEN = sorted(set().union(*(names_taken_from_old_modules(path) for path in CALLERS
                             if os.path.exists(os.path.join(REPO, path)))))


def test_the_callers_were_found():
    # run.py alone takes about twenty names from plan; an empty list would make the next test vacuous
    assert ("plan", "record_spec") in TAKEN and ("client", "client_from_params") in TAKEN


@pytest.mark.parametrize("module, name", TAKEN, ids=["%s.%s" % pair for pair in TAKEN])
def test_every_name_a_caller_takes_is_still_there(module, name):
    assert hasattr(OLD_MODULES[module], name)


@pytest.mark.parametrize("old, new, name", [
    (client, errors, "DnsError"), (client, errors, "DnsPrerequisiteFailed"), (client, errors, "UpdateNotApplied"),
    (client, errors, "DnsRefused"), (client, errors, "ZoneNotFound"), (client, names, "normalize_zone"),
    (plan, errors, "NameTaken"), (plan, errors, "RecordConflict"), (plan, model, "NameState"), (plan, model, "Item"),
    (plan, ownership_mark, "MARK_RDATA_PREFIX"), (plan, ownership_mark, "parse_mark"),
    (plan, names, "absolute_name"), (plan, names, "reverse_name"), (plan, rdata, "txt_rdata"),
    (plan, records, "record_spec"), (plan, records, "forward_items"), (plan, records, "merge_items"),
])
def test_old_names_are_the_new_homes_objects(old, new, name):
    assert getattr(old, name) is getattr(new, name)
