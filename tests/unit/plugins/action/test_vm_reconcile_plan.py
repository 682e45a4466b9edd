# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vm_reconcile_plan action plugin (ActionBase, the controller's process) on the inputs the
reconcile role gives it, each made the way the play makes it:

- snapshot_file: the snapshot the slurm_demand inventory writes, read by the real snapshot reader
  from squeue/scontrol output captured on the lab's Slurm 22.05 (module_utils/slurm/fixtures/snapshot);
- dns_names: dns_record_info's `names`, its main() run on a zone transfer of fixtures/*.zone;
- domains: libvirt_guest_info's `guests`, its main() run on libvirt's test driver holding the domain
  XML captured in the lab (module_utils/libvirt/fixtures);
- dhcp_reservations: dhcp_host_info's `reservations`, its main() run on the kea_api backend
  replaying Kea 2.2's captured replies (module_utils/dhcp/fixtures);
- images: the lab's image table (its copy tests/unit/fixtures/lab_images.yml).

Only the edges are replaced: the DNS server's AXFR, Kea's HTTP replies, the libvirt URI, and the
task/connection objects Ansible hands an action plugin.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import dns.rrset
import dns.zone
import pytest
import yaml
from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.template import Templar

from ansible_collections.hpc.slurm_vm.plugins.action.vm_reconcile_plan import ActionModule
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp import run as dhcp_run
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.backends.kea_api import KeaApiBackend
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns.transport import TcpTransport
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler.reconcile_run import MEMORY_FILE
from ansible_collections.hpc.slurm_vm.plugins.module_utils.slurm import snapshot as slurm_snapshot
from ansible_collections.hpc.slurm_vm.plugins.modules import dhcp_host_info, dns_record_info, libvirt_guest_info
from ansible_collections.hpc.slurm_vm.tests.unit import checkout
from ansible_collections.hpc.slurm_vm.tests.unit.plugins.module_utils.slurm.slurm_replay import SnapshotReplayRunner

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
UNIT = os.path.join(REPO, "tests", "unit", "plugins", "module_utils")
ZONE = "vms.lab.test"
with open(checkout.LAB_IMAGES) as _handle:
    LAB_IMAGES = yaml.safe_load(_handle)["slurm_vm_images"]


# ------------------------------------------------------------------ the inputs, as the play makes them
def write_snapshot_file(tmp_path, drop=()):
    """The slurm_demand inventory's snapshot file, from the captured squeue/scontrol output
    (vm-disk-004's host job 100012 RUNNING on hv01, its reservation, 12 pool nodes)."""
    runner = SnapshotReplayRunner({
        ("squeue", "vm.conf"): (0, "squeue_vm.txt"),
        ("scontrol", "node"): (0, "scontrol_show_node.txt"),
        ("scontrol", "reservation"): (0, "scontrol_show_res.txt"),
        ("squeue", "host.conf"): (0, "squeue_host.txt"),
        ("scontrol", "hv01"): (0, "host_scontrol_show_node_hv01.txt"),
        ("scontrol", "reservation", "host.conf"): (1, "scontrol_show_res_none.txt"),
    })
    pool = ["vm-deb12-%03d" % i for i in range(1, 9)] + ["vm-disk-%03d" % i for i in range(1, 5)]
    snapshot = slurm_snapshot.SlurmSnapshotReader(runner, "vm.conf", "host.conf").read(pool)
    data = slurm_snapshot.snapshot_for_file(snapshot)
    for key in drop:
        del data[key]
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(data))
    return str(path)


def dns_names(run_module, monkeypatch, zone_file):
    """dns_record_info's `names` for the forward zone (types A, AAAA, TXT, as the reconcile role asks)."""
    zone = dns.zone.from_file(os.path.join(HERE, "fixtures", zone_file), origin=ZONE + ".", relativize=False)
    asked = []

    def transfer(self, zone_name, keyring=None, keyname=None, keyalgorithm=None):
        asked.append((self.server, zone_name))
        return [rdataset_to_rrset(name, rdataset) for name, rdataset in zone.iterate_rdatasets()]

    monkeypatch.setattr(TcpTransport, "transfer", transfer)
    kind, result = run_module(dns_record_info.main, dict(server="10.77.0.1", zone=ZONE, types=["A", "AAAA", "TXT"]))
    assert kind == "exit", result
    assert asked == [("10.77.0.1", ZONE + ".")]
    return result["names"]


