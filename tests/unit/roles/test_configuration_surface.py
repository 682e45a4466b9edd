# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One configuration surface: the connection options of the dns, dhcp, slurm and libvirt modules reach
them only through the plays' module_defaults, built once from the site variables.

Read from the files themselves (role tasks, plays, doc fragments, meta/runtime.yml), so a role that
passes a connection option again, a play that drops a group's defaults, or a filter that drops an
option of a DHCP backend fails here.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import glob
import os

import pytest
import yaml

from ansible_collections.hpc.slurm_vm.plugins.filter import marks as marks_filter
from ansible_collections.hpc.slurm_vm.plugins.filter import module_defaults
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common import marks
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp import run as dhcp_run
from ansible_collections.hpc.slurm_vm.tests.unit.checkout import IN_CHECKOUT, checkout_only

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
COLLECTION = "hpc.slurm_vm."
GROUPS = ("dns", "dhcp", "slurm", "libvirt")
# The roles whose tasks run the grouped modules; a play that runs one of them must set the defaults.
CONNECTED_ROLES = ("claim", "teardown", "reconcile", "spawn")
# Every play that runs those roles (the scheduler, the reconciler, the molecule scenarios).
PLAY_FILES = ["playbooks/scheduler.yml", "playbooks/gc.yml"] + sorted(
    os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "tests", "molecule", "lab", "*.yml")))
TASK_FILES = sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml"))
                    + glob.glob(os.path.join(ROOT, "playbooks", "tasks", "*.yml")))
# Which site variable feeds which defaults: the one place a play says it.
EXPECTED_DEFAULTS = {
    "group/hpc.slurm_vm.dns": "{{ slurm_vm_dns | hpc.slurm_vm.dns_defaults }}",
    "group/hpc.slurm_vm.dhcp": "{{ slurm_vm_dhcp | hpc.slurm_vm.dhcp_defaults }}",
    "group/hpc.slurm_vm.slurm": "{{ slurm_vm_vm_cluster | hpc.slurm_vm.slurm_defaults }}",
    "hpc.slurm_vm.slurm_host_job": "{{ slurm_vm_host_cluster | hpc.slurm_vm.slurm_defaults }}",
    "group/hpc.slurm_vm.libvirt": "{{ slurm_vm_libvirt_uri | default(none) | hpc.slurm_vm.libvirt_defaults("
                                  "slurm_vm_vm_dir, slurm_vm_image_dir | default(none)) }}",
}


def _load(path):
    with open(os.path.join(ROOT, path)) as handle:
        return yaml.safe_load(handle)


def _fragment(name):
    """The documented options of doc fragment hpc.slurm_vm.<name> (read from the file, not imported)."""
    with open(os.path.join(ROOT, "plugins", "doc_fragments", name + ".py")) as handle:
        tree = ast.parse(handle.read())
    for node in ast.walk(tree):
        names = [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
        if isinstance(node, ast.Assign) and names == ["DOCUMENTATION"]:
            return yaml.safe_load(node.value.value)["options"]
    raise AssertionError("no DOCUMENTATION in fragment %s" % name)


CONNECTION_OPTIONS = {group: set(_fragment(group)) for group in GROUPS}
ACTION_GROUPS = _load("meta/runtime.yml")["action_groups"]
MODULE_GROUP = {module: group for group in GROUPS for module in ACTION_GROUPS[group]}


def _tasks(items):
    """Every task of a task list, blocks, rescues and always included."""
    for task in items or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key))


def _action(task):
    for key in task:
        if key.startswith(COLLECTION):
            return key[len(COLLECTION):]
    return None


def _role_tasks():
    for path in TASK_FILES:
        for task in _tasks(_load(path)):
            yield path, task
    for path in PLAY_FILES:
        for play in _load(path):
            for section in ("pre_tasks", "tasks", "post_tasks", "handlers"):
                for task in _tasks(play.get(section)):
                    yield path, task


