# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dnsmasq backend: hostsdir files, atomic writes, SIGHUP only on removal or change."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.model import DhcpServerDown, Reservation
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.backends.dnsmasq import (
    DnsmasqBackend,
    parse_host_file,
    render_host_file,
)

A = Reservation("52:54:00:78:03:01", "10.78.0.71", "vm-a", None, {"vm": "vm-a", "image": "deb12"})


def test_render_parse_roundtrip():
    text = render_host_file(A)
    assert text.splitlines()[1] == "52:54:00:78:03:01,10.78.0.71,vm-a"
    assert parse_host_file("hpc-slurm-vm-vm-a", text) == [Reservation(A.mac, A.ip, "vm-a", None, A.mark)]


@pytest.mark.parametrize("line, expected", [
    ("52:54:00:AA:00:01,10.78.0.5,Printer,infinite", ("52:54:00:aa:00:01", "10.78.0.5", "printer")),
    ("set:lab,52-54-00-aa-00-02,10.78.0.6,12h", ("52:54:00:aa:00:02", "10.78.0.6", None)),
    ("id:01:02,10.78.0.7,x", None),
])
def test_parse_foreign_lines(line, expected):
    found = parse_host_file("site-hosts", line + "\n")
    assert [(r.mac, r.ip, r.hostname, r.owned) for r in found] == ([expected + (False,)] if expected else [])


@pytest.fixture
def dnsmasq(tmp_path):
    hostsdir = tmp_path / "hosts.d"
    hostsdir.mkdir()
    pid_file = tmp_path / "dnsmasq.pid"
    pid_file.write_text("%d\n" % os.getpid())
    signals = []
    backend = DnsmasqBackend(str(hostsdir), str(pid_file), kill=lambda pid, sig: signals.append((pid, sig)))
    backend.pid = os.getpid  # this test process stands in for dnsmasq (comm differs)
    return backend, hostsdir, signals


def test_add_without_signal_then_change_and_remove_with_sighup(dnsmasq):
    backend, hostsdir, signals = dnsmasq
    (hostsdir / "site-hosts").write_text("52:54:00:aa:00:01,10.78.0.5,printer\n")
    with backend.session(write=True):
        backend.apply([], [A])
    assert sorted(os.listdir(str(hostsdir))) == [".hpc-slurm-vm.lock", "hpc-slurm-vm-vm-a", "site-hosts"]
    assert signals == []  # inotify reads new files
    with backend.session(write=False):
        found = backend.find({A.mac}, {"10.78.0.5"}, set())
    assert sorted(r.hostname for r in found) == ["printer", "vm-a"]
    moved = Reservation(A.mac, "10.78.0.72", "vm-a", None, {"vm": "vm-a"})
    with backend.session(write=True):
        backend.apply([r for r in found if r.hostname == "vm-a"], [moved])
    assert (hostsdir / "hpc-slurm-vm-vm-a").read_text().endswith("52:54:00:78:03:01,10.78.0.72,vm-a\n")
    assert signals == [(os.getpid(), signal.SIGHUP)]
    with backend.session(write=True):
        backend.apply(backend.find(set(), set(), {"vm-a"}), [])
    assert not (hostsdir / "hpc-slurm-vm-vm-a").exists() and len(signals) == 2


def test_server_down_before_any_write(tmp_path):
    hostsdir = tmp_path / "hosts.d"
    hostsdir.mkdir()
    backend = DnsmasqBackend(str(hostsdir), str(tmp_path / "missing.pid"))
    with pytest.raises(DhcpServerDown), backend.session(write=True):
        backend.apply([], [A])
    assert os.listdir(str(hostsdir)) == []
    (tmp_path / "other.pid").write_text("%d\n" % os.getpid())  # a live process that is not dnsmasq
    with pytest.raises(DhcpServerDown, match="not dnsmasq"):
        DnsmasqBackend(str(hostsdir), str(tmp_path / "other.pid")).pid()
