# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DHCP model, the pure planner and the shared run function (with an in-memory backend)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp import run as dhcp_run
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.model import (
    BackendInfo,
    DhcpBackend,
    DhcpConflict,
    DhcpInvalidInput,
    DhcpNotOwned,
    DhcpServerDown,
    NullSession,
    Reservation,
    ip_in_subnet,
    normalize_hostname,
    normalize_ip,
    normalize_mac,
)
from ansible_collections.hpc.slurm_vm.plugins.modules import dhcp_host, dhcp_host_info


@pytest.mark.parametrize("value, expected", [
    ("52:54:00:78:00:0A", "52:54:00:78:00:0a"),
    ("52-54-00-78-00-0a", "52:54:00:78:00:0a"),
    ("525400780010", "52:54:00:78:00:10"),
])
def test_normalize_mac(value, expected):
    assert normalize_mac(value) == expected


@pytest.mark.parametrize("value", ["52:54:00:78:zz:01", "52:54:00:78:00", "52:54-00:78:00:01", "", None])
def test_invalid_mac(value):
    with pytest.raises(DhcpInvalidInput):
        normalize_mac(value)


@pytest.mark.parametrize("value", ["10.78.0.256", "10.78.0", "a.b.c.d", "10.78.0.1/24"])
def test_invalid_ip(value):
    with pytest.raises(DhcpInvalidInput):
        normalize_ip(value)


def test_hostname_is_lowered_and_checked():
    assert normalize_hostname("VM-Deb12-001") == "vm-deb12-001"
    for bad in ("-x", "a_b", "x" * 64, "a b"):
        with pytest.raises(DhcpInvalidInput):
            normalize_hostname(bad)


def test_ip_in_subnet():
    assert ip_in_subnet("10.78.0.63", "10.78.0.0/26")
    assert not ip_in_subnet("10.78.0.64", "10.78.0.0/26")
    with pytest.raises(DhcpInvalidInput):
        ip_in_subnet("10.78.0.1", "10.78.0.1/24")


def R(name, mac, ip, owned=True, **extra):
    mark = dict({"vm": name}, **extra) if owned else None
    return Reservation(mac, ip, name, 1, mark)


A = R("a", "52:54:00:78:00:01", "10.78.0.11")
B = R("b", "52:54:00:78:00:02", "10.78.0.12")
FOREIGN = R("printer", "52:54:00:78:00:09", "10.78.0.19", owned=False)

# (case, desired, current, state, force, expect: (added, modified, removed, n_removals) or an error class)
PLANS = [
    ("create", [A], [], "present", False, (["a"], [], [], 0)),
    ("unchanged", [A], [A], "present", False, ([], [], [], 0)),
    ("modify ip", [R("a", A.mac, "10.78.0.21")], [A], "present", False, ([], ["a"], [], 1)),
    ("modify mark", [R("a", A.mac, A.ip, image="x")], [A], "present", False, ([], ["a"], [], 1)),
    ("ip held by b", [R("a", A.mac, B.ip)], [B], "present", False, DhcpConflict),
    ("mac held by b", [R("a", B.mac, A.ip)], [B], "present", False, DhcpConflict),
    ("ip held, forced", [R("a", A.mac, B.ip)], [B], "present", True, (["a"], [], [], 1)),
    ("outside subnet", [R("a", A.mac, "10.78.0.99")], [], "present", False, DhcpConflict),
    ("outside subnet, forced", [R("a", A.mac, "10.78.0.99")], [], "present", True, (["a"], [], [], 0)),
    ("same name not ours", [R("printer", FOREIGN.mac, FOREIGN.ip)], [FOREIGN], "present", False, DhcpNotOwned),
    ("delete", [Reservation(None, None, "a")], [A, B], "absent", False, ([], [], ["a"], 1)),
    ("delete missing", [Reservation(None, None, "a")], [B], "absent", False, ([], [], [], 0)),
    ("delete by mac", [Reservation(A.mac, None, None)], [A], "absent", False, ([], [], [A.mac], 1)),
    ("delete not ours", [Reservation(None, None, "printer")], [FOREIGN], "absent", False, DhcpNotOwned),
    ("delete not ours, forced", [Reservation(None, None, "printer")], [FOREIGN], "absent", True,
     ([], [], ["printer"], 1)),
]


