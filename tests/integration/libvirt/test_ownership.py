# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt_guest leaves a domain alone that is not ours (no urn:hpc.slurm_vm:1 metadata) unless force: true.

The foreign domain is a plain `virsh define` of a minimal XML, as another tool or an admin would leave it, with
files of its name in the state folder; it is never started while it is foreign. Removed afterwards in any case.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from .conftest import STATE_DIR, URI, fast_guest, remove_guest, run_module, virsh

HOST = "t7-foreign"
FOREIGN_XML = ("<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
               "<os><type arch='x86_64'>hvm</type></os></domain>" % HOST)
SUFFIXES = (".qcow2", ".tmp.raw", ".console.log")


def _dumpxml():
    return virsh("dumpxml", "--inactive", HOST, check=True).stdout


def _files():
    return sorted(name for name in os.listdir(STATE_DIR) if name.startswith(HOST + ".")) \
        if os.path.isdir(STATE_DIR) else []


def _define_foreign(tmp_path):
    """The foreign domain and files of its name; returns its inactive XML as libvirtd keeps it."""
    xml = tmp_path / "foreign.xml"
    xml.write_text(FOREIGN_XML)
    virsh("define", str(xml), check=True)
    os.makedirs(STATE_DIR, exist_ok=True)
    for suffix in SUFFIXES:
        with open(os.path.join(STATE_DIR, HOST + suffix), "w") as handle:
            handle.write("not ours\n")
    return _dumpxml()


@pytest.fixture
def foreign(libvirtd, tmp_path):
    remove_guest(HOST)
    yield lambda: _define_foreign(tmp_path)
    remove_guest(HOST)


def test_a_domain_that_is_not_ours_is_refused_unless_force(foreign):
    before = foreign()
    assert "urn:hpc.slurm_vm:1" not in before
    info = run_module("libvirt_guest_info", dict(uri=URI, name=[HOST], all=True))
    assert [(g["name"], g["ours"], g["state"]) for g in info["guests"]] == [(HOST, False, "shutoff")]
    assert run_module("libvirt_guest_info", dict(uri=URI, name=[HOST]))["guests"] == []

    cases = [(dict(name=HOST, uri=URI, state_dir=STATE_DIR, state="absent"), "remove"),
             (fast_guest(HOST, tmp_disk=None), "change"),
             (fast_guest(HOST, state="defined"), "change")]
    for args, verb in cases:
        for check in (True, False):
            result = run_module("libvirt_guest", args, check=check)
            assert result.get("failed") and not result["changed"], (args.get("state", "running"), check, result)
            assert result["error"] == "DomainNotOwned" and result["name"] == HOST and result["ours"] is False
            assert result["msg"] == ("refusing to %s domain %s: it is not ours (no urn:hpc.slurm_vm:1 metadata); "
                                     "force=true %ss it" % (verb, HOST, verb))
            assert _dumpxml() == before            # not redefined, not undefined
            assert virsh("domstate", HOST, check=True).stdout.strip() == "shut off"
            assert _files() == sorted(HOST + suffix for suffix in SUFFIXES)   # its files stay

    # force: taken over (redefined with our mark, started), then removed like any guest of ours
    taken = run_module("libvirt_guest", fast_guest(HOST, tmp_disk=None, force=True))
    assert not taken.get("failed") and taken["actions"][-2:] == ["define", "start"], taken
    assert "urn:hpc.slurm_vm:1" in _dumpxml()
    info = run_module("libvirt_guest_info", dict(uri=URI, name=[HOST]))
    assert [(g["name"], g["ours"]) for g in info["guests"]] == [(HOST, True)]
    gone = run_module("libvirt_guest", dict(name=HOST, uri=URI, state_dir=STATE_DIR, state="absent"))
    assert gone["actions"][:2] == ["destroy", "undefine"] and virsh("dominfo", HOST).returncode != 0


def test_force_removes_a_foreign_domain_and_its_files(foreign):
    foreign()
    gone = run_module("libvirt_guest", dict(name=HOST, uri=URI, state_dir=STATE_DIR, state="absent", force=True))
    assert gone["changed"] and gone["actions"] == ["undefine", "remove_overlay", "remove_tmp_disk",
                                                   "remove_console_log"], gone
    assert virsh("dominfo", HOST).returncode != 0 and _files() == []
