# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reconciler's planner: marks, live-VM protection, grace and first-seen memory, nodes."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.hpc.slurm_vm.plugins.filter.reconcile import reconcile_dns_record
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import reconcile as reconcile_plan

NOW = 1800000000
ZONE = "vms.lab.test."
RZONE = "77.10.in-addr.arpa."
NET = {"bridge": "br0", "subnet": "10.77.0.0/16"}
IMAGES = image_table.normalize_table({
    "deb12": {"pool": "vm-deb12-[001-004]", "network": dict(NET, ip_offset=256, mac_prefix="52:54:00:77:01")},
    "disk": {"pool": "vm-disk-[001-002]", "network": dict(NET, ip_offset=512, mac_prefix="52:54:00:77:02")},
})
VM_DIR = "/var/lib/hpc-slurm-vm/guests"


def _node(state="FUTURE", flags=(), reason="", registered=False, slurmd_start=None, alloc=0):
    return {"state": state, "flags": list(flags), "reason": reason, "registered": registered,
            "boot_time": None, "slurmd_start": slurmd_start, "last_busy": None, "gres": "", "features": "",
            "alloc_cpus": alloc}


def _snapshot(host_jobs=None, reservations=(), nodes=None, foreign=()):
    """reservations: names of reservations with our mark (as spawn makes them); foreign: named like ours, without."""
    all_nodes = {h: _node() for i in IMAGES.values() for h in i["hosts"]}
    all_nodes.update(nodes or {})
    jobs = {}
    for index, (host, state) in enumerate(sorted((host_jobs or {}).items())):
        jobs[host] = {"id": str(500 + index), "name": "hpcvm:" + host, "state": state,
                      "start": NOW - 1000 if state == "RUNNING" else None,
                      "hypervisor": "hv01" if state == "RUNNING" else None}
    res = {name: {"nodes": name[6:], "start": NOW, "end": NOW + 3600, "users": "root", "state": "INACTIVE",
                  "ours": name in reservations} for name in list(reservations) + list(foreign)}
    return {"time": NOW, "vm_jobs": [], "nodes": all_nodes, "reservations": res, "host_jobs": jobs}


def _dns(host, owned=True, image="deb12", job="77"):
    name = "%s.%s" % (host, ZONE)
    mark = {"vm": host, "image": image, "job": job} if owned else None
    records = {"A": ["10.77.1.9"]}
    if owned:
        records["TXT"] = ['"hpc.slurm_vm vm=%s image=%s job=%s"' % (host, image, job)]
    return {"name": name, "label": host, "zone": ZONE, "mark": mark, "owned": owned, "records": records}


def _ptr(host, ip, target=None):
    import ipaddress
    return {"name": ipaddress.ip_address(ip).reverse_pointer + ".", "zone": RZONE, "owned": False, "mark": None,
            "records": {"PTR": [target or "%s.%s" % (host, ZONE)]}}


def _dhcp(host, owned=True):
    image = image_table.image_of_host(IMAGES, host)
    return {"hostname": host, "mac": image_table.vm_mac(image, host), "ip": image_table.vm_ip(image, host),
            "owned": owned, "mark": {"vm": host} if owned else None}


def _guest(name, state="running", ours=True):
    meta = {"image": "deb12", "host_job": "12"} if ours else {}
    return {"name": name, "state": state, "ours": ours, "metadata": meta}


def _plan(snapshot=None, grace=0, first_seen=None, **kwargs):
    args = dict(dns=[], dns_zone=ZONE, ptrs=[], reverse_zone=RZONE, dhcp=[], domains={"hv01": []},
                files={"hv01": []})
    args.update(kwargs)
    inputs = reconcile_plan.ReconcileInputs(snapshot or _snapshot(), IMAGES, NOW, grace, first_seen=first_seen, **args)
    return reconcile_plan.plan(inputs)


def _kinds(items):
    return [(i["kind"], i["hostname"], i["where"]) for i in items]


def _orphans_of(host):
    """One record of every kind for host, none of them live."""
    return dict(
        snapshot=_snapshot(reservations=["hpcvm-" + host],
                           nodes={host: _node("DOWN", reason="hpc.slurm_vm: VM gone")}),
        dns=[_dns(host)], dhcp=[_dhcp(host)],
        domains={"hv01": [_guest(host)]}, files={"hv01": [VM_DIR + "/%s.tmp" % host]},
    )


