# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built collection tarball, as a site gets it: what it leaves out (the lab, its inventories, the
repository's ansible.cfg, CI and development tooling), what it must carry, and that once installed into an
empty collections path it works from a directory outside the checkout, with no ansible.cfg: the collection's
playbooks pass --syntax-check and ansible-doc documents every plugin (modules, the inventory plugin, the
modules behind the action plugins, every filter) and every role.

Needs no lab: build, install, syntax check and ansible-doc only. Skipped where there is no galaxy.yml
(an installed copy of the collection: the tarball leaves galaxy.yml out)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import json
import os
import subprocess
import tarfile

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BIN = os.path.join(ROOT, ".venv", "bin")
NAMESPACE, NAME = "hpc", "slurm_vm"
FQCN = NAMESPACE + "." + NAME

if not os.path.isfile(os.path.join(ROOT, "galaxy.yml")) or not os.path.isfile(os.path.join(BIN, "ansible-galaxy")):
    pytest.skip("needs the source checkout (galaxy.yml) and its venv", allow_module_level=True)

# Never in the tarball (fnmatch against a member's path or any of its parent folders, as build_ignore does).
LEFT_OUT = [
    "lab",                                # the local lab: scripts, its playbooks, its caches
    "inventories/lab",                    # the lab's inventory ...
    "inventories/lab_demand",             # ... and its demand source
    "ansible.cfg",                        # points at .cache/collections and inventories/lab
    "Makefile",
    ".ci",
    ".venv", ".cache", ".ansible", ".pytest_cache", ".ruff_cache", "collections", "context",
    ".gitignore", ".ansible-lint", "pyproject.toml",
    "requirements-dev*.txt", "requirements/dev*",
    "tests/output",
    "tests/bench",                        # benchmarks and the lab's integration, e2e and molecule suites
    "tests/integration",
    "tests/e2e",
    "tests/molecule",
    "tests/run-sanity",                   # the offline ansible-test wrapper and its pip stand-in
    "tests/sanity/get_pip_standin.py",
    "roles/*/molecule",
    "changelogs/.plugin-cache.yaml",
    "*.pyc", "__pycache__", "*/__pycache__",
]

# Top-level entries a tarball may have; anything else new at the top is development tooling until said otherwise.
TOP_LEVEL = {"MANIFEST.json", "FILES.json", "README.md", "CHANGELOG.rst", "LICENSE", "COPYING", "docs",
             "changelogs", "meta", "playbooks", "plugins", "roles", "inventories", "tests", "execution-environment.yml",
             "bindep.txt", "requirements.txt", "requirements"}

# Everything on disk under these paths ships (the product): files are compared one by one.
SHIPPED = ["README.md", "CHANGELOG.rst", "LICENSE", "COPYING", "docs", "changelogs", "meta", "playbooks",
           "plugins", "roles", "inventories/example", "inventories/example_demand",
           "execution-environment.yml", "bindep.txt", "requirements.txt",
           "requirements", "tests/config.yml", "tests/unit"]
SHIPPED_REQUIRED = {"README.md", "meta/runtime.yml", "playbooks/scheduler.yml", "playbooks/gc.yml",
                    "playbooks/site.yml",
                    "roles/scheduler_host/meta/argument_specs.yml", "bindep.txt", "requirements.txt",
                    "inventories/example/hosts.yml",
                    "inventories/example_demand/site.slurm_demand.yml", "changelogs/config.yaml",
                    "changelogs/changelog.yaml",
                    "execution-environment.yml"}

# Directory name under plugins/ -> ansible-doc type; helpers (module_utils, plugin_utils, doc_fragments) have none.
DOC_TYPES = {"modules": "module", "inventory": "inventory", "lookup": "lookup", "callback": "callback",
             "connection": "connection", "become": "become", "cache": "cache", "vars": "vars"}
NOT_PLUGINS = {"module_utils", "plugin_utils", "doc_fragments", "action", "filter", "test"}


def _left_out(path):
    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return [pattern for pattern in LEFT_OUT if any(fnmatch.fnmatchcase(p, pattern) for p in prefixes)]


