# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""inventories/example is the template a site copies: every variable a site must set is there, marked REQUIRED
in a comment, every other variable the playbooks and roles read is there (commented out, with its default),
secrets are vault placeholders, and `ansible-inventory -i inventories/example --list` works with an empty
ansible.cfg from another folder, contacting nothing: the demand source, which runs squeue when parsed, lives
in inventories/example_demand."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import re
import subprocess

import pytest
import yaml

from ansible_collections.hpc.slurm_vm.plugins.inventory import slurm_demand
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
from ansible_collections.hpc.slurm_vm.tests.unit import checkout

EXAMPLE = os.path.join(checkout.ROOT, "inventories", "example")
EXAMPLE_DEMAND = os.path.join(checkout.ROOT, "inventories", "example_demand")
GROUP_VARS = os.path.join(EXAMPLE, "group_vars", "all")

# The variables a site must set: no play, role or module has a default for them (or, for slurm_vm_image_dir,
# the default is a folder the site's images are not in). The one list: the example marks exactly these REQUIRED.
SITE_MUST_SET = ("slurm_vm_host_cluster", "slurm_vm_vm_cluster", "slurm_vm_dns", "slurm_vm_dhcp", "slurm_vm_images",
                 "slurm_vm_image_dir", "slurm_vm_boot", "slurm_vm_state_dir", "slurm_vm_vm_dir",
                 "slurm_vm_provision_url", "slurm_vm_token_secret")
# Where a secret sits; each must be a vault (or AWX credential) placeholder, never a value.
SECRETS = (("slurm_vm_dns", "tsig_secret"), ("slurm_vm_dhcp", "kea_api_password"), ("slurm_vm_token_secret",),
           ("boot_provision_token_secret",))
PLACEHOLDER = re.compile(r"^\{\{ *(vault_[a-z0-9_]+|slurm_vm_[a-z_]+|lookup\(.*\)) *\}\}$")


def _group_vars():
    """{variable: (file, value)} of group_vars/all."""
    found = {}
    for path in sorted(glob.glob(os.path.join(GROUP_VARS, "*.yml"))):
        with open(path) as handle:
            for name, value in (yaml.safe_load(handle) or {}).items():
                assert name not in found, "%s is set in %s and %s" % (name, found[name][0], path)
                found[name] = (path, value)
    return found


def _comment_above(path, name):
    """The comment lines right above `name:` (top level), and the line's own trailing comment."""
    with open(path) as handle:
        lines = handle.read().splitlines()
    (index,) = [i for i, line in enumerate(lines) if line.startswith(name + ":")]
    above = []
    for line in reversed(lines[:index]):
        if not line.startswith("#"):
            break
        above.insert(0, line)
    return "\n".join(above), lines[index].partition(" #")[2]


