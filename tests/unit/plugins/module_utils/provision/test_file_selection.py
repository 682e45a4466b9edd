# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Provisioning by filename: the selection rules, as data."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random

import pytest

from ansible_collections.hpc.slurm_vm.plugins.filter import file_selection as filters
from ansible_collections.hpc.slurm_vm.plugins.module_utils.provision import file_selection as fs
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput

ALIAS_TEXT = """
# site aliases (ZIH style)
GPU_NODES=taurusi[2045-2108]
HASWELL = taurusi[1001-1270,1301-1312]   # trailing comment
ALL=taurusi[1001-9999]
VMS=vm-deb12-[001-008],vm-disk-[001-004]
DISK_VMS=vm-disk-[001-004]
"""
ALIASES = fs.parse_alias_text(ALIAS_TEXT)

FILES = [
    "slurm.local.conf.20.n_GPU_NODES",
    "slurm.local.conf.10.n_ALL",
    "slurm.local.conf.remain",
    "gres.conf.5.n_GPU_NODES",
    "prolog.30.n_VMS",
    "prolog.30.n_DISK_VMS",
    "epilog.remain",
    "plugstack.conf.1.n_HASWELL",
    "README",
]

# (case, base, hostname, selected, reason, prio, alias, ties)
CASES = [
    ("gpu node: highest prio of two overlapping aliases", "slurm.local.conf", "taurusi2050",
     "slurm.local.conf.20.n_GPU_NODES", "alias", 20, "GPU_NODES", []),
    ("plain node: only the wide alias matches", "slurm.local.conf", "taurusi1005",
     "slurm.local.conf.10.n_ALL", "alias", 10, "ALL", []),
    ("outside every alias: .remain", "slurm.local.conf", "vm-deb12-001",
     "slurm.local.conf.remain", "remain", None, None, []),
    ("no match and no .remain: nothing", "gres.conf", "taurusi1005", None, "none", None, None, []),
    ("range edge included", "gres.conf", "taurusi2108", "gres.conf.5.n_GPU_NODES", "alias", 5, "GPU_NODES", []),
    ("range edge excluded", "gres.conf", "taurusi2109", None, "none", None, None, []),
    ("tie at the top: alias that sorts first wins", "prolog", "vm-disk-004",
     "prolog.30.n_DISK_VMS", "alias", 30, "DISK_VMS", ["VMS"]),
    ("tie only among matching aliases", "prolog", "vm-deb12-003", "prolog.30.n_VMS", "alias", 30, "VMS", []),
    ("remain only", "epilog", "taurusi2050", "epilog.remain", "remain", None, None, []),
    ("second range of a nodeset", "plugstack.conf", "taurusi1305",
     "plugstack.conf.1.n_HASWELL", "alias", 1, "HASWELL", []),
    ("zero-padding matters to ClusterShell", "prolog", "vm-disk-4", None, "none", None, None, []),
]


@pytest.mark.parametrize("case,base,host,selected,reason,prio,alias,ties", CASES, ids=[c[0] for c in CASES])
def test_select_file(case, base, host, selected, reason, prio, alias, ties):
    result = fs.select_file(FILES, base, host, ALIASES)
    assert (result["selected"], result["reason"], result["prio"], result["alias"], result["ties"]) == \
        (selected, reason, prio, alias, ties), case


def test_result_independent_of_listing_order():
    expected = fs.select_files(FILES, ["prolog", "slurm.local.conf"], "vm-disk-004", ALIASES)
    rng = random.Random(4)
    for _attempt in range(20):
        shuffled = list(FILES)
        rng.shuffle(shuffled)
        assert fs.select_files(shuffled, ["prolog", "slurm.local.conf"], "vm-disk-004", ALIASES) == expected


def test_candidates_are_listed_best_first():
    result = fs.select_file(FILES, "slurm.local.conf", "taurusi2050", ALIASES)
    assert result["candidates"] == ["slurm.local.conf.20.n_GPU_NODES", "slurm.local.conf.10.n_ALL"]


def test_tie_policy_error_raises():
    with pytest.raises(fs.SelectionTie, match="prolog.30.n_DISK_VMS, prolog.30.n_VMS"):
        fs.select_file(FILES, "prolog", "vm-disk-004", ALIASES, tie_policy="error")
    # no tie for a host in one alias only
    assert fs.select_file(FILES, "prolog", "vm-deb12-001", ALIASES, tie_policy="error")["selected"] == "prolog.30.n_VMS"


def test_tie_lower_priority_is_no_tie():
    files = ["x.9.n_VMS", "x.3.n_DISK_VMS", "x.3.n_ALL"]
    result = fs.select_file(files, "x", "vm-disk-001", ALIASES, tie_policy="error")
    assert (result["selected"], result["ties"]) == ("x.9.n_VMS", [])


def test_same_alias_twice_with_different_prio():
    files = ["x.1.n_VMS", "x.2.n_VMS"]
    assert fs.select_file(files, "x", "vm-disk-001", ALIASES)["selected"] == "x.2.n_VMS"


def test_priority_is_numeric_not_lexical():
    files = ["x.9.n_VMS", "x.10.n_DISK_VMS"]
    assert fs.select_file(files, "x", "vm-disk-001", ALIASES)["selected"] == "x.10.n_DISK_VMS"