def _shipped_on_disk():
    """Files of the product in the checkout (what the tarball must carry), relative to ROOT."""
    found = set()
    for entry in SHIPPED:
        path = os.path.join(ROOT, entry)
        if os.path.isfile(path):
            found.add(entry)
        for folder, dirs, files in os.walk(path):
            rel = os.path.relpath(folder, ROOT)
            dirs[:] = [d for d in dirs if not _left_out(rel + "/" + d)]
            found.update(rel + "/" + f for f in files if not _left_out(rel + "/" + f))
    return found


def _env(tmp, collections_path=None):
    """The environment of a site's shell: no ANSIBLE_* of the caller, an empty ansible.cfg, its own home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k != "PYTHONPATH"}
    env.update(ANSIBLE_CONFIG=os.path.join(tmp, "empty-ansible.cfg"), ANSIBLE_HOME=os.path.join(tmp, "ansible-home"),
               ANSIBLE_LOCAL_TEMP=os.path.join(tmp, "ansible-local"), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="False",
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    if collections_path:
        env["ANSIBLE_COLLECTIONS_PATH"] = collections_path
    return env


def _run(argv, tmp, collections_path=None, timeout=120):
    proc = subprocess.run(argv, cwd=tmp, env=_env(tmp, collections_path), capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert proc.returncode == 0, "%s\nrc %d\n%s\n%s" % (argv, proc.returncode, proc.stdout, proc.stderr)
    return proc


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Build the tarball from the checkout, install it into an empty collections path; work from outside."""
    tmp = str(tmp_path_factory.mktemp("site"))
    with open(os.path.join(tmp, "empty-ansible.cfg"), "w"):
        pass  # an ansible.cfg with nothing in it: the defaults a site starts from
    build = os.path.join(tmp, "build")
    _run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", ROOT, "--output-path", build], tmp)
    (tarball,) = [os.path.join(build, f) for f in os.listdir(build) if f.endswith(".tar.gz")]
    with tarfile.open(tarball) as archive:
        members = {m.name[2:] if m.name.startswith("./") else m.name for m in archive.getmembers() if m.isfile()}
    collections = os.path.join(tmp, "collections")
    _run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", tarball, "-p", collections], tmp)
    installed = os.path.join(collections, "ansible_collections", NAMESPACE, NAME)
    assert os.path.isfile(os.path.join(installed, "MANIFEST.json"))
    return {"tmp": tmp, "tarball": tarball, "members": members, "collections": collections, "installed": installed}


def test_the_tarball_leaves_out_the_lab_ansible_cfg_ci_and_development_files(site):
    shipped_left_out = {m: _left_out(m) for m in site["members"] if _left_out(m)}
    assert shipped_left_out == {}
    top = {m.split("/")[0] for m in site["members"]}
    assert top - TOP_LEVEL == set(), "new top-level entries: leave them out in galaxy.yml build_ignore or allow them"
    inventories = {m.split("/")[1] for m in site["members"] if m.startswith("inventories/")}
    assert inventories == {"example", "example_demand"}


def test_the_tarball_carries_the_product(site):
    on_disk = _shipped_on_disk()
    assert SHIPPED_REQUIRED - on_disk == set()
    assert on_disk - site["members"] == set()
    assert any(m.startswith("playbooks/tasks/") for m in site["members"])
    # ansible-test sanity reads its ignore files from the collection's tests/sanity.
    ignores = {f for f in os.listdir(os.path.join(ROOT, "tests", "sanity")) if fnmatch.fnmatch(f, "ignore-*.txt")}
    assert {"tests/sanity/" + f for f in ignores} <= site["members"]


def test_the_installed_playbooks_pass_syntax_check_outside_the_checkout(site):
    playbooks = sorted(f[:-len(".yml")] for f in os.listdir(os.path.join(site["installed"], "playbooks"))
                       if f.endswith(".yml"))
    assert {"scheduler", "gc"} <= set(playbooks)
    proc = _run([os.path.join(BIN, "ansible-playbook"), "--syntax-check", "-i", "localhost,"]
                + ["%s.%s" % (FQCN, p) for p in playbooks], site["tmp"], site["collections"])
    assert sorted(line for line in proc.stdout.splitlines() if line.startswith("playbook: ")) == sorted(
        "playbook: %s" % os.path.join(site["installed"], "playbooks", p + ".yml") for p in playbooks)