def test_every_kind_of_orphan_is_removed_with_grace_zero_in_apply_order():
    result = _plan(**_orphans_of("vm-deb12-003"))
    assert _kinds(result["remove"]) == [
        ("domain", "vm-deb12-003", "hv01"),
        ("reservation", "vm-deb12-003", "vm cluster"),
        ("dhcp", "vm-deb12-003", "dhcp"),
        ("dns", "vm-deb12-003", ZONE),
        ("node", "vm-deb12-003", "vm cluster"),
    ]  # the file belongs to its domain, which takes it along
    assert result["counts"] == {"domain": 1, "reservation": 1, "dhcp": 1, "dns": 1, "node": 1}
    for item in result["remove"]:
        assert "orphaned for 0s, grace 0s" in item["reason"]
    dns = [i for i in result["remove"] if i["kind"] == "dns"][0]
    assert dns["name"] == "vm-deb12-003." + ZONE and dns["ptr"] is True
    assert "image deb12, host job 77" in dns["reason"]
    dhcp = [i for i in result["remove"] if i["kind"] == "dhcp"][0]
    assert (dhcp["mac"], dhcp["ip"]) == ("52:54:00:77:01:03", "10.77.1.3")
    node = [i for i in result["remove"] if i["kind"] == "node"][0]
    assert "DOWN" in node["reason"] and "the collection set that reason" in node["reason"]


def test_file_without_domain_is_removed():
    result = _plan(files={"hv01": [VM_DIR + "/vm-disk-002.tmp", VM_DIR + "/vm-disk-002.console.log"]})
    assert [(i["kind"], i["path"]) for i in result["remove"]] == [
        ("file", VM_DIR + "/vm-disk-002.console.log"), ("file", VM_DIR + "/vm-disk-002.tmp")]


@pytest.mark.parametrize("state", ["PENDING", "RUNNING", "COMPLETING"])
def test_records_of_a_host_with_a_host_job_are_never_touched(state):
    args = _orphans_of("vm-deb12-003")
    args["snapshot"]["host_jobs"] = _snapshot(host_jobs={"vm-deb12-003": state})["host_jobs"]
    args["files"]["hv01"].append(VM_DIR + "/vm-deb12-003.qcow2")
    args["domains"] = {"hv02": []}
    for first_seen in (None, {"dns|%s|vm-deb12-003.%s" % (ZONE, ZONE): NOW - 10 ** 6}):
        result = _plan(first_seen=first_seen, **args)
        assert result["remove"] == [] and result["waiting"] == []
        assert {i["kind"] for i in result["protected"]} == {"dns", "dhcp", "reservation", "file"}
        assert all(i["reason"].startswith("live VM: host job 500 " + state) for i in result["protected"])
        assert result["first_seen"] == {}  # a live record is forgotten


def test_hosts_claimed_in_this_run_are_live():
    args = _orphans_of("vm-deb12-003")
    result = _plan(live_hosts=["vm-deb12-003"], **args)
    assert result["remove"] == []
    assert {i["reason"] for i in result["protected"]} == {"live VM: claimed in this run"}


def test_unmarked_records_are_left_alone():
    result = _plan(
        snapshot=_snapshot(reservations=["maint-vm-deb12-003", "hpcvmx"]),
        dns=[_dns("vm-deb12-003", owned=False), _dns("www", owned=False)],
        dhcp=[_dhcp("vm-deb12-004", owned=False)],
        domains={"hv01": [_guest("vm-deb12-003", ours=False)]},
        files={"hv01": [VM_DIR + "/other.tmp", VM_DIR + "/vm-deb12-0031.tmp", VM_DIR + "/vm-deb12-003",
                        VM_DIR + "/vm-deb12-009.tmp"]},
    )
    assert result["remove"] == [] and result["waiting"] == [] and result["first_seen"] == {}


def test_marked_dns_outside_the_pool_is_still_ours():
    result = _plan(dns=[_dns("vm-gone-001", image="gone")])
    assert _kinds(result["remove"]) == [("dns", "vm-gone-001", ZONE)]


def test_reservation_naming_no_pool_host():
    result = _plan(snapshot=_snapshot(reservations=["hpcvm-vm-gone-001"]))
    assert _kinds(result["remove"]) == [("reservation", "vm-gone-001", "vm cluster")]
    assert "names no pool host" in result["remove"][0]["reason"]


def test_a_reservation_named_like_ours_without_the_mark_is_never_judged():
    result = _plan(snapshot=_snapshot(foreign=["hpcvm-vm-gone-001", "hpcvm-vm-disk-003"]))
    assert result["remove"] == [] and result["waiting"] == [] and result["first_seen"] == {}