@pytest.mark.parametrize("case, desired, current, state, force, expect", PLANS, ids=[p[0] for p in PLANS])
def test_plan(case, desired, current, state, force, expect):
    if isinstance(expect, type):
        with pytest.raises(expect):
            dhcp_run.plan_reservations(desired, current, state, force, "10.78.0.0/26")
        return
    plan = dhcp_run.plan_reservations(desired, current, state, force, "10.78.0.0/26")
    assert (plan.added, plan.modified, plan.removed, len(plan.removals)) == expect
    assert plan.changed == bool(plan.removals or plan.additions)


def test_conflict_names_the_holder():
    with pytest.raises(DhcpConflict) as caught:
        dhcp_run.plan_reservations([R("a", A.mac, B.ip)], [B], "present", subnet="10.78.0.0/26")
    assert "host b (mac 52:54:00:78:00:02" in caught.value.message
    assert caught.value.to_result()["holder"]["hostname"] == "b"


def test_backend_without_mark_storage_compares_names_only():
    stored = R("a", A.mac, A.ip)  # as read back from dnsmasq/dhcpd: mark {'vm': 'a'}
    plan = dhcp_run.plan_reservations([R("a", A.mac, A.ip, image="deb12")], [stored], "present", stores_mark=False)
    assert not plan.changed


def test_desired_rejects_duplicates_and_missing_fields():
    base = dict(mark={}, subnet_id=1, mac=None, ip=None, hostname=None)
    with pytest.raises(DhcpInvalidInput, match="also given"):
        dhcp_run.desired_reservations(dict(base, hosts=[
            dict(hostname="a", mac=A.mac, ip=A.ip), dict(hostname="b", mac=B.mac, ip=A.ip)]), "present")
    with pytest.raises(DhcpInvalidInput, match="needs mac, ip and hostname"):
        dhcp_run.desired_reservations(dict(base, hosts=None, hostname="a"), "present")
    out = dhcp_run.desired_reservations(dict(base, hosts=[dict(hostname="A", mac=A.mac.upper(), ip=A.ip,
                                                               mark={"job": 7})], mark={"image": "x"}), "present")
    assert out[0].hostname == "a" and out[0].mark == {"vm": "a", "image": "x", "job": "7"}


class MemoryBackend(DhcpBackend):
    """In-memory stand-in for the run-function tests (the real backends have their own tests)."""

    info = BackendInfo("memory", needs_subnet_id=True, stores_mark=True)

    def __init__(self, records=(), fail=None):
        self.records = list(records)
        self.applied = []
        self.fail = fail

    def session(self, write):
        if self.fail:
            raise self.fail
        return NullSession()

    def find(self, macs, ips, hostnames, subnet_id=None):
        return [r for r in self.records if r.mac in macs or r.ip in ips or r.hostname in hostnames]

    def list(self, subnet_id=None):
        return list(self.records)

    def apply(self, removals, additions):
        self.applied.append((removals, additions))
        self.records = [r for r in self.records if r not in removals] + list(additions)


ARGS = dict(backend="kea_pgsql", subnet_id=1, subnet="10.78.0.0/26")


@pytest.fixture
def memory(monkeypatch):
    backend = MemoryBackend([B])
    monkeypatch.setattr(dhcp_run, "create_backend", lambda params: backend)
    return backend


def test_module_check_mode_predicts_and_writes_nothing(run_module, memory):
    args = dict(ARGS, hostname="a", mac=A.mac, ip=A.ip, _ansible_check_mode=True)
    kind, result = run_module(dhcp_host.main, args)
    assert kind == "exit" and result["changed"] and result["added"] == ["a"]
    assert result["diff"]["after"]["hosts"][0]["mark"] == {"vm": "a"}
    assert memory.applied == []


def test_module_create_then_idempotent(run_module, memory):
    args = dict(ARGS, hostname="a", mac=A.mac, ip=A.ip)
    assert run_module(dhcp_host.main, args)[1]["changed"]
    kind, result = run_module(dhcp_host.main, args)
    assert kind == "exit" and not result["changed"] and result["unchanged"] == 1
    assert len(memory.applied) == 1


def test_module_conflict_is_one_failure(run_module, memory):
    kind, result = run_module(dhcp_host.main, dict(ARGS, hostname="a", mac=A.mac, ip=B.ip))
    assert kind == "fail" and result["error"] == "DhcpConflict" and "host b" in result["msg"]
    assert memory.applied == []


