# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kea_api backend with replayed control-agent replies (fixtures/dhcp, see its README):
the config-get/config-set fallback (captured from the lab's Kea 2.2) and the host_cmds path."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.model import (
    DhcpAuthError,
    DhcpBackendError,
    DhcpInvalidInput,
    DhcpServerDown,
    Reservation,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.backends.kea_api import KeaApiBackend
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.run import plan_reservations

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")


def reply(name):
    with open(os.path.join(FIXTURES, name + ".json")) as handle:
        return json.load(handle)


class Replay(object):
    """A transport that answers each command from a fixture and records what was sent."""

    def __init__(self, replies):
        self.replies = replies
        self.sent = []

    def __call__(self, payload):
        self.sent.append(payload)
        answer = self.replies[payload["command"]]
        if isinstance(answer, Exception):
            raise answer
        return reply(answer) if isinstance(answer, str) else answer

    def commands(self):
        return [p["command"] for p in self.sent]


FALLBACK = {"list-commands": "kea22-list-commands", "config-get": "kea22-config-get", "config-set": "kea22-config-set",
            "config-write": "kea22-config-write", "lease4-get-all": "kea22-lease4-get-all",
            "lease4-del": "kea22-lease4-del"}
HOST_CMDS = {"list-commands": "hostcmds-list-commands", "reservation-get-all": "hostcmds-reservation-get-all",
             "reservation-add": "hostcmds-reservation-add", "reservation-del": "hostcmds-reservation-del",
             "lease4-get-all": "kea22-lease4-get-all-empty", "lease4-del": "kea22-lease4-del-empty"}

CAP = Reservation("52:54:00:78:02:31", "10.78.0.31", "vm-cap-01", 1,
                  {"vm": "vm-cap-01", "image": "deb12", "job": "7"})


def backend(replies, tmp_path):
    transport = Replay(replies)
    return KeaApiBackend(transport, str(tmp_path / "kea.lock")), transport


@pytest.mark.parametrize("replies", [FALLBACK, HOST_CMDS], ids=["config-fallback", "host_cmds"])
def test_find_reads_marks(replies, tmp_path):
    api, _t = backend(replies, tmp_path)
    with api.session(write=False):
        found = api.find({CAP.mac}, {"10.78.0.32"}, set(), 1)
    by_name = {r.hostname: r for r in found}
    assert by_name["vm-cap-01"] == CAP
    assert by_name["printer-3"].mark is None and not by_name["printer-3"].owned


def test_fallback_add_and_remove_goes_through_config_set_and_write(tmp_path):
    api, transport = backend(FALLBACK, tmp_path)
    new = Reservation("52:54:00:78:02:33", "10.78.0.33", "vm-cap-02", 1, {"vm": "vm-cap-02"})
    with api.session(write=True):
        current = api.find({new.mac}, {new.ip}, {new.hostname, "vm-cap-01"}, 1)
        plan = plan_reservations([new], current, "present")
        api.apply([r for r in current if r.hostname == "vm-cap-01"], plan.additions)
    assert api.mode == "config"
    # 10.78.0.31 has no lease in the captured lease4-get-all, so no lease4-del is sent
    assert transport.commands() == ["list-commands", "config-get", "config-set", "config-write", "lease4-get-all"]
    config_set = transport.sent[2]["arguments"]
    subnet = [s for s in config_set["Dhcp4"]["subnet4"] if s["id"] == 1][0]
    macs = [r["hw-address"] for r in subnet["reservations"]]
    assert macs == ["52:54:00:78:02:32", new.mac]
    assert subnet["reservations"][-1]["user-context"] == {"hpc.slurm_vm": {"vm": "vm-cap-02"}}
    assert transport.sent[4]["arguments"] == {"subnets": [1]}


def test_removal_deletes_existing_lease_only(tmp_path):
    api, transport = backend(FALLBACK, tmp_path)
    leased = Reservation("52:54:00:78:01:01", "10.78.0.41", "x", 1, {"vm": "x"})  # leased in the capture
    with api.session(write=True):
        api.apply([leased, CAP], [])
    assert transport.commands()[-2:] == ["lease4-get-all", "lease4-del"]
    assert transport.sent[-1]["arguments"] == {"ip-address": "10.78.0.41"}


def test_fallback_config_write_failure_says_change_is_live(tmp_path):
    replies = dict(FALLBACK, **{"config-write": [{"result": 1, "text": "Unable to open file"}]})
    api, _t = backend(replies, tmp_path)
    with pytest.raises(DhcpBackendError, match="config-write failed"), api.session(write=True):
        api.apply([], [Reservation("52:54:00:78:02:33", "10.78.0.33", "x", 1, {"vm": "x"})])


def test_host_cmds_add_and_delete(tmp_path):
    api, transport = backend(HOST_CMDS, tmp_path)
    new = Reservation("52:54:00:78:02:33", "10.78.0.33", "vm-cap-02", 1, {"vm": "vm-cap-02"})
    with api.session(write=True):
        current = api.find({CAP.mac}, set(), set(), 1)
        api.apply(current, [new])
    assert api.mode == "host_cmds"
    assert transport.commands() == ["list-commands", "reservation-get-all", "reservation-del", "reservation-add",
                                    "lease4-get-all"]
    assert transport.sent[2]["arguments"] == {"subnet-id": 1, "identifier-type": "hw-address", "identifier": CAP.mac}
    assert transport.sent[3]["arguments"] == {"reservation": {
        "subnet-id": 1, "hw-address": new.mac, "ip-address": new.ip, "hostname": "vm-cap-02",
        "user-context": {"hpc.slurm_vm": {"vm": "vm-cap-02"}}}}


def test_host_cmds_delete_not_found_is_fine_and_empty_list(tmp_path):
    replies = dict(HOST_CMDS, **{"reservation-del": "hostcmds-reservation-del-notfound",
                                 "reservation-get-all": "hostcmds-reservation-get-all-empty"})
    api, _t = backend(replies, tmp_path)
    with api.session(write=True):
        assert api.list(1) == []
        api.apply([CAP], [])


def test_host_cmds_without_host_database_fails(tmp_path):
    api, _t = backend(dict(HOST_CMDS, **{"reservation-add": "hostcmds-reservation-add-nodb"}), tmp_path)
    with pytest.raises(DhcpBackendError, match="no hosts-database"), api.session(write=True):
        api.apply([], [CAP])


def test_errors(tmp_path):
    api, _t = backend({"list-commands": "kea22-unauthorized"}, tmp_path)
    with pytest.raises(DhcpAuthError):
        api.command("list-commands")
    api, _t = backend({"list-commands": "kea22-no-dhcp6"}, tmp_path)
    with pytest.raises(DhcpServerDown, match="forwarding socket"):
        api.command("list-commands")
    api, _t = backend(FALLBACK, tmp_path)
    with pytest.raises(DhcpInvalidInput, match="no subnet with id 7"), api.session(write=False):
        api.list(7)


def test_foreign_multicast_mac_is_read_back_as_kea_holds_it(tmp_path):
    # Only what dhcp_host writes must be unicast (addresses.host_mac); a reservation someone else made is
    # shown as Kea holds it, in the normal form, so a conflict with it is reported, not hidden.
    config = reply("kea22-config-get")
    for subnet in config[0]["arguments"]["Dhcp4"]["subnet4"]:
        for entry in subnet.get("reservations", []):
            if entry["hostname"] == "printer-3":
                entry["hw-address"] = "01-00-5E-00-00-FB"
    api, _t = backend(dict(FALLBACK, **{"config-get": config}), tmp_path)
    with api.session(write=False):
        found = {r.hostname: r.mac for r in api.list(1)}
    assert found["printer-3"] == "01:00:5e:00:00:fb"
    assert found["vm-cap-01"] == CAP.mac


@pytest.mark.parametrize("ip, message", [
    ("10.78.0.0", "is the network address of 10.78.0.0/26"),
    ("10.78.0.63", "is the broadcast address of 10.78.0.0/26"),
])
def test_fallback_refuses_the_network_and_broadcast_address_of_keas_subnet(tmp_path, ip, message):
    # Without the module's subnet, Kea's own subnet (config-get) decides, before config-set.
    api, transport = backend(FALLBACK, tmp_path)
    with pytest.raises(DhcpInvalidInput, match=message), api.session(write=True):
        api.apply([], [Reservation("52:54:00:78:02:33", ip, "vm-cap-02", 1, {"vm": "vm-cap-02"})])
    assert "config-set" not in transport.commands()