def test_grace_period_and_first_seen_memory():
    args = _orphans_of("vm-disk-001")
    first = _plan(grace=600, **copy.deepcopy(args))
    assert first["remove"] == []
    assert len(first["waiting"]) == 5
    assert all("orphaned for 0s, removed after 10m" in i["reason"] for i in first["waiting"])
    assert set(first["first_seen"].values()) == {NOW}
    keys = sorted(first["first_seen"])
    assert keys == sorted(i["key"] for i in first["waiting"])

    # 599 s later the clock still runs; 600 s later everything goes
    almost = dict.fromkeys(keys, NOW - 599)
    assert _plan(grace=600, first_seen=almost, **copy.deepcopy(args))["remove"] == []
    due = dict.fromkeys(keys, NOW - 600)
    second = _plan(grace=600, first_seen=due, **copy.deepcopy(args))
    assert len(second["remove"]) == 5
    assert second["first_seen"] == due  # kept until the record is seen gone
    assert "orphaned for 10m, grace 10m" in second["remove"][0]["reason"]


def test_memory_forgets_records_that_disappear_or_turn_live_and_keeps_unread_hypervisors():
    previous = {
        "dns|%s|vm-deb12-001.%s" % (ZONE, ZONE): NOW - 50,    # gone now
        "dhcp|dhcp|vm-deb12-002/52:54:00:77:01:02": NOW - 50,  # now live
        "domain|hv03|vm-deb12-004": NOW - 50,                  # hv03 not read this run
        "file|hv03|/x/vm-deb12-004.tmp": NOW - 50,
        "domain|hv01|vm-deb12-004": NOW - 50,                  # hv01 read: gone
    }
    result = _plan(grace=600, first_seen=previous, snapshot=_snapshot(host_jobs={"vm-deb12-002": "PENDING"}),
                   dhcp=[_dhcp("vm-deb12-002")])
    assert result["first_seen"] == {"domain|hv03|vm-deb12-004": NOW - 50, "file|hv03|/x/vm-deb12-004.tmp": NOW - 50}


def test_memory_from_the_future_restarts_the_clock():
    key = "dns|%s|vm-deb12-001.%s" % (ZONE, ZONE)
    result = _plan(grace=600, first_seen={key: NOW + 5000}, dns=[_dns("vm-deb12-001")])
    assert result["first_seen"] == {key: NOW} and result["remove"] == []


def test_sources_not_read_are_not_judged():
    first_seen = {"dns|%s|x.%s" % (ZONE, ZONE): 1}
    result = reconcile_plan.plan(reconcile_plan.ReconcileInputs(_snapshot(), IMAGES, NOW, 0, first_seen=first_seen))
    assert result["remove"] == [] and result["first_seen"] == {"dns|%s|x.%s" % (ZONE, ZONE): 1}


def test_orphan_ptr_without_forward_name():
    result = _plan(ptrs=[_ptr("vm-deb12-002", "10.77.1.2")])
    assert [(i["kind"], i["name"], i.get("type")) for i in result["remove"]] == [
        ("dns", "2.1.77.10.in-addr.arpa.", "PTR")]
    assert result["remove"][0]["where"] == RZONE and result["remove"][0]["ptr"] is False
    # removed by the value it points at: dns_record takes a PTR removed without one for someone else's
    assert result["remove"][0]["value"] == "vm-deb12-002." + ZONE


def test_an_orphan_ptr_becomes_a_dns_record_removal_by_its_value():
    item = _plan(ptrs=[_ptr("vm-deb12-002", "10.77.1.2")])["remove"][0]
    assert reconcile_dns_record(item) == {"name": "2.1.77.10.in-addr.arpa.", "type": "PTR", "zone": RZONE,
                                          "value": ["vm-deb12-002." + ZONE], "ptr": False}


@pytest.mark.parametrize("ptr,forward", [
    (_ptr("vm-deb12-002", "10.77.1.2"), [_dns("vm-deb12-002")]),             # the forward name takes it along
    (_ptr("vm-deb12-002", "10.77.1.2"), [_dns("vm-deb12-002", owned=False)]),  # points at an unmarked name
    (_ptr("vm-deb12-002", "10.77.1.7"), []),                                # not the pool address of that host
    (_ptr("www", "10.77.1.2", target="www." + ZONE), []),                   # not a pool host
    (_ptr("vm-deb12-002", "10.77.1.2", target="vm-deb12-002.other.test."), []),  # another domain
])
def test_ptrs_that_are_not_orphans_of_ours(ptr, forward):
    result = _plan(ptrs=[ptr], dns=forward)
    assert [i for i in result["remove"] if i.get("type") == "PTR"] == []


