# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The README's site chapter against the files it describes, so that they cannot drift apart:

- the AWX credential type (its input and injector YAML) injects exactly the vault_* secrets that
  inventories/example reads, every field secret, every injector naming a field;
- the scheduler host's Python packages the README names are requirements.txt's, and requirements.txt lists
  only packages the shipped code imports; requirements-dev.txt includes it and adds only other packages;
- bindep.txt's hypervisor profile is what role host_prep installs (host_prep_packages_by_family), on Debian
  and on EL."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os
import re
import sys
import textwrap
from unittest import mock

import pytest
import yaml

from ansible_collections.hpc.slurm_vm.tests.unit.checkout import checkout_only

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

# requirements.txt name -> the top-level module the code imports
IMPORT_NAMES = {"clustershell": "ClusterShell", "dnspython": "dns", "netaddr": "netaddr", "psycopg": "psycopg",
                "pypureomapi": "pypureomapi"}
# Imported by the shipped code, but installed with ansible-core.
WITH_ANSIBLE_CORE = {"ansible", "ansible_collections", "yaml", "jinja2"}
# Imported only by the modules that run on the hypervisors (libvirt_guest, libvirt_guest_info): python3-libvirt
# there, bindep.txt's hypervisor profile.
HYPERVISOR_ONLY = {"libvirt"}


def _read(*path):
    with open(os.path.join(ROOT, *path)) as f:
        return f.read()


def _chapter():
    readme = _read("README.md")
    start = readme.index("\n## Install at a site\n")
    return readme[start:readme.index("\n## ", start + 1)]


def _yaml_block_after(text, marker):
    """The first ```yaml block after marker, dedented and parsed."""
    block = re.search(r"```yaml\n(.*?)```", text[text.index(marker):], re.S)
    assert block, "no yaml block after %r" % marker
    return yaml.safe_load(textwrap.dedent(block.group(1)))


def test_the_awx_credential_type_injects_the_secrets_the_example_inventory_reads():
    chapter = _chapter()
    inputs = _yaml_block_after(chapter, "Input configuration:")
    injectors = _yaml_block_after(chapter, "Injector configuration:")
    fields = {field["id"]: field for field in inputs["fields"]}
    assert all(field["secret"] is True and field["type"] == "string" for field in fields.values()), fields
    assert set(inputs["required"]) <= set(fields)
    example_dir = os.path.join(ROOT, "inventories", "example")
    example = "".join(_read(folder, name) for folder, _dirs, names in os.walk(example_dir)
                      for name in names if name.endswith(".yml"))
    read_by_example = set(re.findall(r"\{\{ *(vault_[a-z0-9_]+) *\}\}", example))
    assert read_by_example, "inventories/example reads no vault_* secret"
    assert set(injectors) == {"extra_vars"}
    assert set(injectors["extra_vars"]) == read_by_example
    for name, template in injectors["extra_vars"].items():
        (field,) = re.findall(r"\{\{ *([a-z0-9_]+)", template)
        assert field in fields, (name, template)
        # an optional field is not defined when left empty: default('') keeps the injection working
        assert field in inputs["required"] or "default('')" in template, (name, template)


def _requirement_names(text):
    names = []
    for line in text.splitlines():
        line = re.sub(r"(^|\s+)#.*$", "", line).strip()
        if line:
            names.append(re.match(r"[A-Za-z0-9_.-]+", line).group(0).lower())
    return names


def _third_party_imports():
    """Top-level modules imported by plugins/ and roles/ that are neither the standard library nor ours."""
    found = set()
    for base in ("plugins", "roles", "playbooks"):
        for folder, _dirs, files in os.walk(os.path.join(ROOT, base)):
            for name in files:
                if not name.endswith(".py"):
                    continue
                tree = ast.parse(_read(folder, name))
                for node in ast.walk(tree):
                    if isinstance(node, ast.Import):
                        found.update(alias.name.split(".")[0] for alias in node.names)
                    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                        found.add(node.module.split(".")[0])
    stdlib = set(sys.stdlib_module_names)
    return {name for name in found if name not in stdlib and name != "__future__"} - WITH_ANSIBLE_CORE


def test_requirements_txt_is_what_the_code_imports_and_what_the_readme_names():
    names = _requirement_names(_read("requirements.txt"))
    imported = _third_party_imports()
    assert imported >= HYPERVISOR_ONLY
    assert sorted(IMPORT_NAMES[n] for n in names) == sorted(imported - HYPERVISOR_ONLY)
    chapter = _chapter()
    scheduler_host = chapter[chapter.index("**Scheduler host**"):chapter.index("**Hypervisors**")]
    for name in names:
        assert re.search(r"\b%s\b" % re.escape(name), scheduler_host, re.I), name


@checkout_only
def test_requirements_dev_txt_pulls_the_runtime_and_adds_only_development_tools():
    """The tarball leaves requirements-dev.txt out (galaxy.yml build_ignore)."""
    names = _requirement_names(_read("requirements.txt"))
    dev = _read("requirements-dev.txt")
    assert "-r requirements.txt" in dev.splitlines()
    assert not set(_requirement_names(dev)) & set(names)


def _bindep_packages(profile, distro_id, version):
    depends_module = pytest.importorskip("bindep.depends", reason="bindep comes with ansible-builder "
                                                                  "(requirements-dev.txt)")
    depends = depends_module.Depends(_read("bindep.txt"))
    with mock.patch.object(depends_module.distro, "id", return_value=distro_id), \
            mock.patch.object(depends_module.distro, "codename", return_value=""), \
            mock.patch.object(depends_module.distro, "version", return_value=version), \
            mock.patch.object(depends_module.distro, "name", return_value=distro_id):
        platform = depends.platform_profiles()
    return {rule[0] for rule in depends.active_rules([profile] + platform)}


def test_the_hypervisor_profile_is_what_host_prep_installs():
    by_family = yaml.safe_load(_read("roles", "host_prep", "defaults", "main.yml"))["host_prep_packages_by_family"]
    # python3 runs the modules: Ansible needs it before host_prep can install anything
    assert _bindep_packages("hypervisor", "debian", "12") == set(by_family["Debian"]) | {"python3"}
    assert _bindep_packages("hypervisor", "rocky", "9.4") == set(by_family["RedHat"]) | {"python3"}
