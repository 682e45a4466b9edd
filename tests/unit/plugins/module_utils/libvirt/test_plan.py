# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt_plan: every transition of plan_guest, as data."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os

import pytest
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import domain_read as dr
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import plan as lp
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.errors import DomainNotOwned
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")

SPEC = {
    "name": "vm-deb12-005", "virt_type": "qemu", "memory_kib": 262144, "vcpus": 1, "cpu_mode": None, "acpi": True,
    "kernel": "/k", "initrd": "/i", "cmdline": "console=ttyS0", "boot_dev": None, "sysinfo": None,
    "interfaces": [{"type": "bridge", "source": "br-hpcvm", "mac": "52:54:00:77:01:05", "model": "virtio"}],
    "disks": [{"file": "/d/vm-deb12-005.tmp.raw", "format": "raw", "target": "vda", "bus": "virtio",
               "cache": "unsafe", "serial": "hpcvm-tmp", "readonly": False}],
    "filesystems": [], "console_log": "/d/vm-deb12-005.console.log", "metadata": {"image": "deb12"},
    "base_image": None, "tmp_disk_size": 256 * 1024 ** 2,
}
DISK_SPEC = dict(SPEC, kernel=None, initrd=None, cmdline=None, boot_dev="hd", base_image="/img/base.qcow2",
                 disks=[{"file": "/d/vm-deb12-005.qcow2", "format": "qcow2", "target": "vda", "bus": "virtio",
                         "cache": "unsafe", "serial": None, "readonly": False}], tmp_disk_size=None)
NO_FILES = {"overlay": False, "tmp_disk": None, "console_log": False}
FILES = {"overlay": False, "tmp_disk": 256 * 1024 ** 2, "console_log": True}
DISK_FILES = {"overlay": True, "tmp_disk": None, "console_log": True}


def cur(spec=None, active=False, persistent=True, paused=False, ours=True):
    return {"spec": copy.deepcopy(spec or SPEC), "active": active, "persistent": persistent, "paused": paused,
            "ours": ours, "state": "running" if active else "shutoff"}


def changed(**fields):
    return dict(SPEC, **fields)