def _plays_running_roles():
    for path in PLAY_FILES:
        for play in _load(path):
            names = [r if isinstance(r, str) else r.get("role") or r.get("name") for r in play.get("roles") or []]
            for section in ("pre_tasks", "tasks", "post_tasks"):
                for task in _tasks(play.get(section)):
                    # a play's own task files (playbooks/tasks) run under the play's module_defaults
                    included = task.get("ansible.builtin.include_tasks")
                    inner = _tasks(_load(os.path.join(os.path.dirname(path), included))) if included else []
                    for each in [task] + list(inner):
                        for key in ("ansible.builtin.include_role", "ansible.builtin.import_role"):
                            if key in each:
                                names.append(each[key]["name"])
            roles = {n.split(".")[-1] for n in names if n}
            if roles & set(CONNECTED_ROLES):
                yield path, play["name"], play.get("module_defaults")


def test_the_groups_hold_every_module_that_takes_connection_options():
    assert set(ACTION_GROUPS) >= set(GROUPS)
    for module, group in MODULE_GROUP.items():
        with open(os.path.join(ROOT, "plugins", "modules", module + ".py")) as handle:
            source = handle.read()
        assert "hpc.slurm_vm.%s\n" % group in source, "%s does not extend the %s fragment" % (module, group)


@pytest.mark.parametrize("path", TASK_FILES + PLAY_FILES)
def test_no_task_sets_a_connection_option(path):
    offenders = []
    for where, task in _role_tasks():
        if where != path:
            continue
        module = _action(task)
        if module not in MODULE_GROUP:
            continue
        args = task[COLLECTION + module] or {}
        passed = sorted(set(args) & CONNECTION_OPTIONS[MODULE_GROUP[module]])
        if passed:
            offenders.append("%r passes %s" % (task.get("name"), ", ".join(passed)))
    assert not offenders, "%s: connection options belong in the play's module_defaults: %s" % (path, offenders)


def test_every_play_that_runs_the_roles_sets_the_same_defaults():
    plays = list(_plays_running_roles())
    expected = {"playbooks/scheduler.yml", "playbooks/gc.yml"}
    if IN_CHECKOUT:  # the molecule scenarios drive the lab: they do not ship
        expected |= {"tests/molecule/lab/claim_vm.yml", "tests/molecule/lab/spawn_vm.yml",
                     "tests/molecule/lab/teardown_vm.yml"}
    assert {p for p, _name, _defaults in plays} >= expected
    for path, name, defaults in plays:
        merged = {}
        for entry in defaults if isinstance(defaults, list) else [defaults or {}]:
            merged.update(entry)
        got = {key: " ".join(str(value).split()) for key, value in merged.items() if key in EXPECTED_DEFAULTS}
        assert got == EXPECTED_DEFAULTS, "%s, play %r" % (path, name)


def _sample(option):
    return {"int": 1, "float": 1.5, "bool": False}.get(option.get("type"), "x")


def test_the_dhcp_defaults_carry_every_option_of_every_backend():
    options = _fragment("dhcp")
    site = {name: _sample(spec) for name, spec in options.items()}
    assert set(module_defaults.dhcp_defaults(site)) == set(options)
    # both modules of the group accept every key the group's defaults give
    assert set(dhcp_run.dhcp_host_argument_spec()) >= set(options)
    assert set(dhcp_run.dhcp_host_info_argument_spec()) >= set(options)
    assert set(dhcp_run.site_argument_spec()) == set(options)


def test_the_dhcp_defaults_refuse_an_unknown_key():
    with pytest.raises(Exception, match="kea_api_pasword"):
        module_defaults.dhcp_defaults({"backend": "kea_api", "kea_api_pasword": "typo"})


def test_the_lab_dhcp_settings_become_the_defaults():
    assert module_defaults.dhcp_defaults({"backend": "dnsmasq", "dnsmasq_hostsdir": "/d", "dnsmasq_pid_file": "/p",
                                          "subnet": "10.77.0.0/16", "pgsql_password": None}) == {
        "backend": "dnsmasq", "dnsmasq_hostsdir": "/d", "dnsmasq_pid_file": "/p", "subnet": "10.77.0.0/16"}