def rdataset_to_rrset(name, rdataset):
    rrset = dns.rrset.RRset(name, rdataset.rdclass, rdataset.rdtype)
    rrset.update(rdataset)
    return rrset


def dhcp_reservations(run_module, monkeypatch, tmp_path, get_all):
    """dhcp_host_info's `reservations` (owned_only, as the reconcile role asks) from Kea's captured reply."""
    fixtures = os.path.join(UNIT, "dhcp", "fixtures")

    def reply(name):
        with open(os.path.join(fixtures, name + ".json")) as handle:
            return json.load(handle)

    replies = {"list-commands": "hostcmds-list-commands", "reservation-get-all": get_all}
    monkeypatch.setattr(dhcp_run, "create_backend", lambda params: KeaApiBackend(
        lambda payload: reply(replies[payload["command"]]), str(tmp_path / "kea.lock")))
    kind, result = run_module(dhcp_host_info.main, dict(backend="kea_api", subnet_id=1, owned_only=True))
    assert kind == "exit", result
    return result["reservations"]


@pytest.fixture
def libvirt_guests(run_module):
    """guests(*xml_files): libvirt_guest_info's `guests` with those captured domains running on
    libvirt's test driver (one in-memory hypervisor per process; the domains are removed after)."""
    libvirt = pytest.importorskip("libvirt")
    conn = libvirt.open("test:///default")
    defined = []

    def guests(*xml_files):
        for xml_file in xml_files:
            with open(os.path.join(UNIT, "libvirt", "fixtures", xml_file)) as handle:
                domain = conn.defineXML(handle.read())
            domain.create()
            defined.append(domain)
        kind, result = run_module(libvirt_guest_info.main, dict(uri="test:///default"))
        assert kind == "exit", result
        return result["guests"]

    yield guests
    for domain in defined:
        if domain.isActive():
            domain.destroy()
        domain.undefine()
    conn.close()


# ------------------------------------------------------------------ the action plugin as Ansible runs it
class _Shell(object):
    tmpdir = None


class _Connection(object):
    """The task's connection: never used by a controller action (no tmp dir, nothing transferred)."""
    _shell = _Shell()

    def __getattr__(self, name):
        raise AssertionError("vm_reconcile_plan used its connection (%s)" % name)


def run_action(args, check_mode=False):
    task = Task()
    task.action = "hpc.slurm_vm.vm_reconcile_plan"
    task.args = args
    task.check_mode = check_mode
    loader = DataLoader()
    action = ActionModule(task, _Connection(), PlayContext(), loader, Templar(loader=loader), None)
    return action.run(task_vars={})


def role_args(tmp_path, snapshot_file, names, domains, reservations, grace=900):
    """The arguments the reconcile role's 'Decide what to remove' task passes."""
    return {"snapshot_file": snapshot_file, "images": LAB_IMAGES, "state_dir": str(tmp_path / "state"),
            "grace": grace, "dns_names": names, "dns_zone": ZONE, "dhcp_reservations": reservations,
            "dhcp_where": "kea_api", "domains": domains, "files": {"hv01": []}, "read_as": {},
            "live_hosts": []}


def _kinds(items):
    return [(i["kind"], i["hostname"], i["where"]) for i in items]


# ------------------------------------------------------------------ the tests
def test_nothing_to_do_protects_the_live_vms_records(run_module, monkeypatch, tmp_path, libvirt_guests):
    names = dns_names(run_module, monkeypatch, "vms.lab.test.live.zone")
    reservations = dhcp_reservations(run_module, monkeypatch, tmp_path, "hostcmds-reservation-get-all-empty")
    domains = {"hv01": libvirt_guests()}  # the test driver's own domain "test" has no mark: not listed
    assert domains == {"hv01": []} and reservations == []
    assert [(n["label"], n["owned"]) for n in names] == [("ns", False), ("printer-3", False), ("vm-disk-004", True)]

    result = run_action(role_args(tmp_path, write_snapshot_file(tmp_path), names, domains, reservations))
    assert not result.get("failed"), result
    assert result["remove"] == [] and result["waiting"] == [] and result["resume"] == []
    assert result["lines"] == [] and result["counts"] == {}
    assert _kinds(result["protected"]) == [("reservation", "vm-disk-004", "vm cluster"),
                                           ("dns", "vm-disk-004", ZONE + ".")]
    assert all(p["reason"] == "live VM: host job 100012 RUNNING" for p in result["protected"])
    assert result["first_seen"] == {}
    assert json.loads((tmp_path / "state" / MEMORY_FILE).read_text()) == {"first_seen": {}, "grace": 900}