def _plugin_names(installed, folder):
    path = os.path.join(installed, "plugins", folder)
    if not os.path.isdir(path):
        return set()
    return {f[:-len(".py")] for f in os.listdir(path) if f.endswith(".py") and f != "__init__.py"}


def _ansible_doc(site, doc_type, names):
    """ansible-doc --json for every name in one process: {fqcn: doc}; it fails when one has no documentation."""
    fqcns = sorted("%s.%s" % (FQCN, n) for n in names)
    proc = _run([os.path.join(BIN, "ansible-doc"), "-t", doc_type, "--json"] + fqcns, site["tmp"],
                site["collections"])
    assert "WARNING" not in proc.stderr and "ERROR" not in proc.stderr, proc.stderr
    docs = json.loads(proc.stdout)
    assert sorted(docs) == fqcns, proc.stderr
    return docs


def _listed(site, doc_type):
    """ansible-doc -l: the collection's plugins of that type; none may be listed as UNDOCUMENTED."""
    proc = _run([os.path.join(BIN, "ansible-doc"), "-t", doc_type, "-l", "--json", FQCN], site["tmp"],
                site["collections"])
    listing = json.loads(proc.stdout)
    assert sorted(n for n, description in listing.items() if description == "UNDOCUMENTED") == []
    return set(listing)


def test_ansible_doc_documents_every_module_inventory_plugin_and_role(site):
    installed = site["installed"]
    modules = _plugin_names(installed, "modules")
    assert modules, "no modules in the installed collection"
    # An action plugin is documented through the module of the same name.
    assert _plugin_names(installed, "action") - modules == set()
    assert _listed(site, "module") == {"%s.%s" % (FQCN, m) for m in modules}
    folders = [f for f in os.listdir(os.path.join(installed, "plugins")) if f not in NOT_PLUGINS]
    assert set(folders) - set(DOC_TYPES) == set(), "a plugin type this test does not know"
    assert "inventory" in folders
    for folder in folders:
        for fqcn, doc in _ansible_doc(site, DOC_TYPES[folder], _plugin_names(installed, folder)).items():
            assert doc["doc"]["short_description"], fqcn
            # Read from the installed copy, not from the checkout or another collections path.
            assert doc["doc"]["filename"].startswith(installed + os.sep), (fqcn, doc["doc"]["filename"])
    roles = [r for r in os.listdir(os.path.join(installed, "roles"))
             if os.path.isfile(os.path.join(installed, "roles", r, "meta", "argument_specs.yml"))]
    assert roles
    for fqcn, doc in _ansible_doc(site, "role", roles).items():
        assert doc["entry_points"]["main"]["short_description"], fqcn
        assert doc["path"] == installed, (fqcn, doc["path"])  # ansible-doc gives a role's collection path


def _filter_names(site):
    """Every filter the installed collection's filter plugins export (FilterModule.filters())."""
    script = (
        "import json, os, sys\n"
        "from ansible.plugins.loader import init_plugin_loader\n"
        "init_plugin_loader([sys.argv[1]])\n"
        "import importlib\n"
        "names = {}\n"
        "folder = os.path.join(sys.argv[1], 'ansible_collections', 'hpc', 'slurm_vm', 'plugins', 'filter')\n"
        "for f in sorted(os.listdir(folder)):\n"
        "    if f.endswith('.py') and f != '__init__.py':\n"
        "        m = importlib.import_module('ansible_collections.hpc.slurm_vm.plugins.filter.' + f[:-3])\n"
        "        names[f[:-3]] = sorted(m.FilterModule().filters())\n"
        "print(json.dumps(names))\n")
    proc = _run([os.path.join(BIN, "python"), "-c", script, site["collections"]], site["tmp"], site["collections"])
    return json.loads(proc.stdout)


def test_ansible_doc_documents_every_filter(site):
    by_file = _filter_names(site)
    names = {n for file_names in by_file.values() for n in file_names}
    assert names, by_file
    assert _listed(site, "filter") == {"%s.%s" % (FQCN, n) for n in names}
    for fqcn, doc in _ansible_doc(site, "filter", names).items():
        assert doc["doc"]["short_description"], fqcn
        assert doc["doc"]["filename"].startswith(site["installed"] + os.sep), (fqcn, doc["doc"]["filename"])