def test_module_needs_subnet_id(run_module, memory):
    kind, result = run_module(dhcp_host.main, dict(backend="kea_pgsql", hostname="a", mac=A.mac, ip=A.ip))
    assert kind == "fail" and "needs subnet_id" in result["msg"]


def test_module_server_down(run_module, memory):
    memory.fail = DhcpServerDown("cannot reach")
    kind, result = run_module(dhcp_host.main, dict(ARGS, hostname="a", mac=A.mac, ip=A.ip))
    assert kind == "fail" and result["error"] == "DhcpServerDown"


def test_info_module_lists(run_module, memory):
    kind, result = run_module(dhcp_host_info.main, dict(backend="kea_pgsql", subnet_id=1))
    assert kind == "exit" and [r["hostname"] for r in result["reservations"]] == ["b"]


def test_info_module_lists_only_the_subnet(run_module, memory):
    # subnet comes from the group's module_defaults with the connection options, as for dhcp_host
    outside = Reservation("52:54:00:78:01:0b", "10.79.0.11", "c", 1, {"vm": "c"})
    memory.records.append(outside)
    kind, result = run_module(dhcp_host_info.main, dict(ARGS))
    assert kind == "exit" and [r["hostname"] for r in result["reservations"]] == ["b"]
    kind, result = run_module(dhcp_host_info.main, dict(ARGS, subnet="10.79.0.0/24"))
    assert kind == "exit" and [r["hostname"] for r in result["reservations"]] == ["c"]
    kind, result = run_module(dhcp_host_info.main, dict(backend="kea_pgsql", subnet_id=1))
    assert kind == "exit" and [r["hostname"] for r in result["reservations"]] == ["b", "c"]


def test_info_module_refuses_a_bad_subnet(run_module, memory):
    kind, result = run_module(dhcp_host_info.main, dict(ARGS, subnet="10.78.0.0/33"))
    assert kind == "fail" and result["error"] == "DhcpInvalidInput"


class UnreachableFactory(object):
    """A backend factory that records being asked: bad input must be refused before any backend exists."""

    def __init__(self):
        self.calls = 0

    def __call__(self, params):
        self.calls += 1
        return MemoryBackend([B])


@pytest.mark.parametrize("field, value, message", [
    ("ip", "10.78.0.0", "10.78.0.0 is the network address of 10.78.0.0/26"),
    ("ip", "10.78.0.63", "10.78.0.63 is the broadcast address of 10.78.0.0/26"),
    ("mac", "01:00:5e:00:00:fb", "multicast"),
    ("mac", "ff:ff:ff:ff:ff:ff", "broadcast address"),
    ("mac", "00:00:00:00:00:00", "all-zero"),
])
def test_addresses_that_name_no_host_are_refused_before_any_backend(field, value, message):
    factory = UnreachableFactory()
    for force in (False, True):
        for params in (dict(ARGS, hosts=None, hostname="a", mac=A.mac, ip=A.ip),
                       dict(ARGS, hosts=[dict(hostname="b", mac=B.mac, ip=B.ip),
                                         dict(hostname="a", mac=A.mac, ip=A.ip)])):
            params = dict(params, state="present", force=force, mark={})
            target = params["hosts"][-1] if params["hosts"] else params
            target[field] = value
            with pytest.raises(DhcpInvalidInput) as caught:
                dhcp_run.dhcp_host_result(params, check_mode=False, backend_factory=factory)
            assert factory.calls == 0, "a backend was created for %s %s" % (field, value)
            assert message in caught.value.message
            if params["hosts"]:
                assert caught.value.message.startswith("hosts[1] (a): ")


def test_module_refuses_the_network_address_before_the_backend(run_module, memory):
    kind, result = run_module(dhcp_host.main, dict(ARGS, hostname="a", mac=A.mac, ip="10.78.0.0", force=True))
    assert kind == "fail" and result["error"] == "DhcpInvalidInput", result
    assert "10.78.0.0 is the network address of 10.78.0.0/26" in result["msg"]
    assert memory.applied == []


def test_a_malformed_subnet_is_reported_as_the_subnet():
    params = dict(ARGS, subnet="10.78.0.1/26", state="present", force=False, mark={},
                  hosts=[dict(hostname="a", mac=A.mac, ip=A.ip)])
    with pytest.raises(DhcpInvalidInput) as caught:
        dhcp_run.dhcp_host_result(params, check_mode=False, backend_factory=UnreachableFactory())
    assert caught.value.message.startswith("invalid subnet '10.78.0.1/26': host bits are set")