@pytest.mark.parametrize("inventory", [pytest.param("lab", marks=checkout_only), "example"])
def test_the_shipped_site_settings_pass_the_filters(inventory):
    # the site dicts are templates; their keys are what the filters judge
    group_vars = os.path.join("inventories", inventory, "group_vars", "all")
    site = {}
    for path in sorted(glob.glob(os.path.join(ROOT, group_vars, "*.yml"))):
        site.update(_load(os.path.relpath(path, ROOT)) or {})
    assert set(module_defaults.dhcp_defaults(site["slurm_vm_dhcp"])) >= {"backend", "subnet"}
    assert set(module_defaults.dns_defaults(site["slurm_vm_dns"])) >= {"server", "key_name", "key_secret"}
    for cluster in ("slurm_vm_host_cluster", "slurm_vm_vm_cluster"):
        assert module_defaults.slurm_defaults(site[cluster])["slurm_conf"]
    assert module_defaults.libvirt_defaults(None, None, site["slurm_vm_image_dir"]) == {
        "image_dir": site["slurm_vm_image_dir"]}


def test_the_dns_defaults_carry_every_connection_option_and_no_zone():
    options = _fragment("dns")
    key = {"tsig_key_name": "k", "tsig_secret": "c2VjcmV0", "tsig_algorithm": "hmac-sha256"}
    site = dict(key, server="10.77.0.1", port=53, timeout=2.0, zone="vms.lab.test", reverse_zone="77.10.in-addr.arpa")
    got = module_defaults.dns_defaults(site)
    assert set(got) == set(options)
    assert (got["key_name"], got["key_secret"], got["key_algorithm"]) == tuple(key.values())
    with pytest.raises(Exception, match="tsig_secrets"):
        module_defaults.dns_defaults(dict(site, tsig_secrets="typo"))


def test_the_slurm_defaults_select_the_cluster_and_nothing_else():
    options = _fragment("slurm")
    host = {"name": "labhost", "slurm_conf": "/etc/host/slurm.conf", "partition": "hosts", "port": 6817}
    assert module_defaults.slurm_defaults(host) == dict.fromkeys(options, None) | {"slurm_conf": "/etc/host/slurm.conf"}
    assert module_defaults.slurm_defaults(dict(host, cluster="labhost"))["cluster"] == "labhost"


def test_the_libvirt_defaults_carry_both_options():
    assert module_defaults.libvirt_defaults("qemu:///system", "/var/lib/vms") == {
        "uri": "qemu:///system", "state_dir": "/var/lib/vms"}
    assert set(module_defaults.libvirt_defaults("qemu:///system", "/v")) == set(_fragment("libvirt"))
    assert module_defaults.libvirt_defaults(None, "/v") == {"state_dir": "/v"}
    # and the site's image directory (libvirt_guest's own option; libvirt_guest_info accepts it)
    assert set(module_defaults.libvirt_defaults("qemu:///system", "/v", "/i")) == set(_fragment("libvirt")) | {
        "image_dir"}


def test_no_role_or_play_spells_an_ownership_prefix():
    # the roles name reservations and host jobs with the filters vm_reservation_name and vm_host_job_name
    for path in TASK_FILES + PLAY_FILES + sorted(
            os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "roles", "*", "defaults", "*.yml"))):
        with open(os.path.join(ROOT, path)) as handle:
            text = handle.read()
        spelled = (marks.RESERVATION_PREFIX + "{{", marks.HOST_JOB_PREFIX + "{{", marks.DEFAULT_REASON_PREFIX + " ")
        for prefix in spelled:
            assert prefix not in text, "%s spells %r" % (path, prefix)


@checkout_only
def test_the_lab_demand_inventory_reads_reasons_with_the_site_prefix():
    # the inventory source cannot read group_vars: its reason_prefix (or the default) must match the site's
    site = _load("inventories/lab/group_vars/all/scheduler.yml")
    source = _load("inventories/lab_demand/lab.slurm_demand.yml")
    expected = site.get("slurm_vm_teardown_reason_prefix") or marks.DEFAULT_REASON_PREFIX
    assert (source.get("reason_prefix") or marks.DEFAULT_REASON_PREFIX) == expected


def test_node_reasons_and_host_job_refs():
    assert marks_filter.vm_node_reason("VM gone", "site:") == "site: VM gone"
    assert marks_filter.vm_node_reason("VM gone", "") == marks.DEFAULT_REASON_PREFIX + " VM gone"
    assert marks_filter.vm_node_reason("boot failed", None) == marks.DEFAULT_REASON_PREFIX + " boot failed"
    assert marks_filter.vm_host_job_ref("vm-a-001") == {"hostname": "vm-a-001"}