def test_an_orphan_domain_with_our_mark_is_removed(run_module, monkeypatch, tmp_path, libvirt_guests):
    names = dns_names(run_module, monkeypatch, "vms.lab.test.live.zone")
    reservations = dhcp_reservations(run_module, monkeypatch, tmp_path, "hostcmds-reservation-get-all")
    guests = libvirt_guests("libvirt_vm-deb12-005_live.xml")
    assert [(g["name"], g["ours"], g["state"]) for g in guests] == [("vm-deb12-005", True, "running")]
    args = role_args(tmp_path, write_snapshot_file(tmp_path), names, {"hv01": guests}, reservations, grace=0)

    result = run_action(args)
    assert not result.get("failed"), result
    assert _kinds(result["remove"]) == [("domain", "vm-deb12-005", "hv01"), ("dhcp", "vm-cap-01", "kea_api")]
    domain = result["remove"][0]
    assert domain["name"] == "vm-deb12-005"
    assert domain["reason"] == ("domain vm-deb12-005 (running, image deb12, host job ?) with hpc.slurm_vm metadata"
                                " (orphaned for 0s, grace 0s)")
    assert result["remove"][1]["mac"] == "52:54:00:78:02:31"  # printer-3 has no mark: not listed, not removed
    assert result["counts"] == {"domain": 1, "dhcp": 1} and len(result["lines"]) == 2
    assert _kinds(result["protected"]) == [("reservation", "vm-disk-004", "vm cluster"),
                                           ("dns", "vm-disk-004", ZONE + ".")]
    assert result["changed"] is True


def test_an_orphan_domain_of_a_live_host_job_is_kept(run_module, monkeypatch, tmp_path, libvirt_guests):
    """The same captured domain, its host job now in the snapshot: protected, not removed."""
    names = dns_names(run_module, monkeypatch, "vms.lab.test.live.zone")
    guests = libvirt_guests("libvirt_vm-deb12-005_live.xml")
    args = role_args(tmp_path, write_snapshot_file(tmp_path), names, {"hv01": guests}, [], grace=0)
    args["live_hosts"] = ["vm-deb12-005"]  # claimed by this run: its host job is not in the snapshot yet
    result = run_action(args)
    assert result["remove"] == []
    assert ("domain", "vm-deb12-005", "hv01") in _kinds(result["protected"])


def test_a_dns_claim_is_removed_only_once_older_than_the_grace(run_module, monkeypatch, tmp_path, libvirt_guests):
    names = dns_names(run_module, monkeypatch, "vms.lab.test.claim.zone")
    args = role_args(tmp_path, write_snapshot_file(tmp_path), names, {"hv01": libvirt_guests()}, [], grace=3600)

    first = run_action(args)
    assert not first.get("failed"), first
    assert first["remove"] == []
    assert _kinds(first["waiting"]) == [("dns", "vm-deb12-003", ZONE + ".")]
    assert first["waiting"][0]["reason"].endswith("(orphaned for 0s, removed after 60m)")
    memory_file = tmp_path / "state" / MEMORY_FILE
    memory = json.loads(memory_file.read_text())
    assert list(memory["first_seen"]) == [first["waiting"][0]["key"]]

    # the claim was first seen orphaned two hours ago: older than the grace
    memory["first_seen"] = {key: seen - 7200 for key, seen in memory["first_seen"].items()}
    memory_file.write_text(json.dumps(memory))
    second = run_action(args)
    assert _kinds(second["remove"]) == [("dns", "vm-deb12-003", ZONE + ".")]
    claim = second["remove"][0]
    assert claim["name"] == "vm-deb12-003.vms.lab.test." and claim["ptr"] is True
    assert "DNS name vm-deb12-003.vms.lab.test. marked by hpc.slurm_vm (image deb12, host job claimed)" in (
        claim["reason"])
    assert "orphaned for 2h00m, grace 60m" in claim["reason"]
    assert ("dns", "vm-disk-004", ZONE + ".") in _kinds(second["protected"])  # the live VM's name stays


