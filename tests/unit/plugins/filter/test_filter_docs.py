# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every filter of the collection is documented: ansible-doc finds a doc for each name a FilterModule returns
(plugins/filter/<name>.yml beside the Python file), and the doc names the same arguments, in the same order, as
the Python function takes. A new filter without a doc, or an argument added without its option, fails here."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import importlib
import inspect
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.hpc.slurm_vm.plugins.filter import marks as _a_filter_file

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
# the filters ansible-doc reads: those of the collection this test imports (.cache/collections in the checkout)
FILTER_DIR = os.path.dirname(os.path.abspath(_a_filter_file.__file__))
COLLECTIONS_PATH = os.path.abspath(os.path.join(FILTER_DIR, "..", "..", "..", "..", ".."))
COLLECTION = "hpc.slurm_vm"
# the first argument of a filter is what is piped into it; ansible-doc calls it _input
INPUT = "_input"


def _ansible_doc():
    beside = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    return beside if os.path.exists(beside) else os.path.join(REPO, ".venv", "bin", "ansible-doc")


def _filters():
    """{filter name: Python function}, from every FilterModule of plugins/filter."""
    found = {}
    for path in sorted(glob.glob(os.path.join(FILTER_DIR, "*.py"))):
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem == "__init__":
            continue
        module = importlib.import_module("ansible_collections.hpc.slurm_vm.plugins.filter." + stem)
        for name, function in module.FilterModule().filters().items():
            assert name not in found, "filter %s is defined twice" % name
            found[name] = function
    return found


FILTERS = _filters()


def _run_doc(args):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_PATH, ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([_ansible_doc(), "-t", "filter", "--json"] + args, cwd=REPO, env=env, capture_output=True,
                          text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def docs():
    """ansible-doc's JSON for every filter, from one call."""
    return _run_doc(["%s.%s" % (COLLECTION, name) for name in sorted(FILTERS)])


def _signature(function):
    return list(inspect.signature(function).parameters.values())


def _positional(doc):
    positional = doc.get("positional") or []
    if isinstance(positional, str):
        positional = positional.split(",")
    return [name.strip() for name in positional]


def test_the_filters_are_found():
    # plugins/filter/*.py as of this test: 36 filters in 8 files
    assert len(FILTERS) >= 36
    assert {"vm_mac", "pool_conf", "dns_defaults", "gate_report_reason", "slurm_payload_plan"} <= set(FILTERS)


def test_no_doc_file_is_named_after_a_python_file():
    # ansible-core looks for <filter name>.yml beside the Python file that defines it; a filter named like its
    # Python file would find that file first, which has no DOCUMENTATION
    stems = {os.path.splitext(os.path.basename(p))[0] for p in glob.glob(os.path.join(FILTER_DIR, "*.py"))}
    assert not stems & set(FILTERS)


def test_every_doc_file_documents_a_filter():
    docs_files = {os.path.splitext(os.path.basename(p))[0] for p in glob.glob(os.path.join(FILTER_DIR, "*.yml"))}
    assert docs_files == set(FILTERS), "doc files without a filter: %s; filters without a doc file: %s" % (
        sorted(docs_files - set(FILTERS)), sorted(set(FILTERS) - docs_files))


def test_ansible_doc_documents_every_filter(docs):
    assert sorted(docs) == sorted("%s.%s" % (COLLECTION, name) for name in FILTERS)
    for fqcn, entry in sorted(docs.items()):
        doc = entry["doc"]
        name = fqcn.rsplit(".", 1)[1]
        assert doc["name"] == name, fqcn
        assert doc.get("short_description"), fqcn
        assert doc.get("description") and all(doc["description"]), fqcn
        assert doc.get("version_added"), fqcn
        assert doc.get("author"), fqcn
        assert (entry.get("examples") or "").strip(), fqcn
        assert entry["return"]["_value"]["description"], fqcn
        assert entry["return"]["_value"]["type"], fqcn


def test_every_doc_takes_the_arguments_of_its_function(docs):
    for name, function in sorted(FILTERS.items()):
        doc = docs["%s.%s" % (COLLECTION, name)]["doc"]
        parameters = _signature(function)
        expected = [INPUT] + [p.name for p in parameters[1:]]
        options = doc.get("options") or {}
        assert _positional(doc) == expected, name
        assert sorted(options) == sorted(expected), name
        for parameter, option in zip(parameters, expected):
            spec = options[option]
            assert spec.get("description"), "%s: %s" % (name, option)
            assert spec.get("type"), "%s: %s" % (name, option)
            has_default = parameter.default is not inspect.Parameter.empty
            assert bool(spec.get("required")) is not has_default, "%s: %s required" % (name, option)
            if has_default and parameter.default is not None and "default" in spec:
                default = list(parameter.default) if isinstance(parameter.default, tuple) else parameter.default
                assert spec["default"] == default, "%s: %s default" % (name, option)


def test_the_collection_list_gives_every_filter_with_its_short_description(docs):
    listed = _run_doc(["-l", COLLECTION])
    assert sorted(listed) == sorted(docs)
    for fqcn, short in listed.items():
        assert short == docs[fqcn]["doc"]["short_description"], fqcn
