# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dhcp_host backend kea_api: Kea's control agent over HTTP(S), basic auth optional.

`list-commands` tells which path to take:
- host_cmds loaded: reservation-get-all / reservation-del / reservation-add (these act
  on Kea's host database, so the server needs a writable hosts-database);
- otherwise (Debian's Kea 2.2 ships no host_cmds): config-get, change the subnet's
  reservations, config-set, config-write, under a local lock file, since Kea itself
  has no lock for this sequence.
On removal the lease is deleted too (lease4-del) when lease_cmds is loaded.
The transport is injected, so unit tests replay captured replies.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import tempfile

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.addresses import mac_normal_form
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import MARK_TAG
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.model import (
    BackendInfo,
    DhcpAuthError,
    DhcpBackend,
    DhcpBackendError,
    DhcpInvalidInput,
    DhcpServerDown,
    DhcpUnsupported,
    LockFileSession,
    Reservation,
    check_host_ip,
    http_url,
    shown_url,
)

RESULT_OK, RESULT_ERROR, RESULT_UNSUPPORTED, RESULT_EMPTY = 0, 1, 2, 3


class HttpTransport(object):
    """POST one command to the control agent and return the parsed JSON reply.

    Only http:// and https:// URLs are taken (model.http_url), redirects are not followed (the basic-auth header
    would go along), and a reply that is not JSON is described by status, content type and length, never echoed.
    """

    def __init__(self, url, user=None, password=None, validate_certs=True, ca_path=None, timeout=10.0):
        self.url = http_url(url, "kea_api_url")
        self.shown = shown_url(self.url)
        self.user = user
        self.password = password
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.timeout = timeout

    def __call__(self, payload):
        try:
            response = open_url(self.url, data=json.dumps(payload), method="POST",
                                headers={"Content-Type": "application/json"},
                                url_username=self.user, url_password=self.password,
                                force_basic_auth=self.user is not None, validate_certs=self.validate_certs,
                                ca_path=self.ca_path, timeout=self.timeout, follow_redirects="none")
            body = response.read()
        except HTTPError as exc:
            if exc.code in (401, 403):
                raise DhcpAuthError("the Kea control agent at %s refused the credentials (HTTP %d)"
                                    % (self.shown, exc.code)) from exc
            moved = " (a redirect, not followed)" if 300 <= exc.code < 400 else ""
            raise DhcpBackendError("the Kea control agent at %s answered HTTP %d%s"
                                   % (self.shown, exc.code, moved)) from exc
        except (URLError, OSError) as exc:
            raise DhcpServerDown("cannot reach the Kea control agent at %s: %s"
                                 % (self.shown, getattr(exc, "reason", exc))) from exc
        try:
            reply = json.loads(body)
        except ValueError:
            reply = None
        if not _is_api_reply(reply):
            raise DhcpBackendError("the server at %s sent a reply that is not the Kea control agent's "
                                   "JSON: %s" % (self.shown, _described(response, body)),
                                   status=response.getcode(), content_type=response.headers.get("Content-Type"),
                                   length=len(body))
        return reply


def _is_api_reply(reply):
    """The control agent answers a JSON object with 'result', or a list of them (one per service)."""
    if isinstance(reply, dict):
        return "result" in reply
    return isinstance(reply, list) and bool(reply) and all(isinstance(i, dict) and "result" in i for i in reply)


def _described(response, body):
    """A reply as an error shows it: status, content type and length, not its bytes (they may be anything)."""
    content_type = response.headers.get("Content-Type")
    return "HTTP %s, %s, %d bytes" % (response.getcode(), "content type %s" % content_type if content_type
                                      else "no content type", len(body))


def _reservation_of(entry, subnet_id):
    mark = None
    context = entry.get("user-context")
    if isinstance(context, dict) and isinstance(context.get(MARK_TAG), dict):
        mark = {str(k): str(v) for k, v in context[MARK_TAG].items()}
    mac = entry.get("hw-address")
    try:
        # what Kea holds, multicast included: a foreign reservation is shown as it is
        mac = mac_normal_form(mac) if mac else None
    except InvalidInput:
        mac = None
    hostname = (entry.get("hostname") or "").lower() or None
    return Reservation(mac, entry.get("ip-address"), hostname, entry.get("subnet-id", subnet_id), mark, ref=entry)


def _entry_of(res):
    return {"hw-address": res.mac, "ip-address": res.ip, "hostname": res.hostname,
            "user-context": {MARK_TAG: res.mark}}


class _Session(LockFileSession):
    def __enter__(self):
        backend = self.backend
        backend.commands = set(backend.command("list-commands") or [])
        backend.config = None
        if self.write and not backend.host_cmds:
            self.lock(backend.lock_file)  # config-get ... config-write has no lock in Kea
        return self


class KeaApiBackend(DhcpBackend):
    info = BackendInfo("kea_api", needs_subnet_id=True, can_list=True, finds_by_ip=True, stores_mark=True,
                       transactional=False)

    def __init__(self, transport, lock_file, service="dhcp4"):
        self.transport = transport
        self.lock_file = lock_file
        self.service = service
        self.commands = set()
        self.config = None

    @classmethod
    def from_params(cls, params):
        url = http_url(params["kea_api_url"], "kea_api_url")
        url_hash = hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]
        lock_file = params.get("kea_api_lock_file") or os.path.join(tempfile.gettempdir(),
                                                                    "hpc-slurm-vm-kea-api-%s.lock" % url_hash)
        transport = HttpTransport(url, params.get("kea_api_user"), params.get("kea_api_password"),
                                  params["kea_api_validate_certs"], params.get("kea_api_ca_path"), params["timeout"])
        return cls(transport, lock_file)

    @property
    def host_cmds(self):
        return "reservation-add" in self.commands

    @property
    def mode(self):
        return "host_cmds" if self.host_cmds else "config"

    def command(self, name, arguments=None, accept=(RESULT_OK,)):
        payload = {"command": name, "service": [self.service]}
        if arguments is not None:
            payload["arguments"] = arguments
        reply = self.transport(payload)
        if isinstance(reply, list):
            reply = reply[0] if reply else {}
        if not isinstance(reply, dict) or "result" not in reply:
            # not echoed: whatever answered is not the control agent
            raise DhcpBackendError("unexpected reply to %s: a %s without 'result', not the Kea control agent's "
                                   "JSON" % (name, type(reply).__name__))
        result, text = reply["result"], reply.get("text", "")
        if result in accept:
            return reply.get("arguments")
        if result == 401:
            raise DhcpAuthError("the Kea control agent refused the credentials")
        if result == RESULT_ERROR and ("forward" in text or "offline" in text):
            raise DhcpServerDown("the Kea control agent cannot reach kea-%s: %s" % (self.service, text))
        if result == RESULT_UNSUPPORTED:
            raise DhcpUnsupported("Kea does not support %s: %s" % (name, text))
        raise DhcpBackendError("Kea %s failed (result %s): %s" % (name, result, text), command=name, result=result)

    def session(self, write):
        return _Session(self, write)

    # -- reading
    def _subnet(self, subnet_id):
        """The subnet4 entry (a dict inside self.config) with this id."""
        if self.config is None:
            arguments = self.command("config-get")
            arguments.pop("hash", None)
            self.config = arguments
        dhcp4 = self.config.get("Dhcp4", {})
        subnets = list(dhcp4.get("subnet4", []))
        for network in dhcp4.get("shared-networks", []):
            subnets.extend(network.get("subnet4", []))
        for subnet in subnets:
            if subnet.get("id") == subnet_id:
                return subnet
        raise DhcpInvalidInput("Kea has no subnet with id %s" % subnet_id, subnet_id=subnet_id)

    def list(self, subnet_id=None):
        if subnet_id is None:
            raise DhcpInvalidInput("the kea_api backend needs subnet_id")
        if self.host_cmds:
            arguments = self.command("reservation-get-all", {"subnet-id": subnet_id}, accept=(RESULT_OK, RESULT_EMPTY))
            entries = (arguments or {}).get("hosts", [])
        else:
            entries = self._subnet(subnet_id).get("reservations", [])
        return [_reservation_of(e, subnet_id) for e in entries if e.get("hw-address")]

    def find(self, macs, ips, hostnames, subnet_id=None):
        return [r for r in self.list(subnet_id) if r.mac in macs or r.ip in ips or r.hostname in hostnames]

    # -- writing
    def apply(self, removals, additions):
        if self.host_cmds:
            for res in removals:
                try:
                    self.command("reservation-del", {"subnet-id": res.subnet_id, "identifier-type": "hw-address",
                                                     "identifier": res.mac}, accept=(RESULT_OK, RESULT_EMPTY))
                except DhcpBackendError as exc:
                    # Kea before 2.3 answers result 1 "Host not deleted (not found)." (later: result 3)
                    if "not found" not in exc.message:
                        raise
            for res in additions:
                entry = _entry_of(res)
                entry["subnet-id"] = res.subnet_id
                self.command("reservation-add", {"reservation": entry})
        else:
            for subnet_id in sorted({r.subnet_id for r in removals + additions}):
                subnet = self._subnet(subnet_id)
                for res in additions:
                    # Kea's subnet decides when the module was given none (dhcp_host checks its own before)
                    if res.subnet_id == subnet_id and subnet.get("subnet"):
                        check_host_ip(res.ip, subnet["subnet"])
                gone = {id(r.ref) for r in removals}
                kept = [e for e in subnet.get("reservations", []) if id(e) not in gone]
                kept.extend(_entry_of(r) for r in additions if r.subnet_id == subnet_id)
                subnet["reservations"] = kept
            self.command("config-set", self.config)
            try:
                self.command("config-write")
            except DhcpBackendError as exc:
                raise DhcpBackendError("Kea runs with the change, but config-write failed, so a restart would lose "
                                       "it: %s"
                                       % exc.message) from exc
        self._delete_leases(removals)

    def _delete_leases(self, removals):
        """lease4-del for the removed reservations' IPs: one lease4-get-all first, so only
        leases that exist cost a request (1,000 blind deletes took 48 s in the lab)."""
        ips = sorted({r.ip for r in removals if r.ip})
        if not ips or "lease4-del" not in self.commands:
            return
        if "lease4-get-all" in self.commands:
            subnets = sorted({r.subnet_id for r in removals if r.subnet_id is not None})
            arguments = self.command("lease4-get-all", {"subnets": subnets}, accept=(RESULT_OK, RESULT_EMPTY))
            leased = {lease.get("ip-address") for lease in (arguments or {}).get("leases", [])}
            ips = [ip for ip in ips if ip in leased]
        for ip in ips:
            self.command("lease4-del", {"ip-address": ip}, accept=(RESULT_OK, RESULT_EMPTY))