@pytest.mark.parametrize("name", [
    "slurm.local.conf.abc.n_ALL",      # prio not a number
    "slurm.local.conf.-1.n_ALL",       # negative
    "slurm.local.conf.010.n_ALL",      # leading zero: ambiguous with 10
    "slurm.local.conf.10.ALL",         # missing n_
    "slurm.local.conf.10.n_",          # empty alias
    "slurm.local.conf.10.n_GPU-NODES",  # '-' not allowed in an alias
    "slurm.local.conf.remain~",        # editor backup
    "slurm.local.conf.REMAIN",
    "slurm.local.conf.",
])
def test_malformed_names_raise(name):
    with pytest.raises(fs.MalformedSelectionName) as exc:
        fs.select_file(FILES + [name], "slurm.local.conf", "taurusi2050", ALIASES)
    assert exc.value.details["file"] == name


def test_other_bases_are_ignored_not_malformed():
    files = ["slurm.conf.remain", "slurm.conf.d.remain", "slurm.conf.d.5.n_VMS", "slurmXconf.remain"]
    result = fs.select_files(files, ["slurm.conf", "slurm.conf.d"], "vm-disk-001", ALIASES)
    assert result["slurm.conf"]["selected"] == "slurm.conf.remain"
    assert result["slurm.conf.d"]["selected"] == "slurm.conf.d.5.n_VMS"
    # without knowing the longer base, its files are malformed for the shorter one
    with pytest.raises(fs.MalformedSelectionName):
        fs.select_file(files, "slurm.conf", "vm-disk-001", ALIASES)


def test_unknown_alias_raises():
    with pytest.raises(fs.UnknownAlias, match="GPU_NODEZ"):
        fs.select_file(["gres.conf.5.n_GPU_NODEZ"], "gres.conf", "taurusi2050", ALIASES)


@pytest.mark.parametrize("aliases,error", [
    ("GPU=taurusi[2045-", fs.MalformedNodeset),
    ("GPU=taurusi[2108-2045]", fs.MalformedNodeset),
    ("GPU=", fs.MalformedNodeset),
    ({"GPU": ""}, fs.MalformedNodeset),
    ({"GPU": None}, fs.MalformedNodeset),
    ("GPU taurusi[1-2]", fs.MalformedAlias),
    ("1GPU=taurusi1", fs.MalformedAlias),
    ("GPU-NODES=taurusi1", fs.MalformedAlias),
    ("GPU=a1\nGPU=a2", fs.MalformedAlias),
    (["GPU=a1"], fs.MalformedAlias),
])
def test_malformed_aliases(aliases, error):
    with pytest.raises(error):
        fs.normalize_aliases(aliases)


def test_errors_are_typed_invalid_input():
    for cls in (fs.MalformedAlias, fs.MalformedNodeset, fs.MalformedSelectionName, fs.UnknownAlias,
                fs.SelectionTie):
        assert issubclass(cls, InvalidInput)
    exc = pytest.raises(fs.MalformedNodeset, fs.normalize_aliases, "GPU=x[3-")
    result = exc.value.to_result()
    assert result["error"] == "MalformedNodeset" and result["alias"] == "GPU"


def test_alias_as_list_and_mapping():
    expanded = fs.normalize_aliases({"A": ["n[1-2]", "m1"], "B": "n2"})
    assert expanded == {"A": frozenset(["n1", "n2", "m1"]), "B": frozenset(["n2"])}


def test_invalid_arguments():
    with pytest.raises(fs.FileSelectionError):
        fs.select_file(FILES, "gres.conf", "", ALIASES)
    with pytest.raises(fs.FileSelectionError):
        fs.select_file(FILES, "../etc/passwd", "h", ALIASES)
    with pytest.raises(fs.FileSelectionError):
        fs.select_file(FILES, "gres.conf", "h", ALIASES, tie_policy="random")


def test_selection_plan_many_hosts():
    hosts = ["taurusi2050", "taurusi1005", "vm-disk-004", "other"]
    plan = fs.selection_plan(FILES, ["slurm.local.conf", "prolog", "gres.conf"], hosts, ALIAS_TEXT)
    assert plan == {
        "taurusi2050": {"slurm.local.conf": "slurm.local.conf.20.n_GPU_NODES", "prolog": None,
                        "gres.conf": "gres.conf.5.n_GPU_NODES"},
        "taurusi1005": {"slurm.local.conf": "slurm.local.conf.10.n_ALL", "prolog": None, "gres.conf": None},
        "vm-disk-004": {"slurm.local.conf": "slurm.local.conf.remain", "prolog": "prolog.30.n_DISK_VMS",
                        "gres.conf": None},
        "other": {"slurm.local.conf": "slurm.local.conf.remain", "prolog": None, "gres.conf": None},
    }


def test_filters_accept_paths_and_find_results():
    found = [{"path": "/srv/site/" + f} for f in FILES]
    result = filters.site_file_selection(found, "slurm.local.conf", "taurusi2050", ALIAS_TEXT)
    assert result["slurm.local.conf"]["selected"] == "slurm.local.conf.20.n_GPU_NODES"
    plan = filters.site_file_plan(["/a/" + f for f in FILES], ["gres.conf"], ["taurusi2045"], ALIASES)
    assert plan == {"taurusi2045": {"gres.conf": "gres.conf.5.n_GPU_NODES"}}
    assert filters.nodeset_aliases("A=n[1-3]") == {"A": "n[1-3]"}


def test_filters_raise_ansible_errors():
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match="MalformedNodeset"):
        filters.nodeset_aliases("A=n[1-")
    with pytest.raises(AnsibleFilterError, match="UnknownAlias"):
        filters.site_file_selection(["x.1.n_NOPE"], "x", "h", {})