CASES = [
    # id, desired, state, persistent, current, files, actions, restart_needed, after_state
    ("new running", SPEC, "running", True, None, NO_FILES,
     ["create_tmp_disk", "define", "start"], False, "running"),
    ("new disk guest", DISK_SPEC, "running", True, None, NO_FILES,
     ["create_overlay", "define", "start"], False, "running"),
    ("new, stale files of an earlier life", DISK_SPEC, "running", True, None, dict(DISK_FILES, tmp_disk=5),
     ["remove_overlay", "remove_tmp_disk", "create_overlay", "define", "start"], False, "running"),
    ("new defined", SPEC, "defined", True, None, NO_FILES, ["create_tmp_disk", "define"], False, "shutoff"),
    ("new shutdown", SPEC, "shutdown", True, None, NO_FILES, ["create_tmp_disk", "define"], False, "shutoff"),
    ("new transient", SPEC, "running", False, None, NO_FILES, ["create_tmp_disk", "create_transient"], False,
     "running"),
    ("running, unchanged", SPEC, "running", True, cur(active=True), FILES, [], False, "running"),
    ("off, unchanged, start", SPEC, "running", True, cur(), FILES, ["start"], False, "running"),
    ("paused", SPEC, "running", True, cur(active=True, paused=True), FILES, ["resume"], False, "running"),
    ("modify while off", changed(memory_kib=524288), "running", True, cur(), FILES, ["define", "start"], False,
     "running"),
    ("modify while running", changed(memory_kib=524288), "running", True, cur(active=True), FILES, ["define"],
     True, "running"),
    ("metadata only, running", changed(metadata={"image": "deb12", "job": "7"}), "running", True,
     cur(active=True), FILES, ["set_metadata"], False, "running"),
    ("metadata and memory, running", changed(metadata={}, memory_kib=1024), "running", True, cur(active=True),
     FILES, ["define", "set_metadata"], True, "running"),
    ("tmp disk size while running: untouched", changed(tmp_disk_size=1024 ** 3), "running", True,
     cur(active=True), FILES, [], True, "running"),
    ("tmp disk size while off", changed(tmp_disk_size=1024 ** 3), "defined", True, cur(), FILES,
     ["remove_tmp_disk", "create_tmp_disk", "define"], False, "shutoff"),
    ("tmp disk deleted behind our back", SPEC, "running", True, cur(), dict(FILES, tmp_disk=None),
     ["create_tmp_disk", "start"], False, "running"),
    ("tmp disk no longer wanted", changed(tmp_disk_size=None, disks=[]), "defined", True, cur(), FILES,
     ["remove_tmp_disk", "define"], False, "shutoff"),
    ("new base image while off", dict(DISK_SPEC, base_image="/img/new.qcow2"), "running", True,
     cur(DISK_SPEC), DISK_FILES, ["remove_overlay", "create_overlay", "define", "start"], False, "running"),
    ("overlay missing while off", DISK_SPEC, "running", True, cur(DISK_SPEC), dict(DISK_FILES, overlay=False),
     ["create_overlay", "start"], False, "running"),
    ("shutdown a running guest", SPEC, "shutdown", True, cur(active=True), FILES, ["shutdown"], False, "shutoff"),
    ("destroy a running guest", SPEC, "destroyed", True, cur(active=True), FILES, ["destroy"], False, "shutoff"),
    ("destroyed, already off", SPEC, "destroyed", True, cur(), FILES, [], False, "shutoff"),
    ("defined keeps it running", SPEC, "defined", True, cur(active=True), FILES, [], False, "running"),
    ("transient made persistent", SPEC, "running", True, cur(active=True, persistent=False), FILES, ["define"],
     False, "running"),
    ("transient changed: no redefine", changed(vcpus=2), "running", False, cur(active=True, persistent=False),
     FILES, [], True, "running"),
    ("absent, running", None, "absent", True, cur(active=True), FILES,
     ["destroy", "undefine", "remove_tmp_disk", "remove_console_log"], False, "absent"),
    ("absent, domain gone, files left", None, "absent", True, None, dict(FILES, overlay=True),
     ["remove_overlay", "remove_tmp_disk", "remove_console_log"], False, "absent"),
    ("absent, transient", None, "absent", True, cur(active=True, persistent=False), NO_FILES, ["destroy"], False,
     "absent"),
    ("absent again", None, "absent", True, None, NO_FILES, [], False, "absent"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_plan(case):
    _id, desired, state, persistent, current, files, actions, restart, after = case
    plan = lp.plan_guest(copy.deepcopy(desired), state, persistent, current, files)
    assert plan["actions"] == actions
    assert plan["restart_needed"] is restart
    assert plan["after_state"] == after
    if restart and not actions:
        assert plan["warnings"]


def test_changes_are_reported_readably():
    plan = lp.plan_guest(changed(memory_kib=524288, vcpus=2), "running", True, cur(), FILES)
    assert plan["changes"] == ["memory_kib: 256 MiB -> 512 MiB", "vcpus: 1 -> 2"]
    plan = lp.plan_guest(changed(tmp_disk_size=1024 ** 3), "defined", True, cur(), FILES)
    assert plan["changes"] == ["tmp_disk_size: 256 MiB -> 1024 MiB"]


def test_generated_mac_is_no_change():
    desired = copy.deepcopy(SPEC)
    desired["interfaces"][0]["mac"] = None
    plan = lp.plan_guest(desired, "running", True, cur(active=True), FILES)
    assert plan["actions"] == [] and plan["desired"]["interfaces"][0]["mac"] == "52:54:00:77:01:05"


@pytest.mark.parametrize("state, persistent, current", [
    ("defined", False, None), ("shutdown", False, None), ("destroyed", False, None),
    ("running", False, cur(active=True, persistent=True)), ("bogus", True, None),
])
def test_refused(state, persistent, current):
    with pytest.raises(InvalidInput):
        lp.plan_guest(copy.deepcopy(SPEC), state, persistent, current, NO_FILES)


# ------------------------------------------------------------------ ownership
# The same domain as the cases above, but without our metadata: every state is refused, and nothing planned,
# unless force; with force the plan is the one an owned domain of that spec gets.
FOREIGN_CASES = [c for c in CASES if c[4] is not None]


@pytest.mark.parametrize("case", FOREIGN_CASES, ids=[c[0] for c in FOREIGN_CASES])
def test_a_domain_that_is_not_ours_is_refused_unless_force(case):
    _id, desired, state, persistent, current, files, actions, _restart, _after = case
    foreign = dict(current, ours=False)
    with pytest.raises(DomainNotOwned) as caught:
        lp.plan_guest(copy.deepcopy(desired), state, persistent, foreign, files)
    verb = "remove" if state == "absent" else "change"
    assert caught.value.message == ("refusing to %s domain vm-deb12-005: it is not ours (no urn:hpc.slurm_vm:1 "
                                    "metadata); force=true %ss it" % (verb, verb))
    assert caught.value.details == {"name": "vm-deb12-005", "ours": False, "state": current["state"]}
    forced = lp.plan_guest(copy.deepcopy(desired), state, persistent, foreign, files, force=True)
    assert forced["actions"] == actions


def _foreign_current():
    """What LibvirtClient.current() reads from a real domain another tool defined (libvirt's test driver)."""
    with open(os.path.join(FIXTURES, "libvirt_foreign_test_default.xml")) as handle:
        root = dr.parse_domain(handle.read())
    return {"spec": dr.extract_spec(root), "active": True, "paused": False, "persistent": True,
            "ours": dr.is_ours(root), "state": "running"}


@pytest.mark.parametrize("state", lp.STATES)
def test_a_real_foreign_domain_is_refused(state):
    current = _foreign_current()
    assert current["ours"] is False
    desired = None if state == "absent" else dict(SPEC, name="test")
    with pytest.raises(DomainNotOwned, match="refusing to .* domain test: it is not ours"):
        lp.plan_guest(copy.deepcopy(desired), state, True, current, FILES)
    # its files of that name are left alone too: no remove_* without force
    gone = lp.plan_guest(None, "absent", True, current, dict(FILES, overlay=True), force=True)
    assert gone["actions"] == ["destroy", "undefine", "remove_overlay", "remove_tmp_disk", "remove_console_log"]


def test_no_domain_is_no_ownership_question():
    # nothing of that name in libvirt: the files named after the guest are ours to remove
    assert lp.plan_guest(None, "absent", True, None, FILES)["actions"] == ["remove_tmp_disk", "remove_console_log"]


# ------------------------------------------------------------------------ rng
RNG = [{"model": "virtio", "backend": "random", "source": "/dev/urandom", "rate_bytes": 1024, "rate_period_ms": 1000}]


def _guest_defined_before_rng(active):
    """A real definition of a guest from before the virtio RNG (captured from the lab's libvirtd)."""
    name = "libvirt_vm-deb12-005_%s.xml" % ("live" if active else "inactive")
    with open(os.path.join(FIXTURES, name)) as handle:
        root = dr.parse_domain(handle.read())
    return {"spec": dr.extract_spec(root), "active": active, "paused": False, "persistent": True, "ours": True,
            "state": "running" if active else "shutoff"}


@pytest.mark.parametrize("active, state, actions", [
    (False, "running", ["define", "start"]),
    (False, "defined", ["define"]),
    (True, "running", ["define"]),
])
def test_an_existing_guest_without_the_rng_is_redefined_like_for_any_device(active, state, actions):
    current = _guest_defined_before_rng(active)
    assert current["spec"]["rng"] == []
    desired = dict(copy.deepcopy(current["spec"]), rng=copy.deepcopy(RNG))
    plan = lp.plan_guest(desired, state, True, current, FILES)
    assert plan["actions"] == actions
    assert plan["restart_needed"] is active   # a running guest gets the device at its next start
    assert plan["differences"] == [("rng", [], RNG)]
    assert plan["changes"] == ["rng: [] -> [virtio from /dev/urandom, 1024 bytes per 1000 ms]"]
    # and rng=false on it is no change at all
    unchanged = lp.plan_guest(dict(desired, rng=[]), state, True, current, FILES)
    assert unchanged["differences"] == [] and unchanged["actions"] == actions[1:]


def test_rng_false_on_a_guest_with_the_device_removes_it():
    current = cur(changed(rng=RNG))
    plan = lp.plan_guest(changed(rng=[]), "defined", True, current, FILES)
    assert plan["actions"] == ["define"] and plan["changes"] == [
        "rng: [virtio from /dev/urandom, 1024 bytes per 1000 ms] -> []"]
    other = cur(changed(rng=[dict(RNG[0], source="/dev/random", rate_bytes=None, rate_period_ms=None)]))
    plan = lp.plan_guest(changed(rng=RNG), "defined", True, other, FILES)
    assert plan["actions"] == ["define"] and plan["changes"] == [
        "rng: [virtio from /dev/random, unlimited] -> [virtio from /dev/urandom, 1024 bytes per 1000 ms]"]