@pytest.fixture(scope="module")
def listed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("inventory")
    empty_cfg = tmp / "ansible.cfg"
    empty_cfg.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(empty_cfg), ANSIBLE_HOME=str(tmp / "home"), ANSIBLE_LOCAL_TEMP=str(tmp / "local"),
               ANSIBLE_COLLECTIONS_PATH=checkout.COLLECTIONS, ANSIBLE_NOCOLOR="1")
    return subprocess.run([checkout.executable("ansible-inventory"), "-i", EXAMPLE, "--list"], cwd=str(tmp),
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def test_ansible_inventory_lists_the_example_without_a_warning(listed):
    assert listed.returncode == 0, listed.stderr
    assert listed.stderr.strip() == ""   # no "[WARNING]: ... failed to parse", no "Unable to parse"
    inventory = json.loads(listed.stdout)
    assert inventory["scheduler"]["hosts"] == ["slurm-vm-scheduler.example.org"]
    assert len(inventory["hypervisors"]["hosts"]) == 100
    hostvars = inventory["_meta"]["hostvars"]
    for host in inventory["scheduler"]["hosts"] + inventory["hypervisors"]["hosts"]:
        assert [name for name in SITE_MUST_SET if name not in hostvars[host]] == [], host


def test_every_variable_a_site_must_set_is_marked_required_with_a_comment():
    group_vars = _group_vars()
    assert [name for name in SITE_MUST_SET if name not in group_vars] == []
    marked = set()
    for name, (path, _value) in group_vars.items():
        comment, trailing = _comment_above(path, name)
        assert comment or trailing, "%s (%s) has no comment" % (name, os.path.basename(path))
        if "REQUIRED" in comment:
            marked.add(name)
    # the comment block right above says REQUIRED exactly for the variables without a default
    assert marked == set(SITE_MUST_SET)


def test_every_variable_the_playbooks_and_roles_read_is_in_the_example():
    """Set or commented out with its default; the demand plugin's own variables come from the demand source."""
    read = set()
    paths = (glob.glob(os.path.join(checkout.ROOT, "playbooks", "**", "*.yml"), recursive=True)
             + glob.glob(os.path.join(checkout.ROOT, "roles", "*", "[dt]*", "**", "*.yml"), recursive=True)
             + glob.glob(os.path.join(checkout.ROOT, "roles", "*", "templates", "**", "*.j2"), recursive=True))
    for path in paths:
        with open(path) as handle:
            text = handle.read()
        expressions = re.findall(r"\{\{(.*?)\}\}", text, re.S) + re.findall(
            r"^\s*(?:- )?(?:when|that|failed_when|changed_when|until):(.*)$", text, re.M)
        for expression in expressions:
            expression = re.sub(r"groups\[['\"][a-z_]+['\"]\]", "", expression)  # a group's name is no variable
            read.update(re.findall(r"\bslurm_vm_[a-z_]+\b", expression))
    assert set(SITE_MUST_SET) <= read
    from_plugin = set(re.findall(r"\bslurm_vm_[a-z_]+\b", slurm_demand.DOCUMENTATION))
    example_text = ""
    for path in glob.glob(os.path.join(EXAMPLE, "**", "*.yml"), recursive=True):
        with open(path) as handle:
            example_text += handle.read()
    documented = set(re.findall(r"\bslurm_vm_[a-z_]+\b", example_text))
    assert sorted(read - from_plugin - documented) == []


def test_secrets_are_placeholders():
    group_vars = _group_vars()
    for where in SECRETS:
        value = group_vars[where[0]][1]
        for key in where[1:]:
            value = value[key]
        assert PLACEHOLDER.match(value), "%s holds a value, not a vault placeholder" % ".".join(where)
    # and no other key that names a secret holds a plain value
    for name, (_path, value) in group_vars.items():
        for key, item in (value.items() if isinstance(value, dict) else [(name, value)]):
            if re.search(r"(secret|password|_key)$", key):
                assert PLACEHOLDER.match(str(item)), "%s.%s" % (name, key)


def test_the_example_image_table_and_boot_agree():
    group_vars = _group_vars()
    images = image_table.normalize_table(group_vars["slurm_vm_images"][1])
    assert set(group_vars["slurm_vm_boot"][1]) == set(images)


def test_the_demand_source_is_kept_out_of_the_static_inventory_and_reads_the_example_table():
    sources = glob.glob(os.path.join(EXAMPLE_DEMAND, "*.slurm_demand.yml"))
    assert len(sources) == 1
    # anything that parses as a demand source inside inventories/example would run squeue on --list
    assert glob.glob(os.path.join(EXAMPLE, "**", "*.slurm_demand.y*ml"), recursive=True) == []
    with open(sources[0]) as handle:
        source = yaml.safe_load(handle)
    assert source["plugin"] == "hpc.slurm_vm.slurm_demand"
    group_vars = _group_vars()
    assert source["vm_slurm_conf"] == group_vars["slurm_vm_vm_cluster"][1]["slurm_conf"]
    assert source["host_slurm_conf"] == group_vars["slurm_vm_host_cluster"][1]["slurm_conf"]
    # images_file, relative to the source, is the example's table (the plugin reads it, without Slurm)
    plugin = slurm_demand.InventoryModule()
    plugin.get_option = {"images": None, "images_file": source["images_file"]}.get
    assert plugin._images(sources[0]) == image_table.normalize_table(group_vars["slurm_vm_images"][1])