@pytest.mark.parametrize("node", [
    _node("FUTURE"),
    _node("IDLE", registered=True, slurmd_start=NOW - 10),          # a slurmd answers: its domain first
    _node("ALLOCATED", registered=False, alloc=1),                  # a job still there
    _node("MIXED", flags=["DRAIN"], reason="hpc.slurm_vm: idle", alloc=1),
])
def test_nodes_left_alone(node):
    result = _plan(snapshot=_snapshot(nodes={"vm-deb12-001": node}))
    assert [i for i in result["remove"] + result["waiting"] if i["kind"] == "node"] == []


@pytest.mark.parametrize("node,text", [
    (_node("DOWN", reason="hpc.slurm_vm: VM gone"), "DOWN (reason: hpc.slurm_vm: VM gone)"),
    (_node("IDLE", flags=["DRAIN", "NOT_RESPONDING"], reason="hpc.slurm_vm: idle for 400s"),
     "IDLE+DRAIN+NOT_RESPONDING"),
    (_node("IDLE", flags=["NOT_RESPONDING"]), "IDLE+NOT_RESPONDING with no host job"),
])
def test_nodes_returned_to_the_pool(node, text):
    result = _plan(snapshot=_snapshot(nodes={"vm-deb12-001": node}))
    assert _kinds(result["remove"]) == [("node", "vm-deb12-001", "vm cluster")]
    assert text in result["remove"][0]["reason"]


def test_node_of_a_live_vm_is_not_returned():
    snap = _snapshot(host_jobs={"vm-deb12-001": "RUNNING"},
                     nodes={"vm-deb12-001": _node("DOWN", reason="hpc.slurm_vm: x")})
    assert _plan(snapshot=snap)["remove"] == []


def _future_after_restart(slurmd_start):
    return _snapshot(host_jobs={"vm-deb12-001": "RUNNING"},
                     nodes={"vm-deb12-001": _node("FUTURE", slurmd_start=slurmd_start)})


def test_resume_future_node_of_a_running_vm():
    result = _plan(snapshot=_future_after_restart(NOW - 900), domains={"hv01": [_guest("vm-deb12-001")]})
    assert [(i["hostname"], i["host_job_id"], i["hypervisor"]) for i in result["resume"]] == [
        ("vm-deb12-001", "500", "hv01")]
    assert "its domain runs on hv01" in result["resume"][0]["reason"]
    assert result["remove"] == []


def test_resume_through_a_shared_libvirtd():
    result = _plan(snapshot=_future_after_restart(NOW - 900), domains={"hv04": [_guest("vm-deb12-001")]},
                   read_as={"hv01": "hv04"})
    assert len(result["resume"]) == 1


def test_resume_on_slurm_evidence_when_the_hypervisor_was_not_read():
    result = _plan(snapshot=_future_after_restart(NOW - 900), domains={"hv02": []})
    assert "its hypervisor hv01 was not read" in result["resume"][0]["reason"]


@pytest.mark.parametrize("slurmd_start,guests", [
    (None, [_guest("vm-deb12-001")]),              # never registered: booting
    (NOW - 5000, [_guest("vm-deb12-001")]),        # slurmd from an earlier VM of that name: booting
    (NOW - 900, []),                                # domain gone
    (NOW - 900, [_guest("vm-deb12-001", state="shutoff")]),
])
def test_no_resume(slurmd_start, guests):
    assert _plan(snapshot=_future_after_restart(slurmd_start), domains={"hv01": guests})["resume"] == []