def test_check_mode_plans_the_same_and_writes_no_memory(run_module, monkeypatch, tmp_path, libvirt_guests):
    names = dns_names(run_module, monkeypatch, "vms.lab.test.claim.zone")
    args = role_args(tmp_path, write_snapshot_file(tmp_path), names, {"hv01": libvirt_guests()}, [], grace=0)
    result = run_action(args, check_mode=True)
    assert _kinds(result["remove"]) == [("dns", "vm-deb12-003", ZONE + ".")]
    assert result["changed"] is True and not (tmp_path / "state").exists()


def test_an_unread_hypervisor_is_not_read_as_empty(run_module, monkeypatch, tmp_path, libvirt_guests):
    """hv01's libvirt_guest_info failed (the role drops failed reads, hpc.slurm_vm.reconcile_by_where): its
    orphan domain keeps its first-seen date and is not removed, as if it were still there."""
    names = dns_names(run_module, monkeypatch, "vms.lab.test.live.zone")
    guests = libvirt_guests("libvirt_vm-deb12-005_live.xml")
    snapshot_file = write_snapshot_file(tmp_path)
    first = run_action(role_args(tmp_path, snapshot_file, names, {"hv01": guests}, [], grace=3600))
    assert _kinds(first["waiting"]) == [("domain", "vm-deb12-005", "hv01")]
    memory_file = tmp_path / "state" / MEMORY_FILE
    memory = json.loads(memory_file.read_text())
    memory["first_seen"] = {key: seen - 7200 for key, seen in memory["first_seen"].items()}
    memory_file.write_text(json.dumps(memory))

    args = role_args(tmp_path, snapshot_file, names, {}, [], grace=3600)
    args["files"] = {}
    unread = run_action(args)
    assert not unread.get("failed"), unread
    assert unread["remove"] == [] and unread["waiting"] == []
    assert unread["first_seen"] == memory["first_seen"]
    assert json.loads(memory_file.read_text())["first_seen"] == memory["first_seen"]
    # read again: the domain is removed, its clock having run on while hv01 was not read
    again = run_action(role_args(tmp_path, snapshot_file, names, {"hv01": guests}, [], grace=3600))
    assert _kinds(again["remove"]) == [("domain", "vm-deb12-005", "hv01")]
    assert "orphaned for 2h00m, grace 60m" in again["remove"][0]["reason"]


def test_a_missing_snapshot_file_fails_and_plans_nothing(run_module, monkeypatch, tmp_path):
    names = dns_names(run_module, monkeypatch, "vms.lab.test.claim.zone")
    missing = str(tmp_path / "no-snapshot.json")  # the demand inventory failed: no file was written
    result = run_action(role_args(tmp_path, missing, names, {"hv01": []}, [], grace=0))
    assert result["failed"] is True
    assert result["msg"].startswith("cannot read the snapshot %s: " % missing)
    assert "remove" not in result and not (tmp_path / "state").exists()


def test_no_snapshot_source_at_all_is_refused(tmp_path):
    args = role_args(tmp_path, None, [], {"hv01": []}, [])
    del args["snapshot_file"]
    with pytest.raises(AnsibleActionFail, match="one of the following is required: snapshot, snapshot_file"):
        run_action(args)


def test_a_truncated_snapshot_file_fails(run_module, monkeypatch, tmp_path):
    snapshot_file = write_snapshot_file(tmp_path)
    with open(snapshot_file, "r+") as handle:
        text = handle.read()
        handle.seek(0)
        handle.write(text[:len(text) // 2])
        handle.truncate()
    result = run_action(role_args(tmp_path, snapshot_file, [], {"hv01": []}, [], grace=0))
    assert result["failed"] is True and result["msg"].startswith("cannot read the snapshot %s" % snapshot_file)


def test_a_snapshot_without_its_host_jobs_fails(run_module, monkeypatch, tmp_path):
    """The host cluster is the source of 'which VM is live'; a snapshot that lacks it must not plan."""
    names = dns_names(run_module, monkeypatch, "vms.lab.test.live.zone")
    snapshot_file = write_snapshot_file(tmp_path, drop=("host_jobs",))
    result = run_action(role_args(tmp_path, snapshot_file, names, {"hv01": []}, [], grace=0))
    assert result.get("failed") is True, result.get("remove")
    assert "is incomplete: host_jobs missing or malformed" in result["msg"], result["msg"]