def test_deterministic_and_sorted():
    args = dict(
        snapshot=_snapshot(reservations=["hpcvm-vm-disk-002", "hpcvm-vm-deb12-004", "hpcvm-vm-deb12-001"]),
        dns=[_dns("vm-disk-002"), _dns("vm-deb12-001")],
        dhcp=[_dhcp("vm-disk-001"), _dhcp("vm-deb12-003")],
        domains={"hv02": [_guest("vm-deb12-002")], "hv01": [_guest("vm-deb12-004")]},
        files={"hv01": [VM_DIR + "/vm-disk-001.tmp.raw"]},
    )
    first = _plan(**copy.deepcopy(args))
    shuffled = copy.deepcopy(args)
    for key in ("dns", "dhcp"):
        shuffled[key].reverse()
    assert _plan(**shuffled) == first
    assert _kinds(first["remove"]) == [
        ("domain", "vm-deb12-002", "hv02"), ("domain", "vm-deb12-004", "hv01"),
        ("file", "vm-disk-001", "hv01"),
        ("reservation", "vm-deb12-001", "vm cluster"), ("reservation", "vm-deb12-004", "vm cluster"),
        ("reservation", "vm-disk-002", "vm cluster"),
        ("dhcp", "vm-deb12-003", "dhcp"), ("dhcp", "vm-disk-001", "dhcp"),
        ("dns", "vm-deb12-001", ZONE), ("dns", "vm-disk-002", ZONE),
    ]
    assert list(first["first_seen"]) == sorted(first["first_seen"])
    lines = reconcile_plan.removal_lines(first)
    assert len(lines) == 10 and lines[0].startswith("remove domain      vm-deb12-002")


@pytest.mark.parametrize("grace,first_seen", [(-1, None), (None, None), (0, {"k": "soon"})])
def test_bad_inputs(grace, first_seen):
    with pytest.raises(reconcile_plan.ReconcileInputError):
        reconcile_plan.plan(reconcile_plan.ReconcileInputs(_snapshot(), IMAGES, NOW, grace, first_seen=first_seen))


def test_only_hosts_judges_those_names_and_keeps_the_clock_of_the_others():
    args = _orphans_of("vm-deb12-003")
    args["dns"].append(_dns("vm-disk-001"))
    args["snapshot"]["nodes"]["vm-disk-002"] = _node("DOWN", reason="hpc.slurm_vm: x")
    other = "dns|%s|vm-disk-001.%s" % (ZONE, ZONE)
    result = _plan(only_hosts=["vm-deb12-003"], first_seen={other: NOW - 5}, **args)
    assert {i["hostname"] for i in result["remove"]} == {"vm-deb12-003"}
    assert result["waiting"] == []
    assert result["first_seen"][other] == NOW - 5


def _changed_guest(name, changed=True):
    guest = _guest(name)
    guest["metadata"] = dict(guest["metadata"], image="disk", image_version="2026.11-a1b2c3d4")
    base = {"path": "/img/disk.qcow2", "size": 1, "mtime": 2.0, "sha256": "a" * 64}
    guest.update(image_version="2026.11-a1b2c3d4", base=base,
                 base_changed=changed,
                 base_changed_reason=("image disk: the base image /img/disk.qcow2 under this guest's overlay was "
                                      "changed in place: ..." if changed else None))
    return guest


def test_a_guest_whose_base_image_changed_is_flagged_never_removed():
    snapshot = _snapshot(host_jobs={"vm-disk-001": "RUNNING", "vm-disk-002": "RUNNING", "vm-deb12-001": "RUNNING"})
    result = _plan(snapshot=snapshot, domains={"hv01": [_changed_guest("vm-disk-002"),
                                                        _changed_guest("vm-disk-001", changed=False),
                                                        _guest("vm-deb12-001")]})
    assert result["remove"] == [] and result["waiting"] == []
    [flag] = result["flagged"]
    assert (flag["kind"], flag["hostname"], flag["where"], flag["image"], flag["image_version"], flag["base_path"]) \
        == ("base_changed", "vm-disk-002", "hv01", "disk", "2026.11-a1b2c3d4", "/img/disk.qcow2")
    assert flag["reason"].startswith("image disk: the base image /img/disk.qcow2 under this guest's overlay was "
                                     "changed in place")
    assert flag["reason"].endswith("(domain vm-disk-002 on hv01, running; left running: drain or replace it)")
    lines = reconcile_plan.removal_lines(result)
    assert lines == ["flag   base_changed vm-disk-002    hv01             " + flag["reason"]]
    # an orphan whose base changed is removed as an orphan, and flagged too
    orphan = _plan(domains={"hv01": [_changed_guest("vm-disk-002")]})
    assert _kinds(orphan["remove"]) == [("domain", "vm-disk-002", "hv01")]
    assert [f["hostname"] for f in orphan["flagged"]] == ["vm-disk-002"]
    # only_hosts limits flags as it limits removals
    assert _plan(snapshot=snapshot, domains={"hv01": [_changed_guest("vm-disk-002")]},
                 only_hosts=["vm-disk-001"])["flagged"] == []
