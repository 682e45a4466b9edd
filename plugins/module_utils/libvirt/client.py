# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Talking to libvirtd.

LibvirtClient wraps libvirt-python: a connection by URI, domain lookup,
define/start/destroy/undefine, metadata, addresses, listing and waiting.  It
raises the typed errors of errors.py and never calls fail_json.  The files
beside a guest (overlay, tmp disk, console log) are guest_files.py's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import socket
import time

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import (
    LIBVIRT_NAMESPACE,
    LIBVIRT_NAMESPACE_PREFIX,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.domain_read import (
    extract_guest_metadata,
    extract_spec,
    is_ours,
    parse_domain,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.errors import (
    DomainOperationFailed,
    LibvirtConnectionError,
    LibvirtError,
    WaitTimeout,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.guest_files import console_tail, read_console

try:
    import libvirt
except ImportError as exc:  # reported by the modules through missing_required_lib
    libvirt = None
    LIBVIRT_IMPORT_ERROR = exc
else:
    LIBVIRT_IMPORT_ERROR = None

DEFAULT_URI = "qemu:///system"
DEFAULT_STATE_DIR = "/var/lib/hpc-slurm-vm/guests"

STATE_NAMES = {
    0: "nostate", 1: "running", 2: "blocked", 3: "paused", 4: "shutdown",
    5: "shutoff", 6: "crashed", 7: "pmsuspended",
}


def libvirt_argument_spec():
    """Connection options shared by libvirt_guest and libvirt_guest_info (doc fragment hpc.slurm_vm.libvirt)."""
    return dict(
        uri=dict(type="str", default=DEFAULT_URI),
        state_dir=dict(type="path", default=DEFAULT_STATE_DIR),
    )


def _libvirt_message(exc):
    try:
        return exc.get_error_message() or str(exc)
    except AttributeError:
        return str(exc)


class LibvirtClient(object):
    """One connection to libvirtd. libvirt_module is injectable for tests."""

    def __init__(self, uri=DEFAULT_URI, libvirt_module=None, clock=time.time, sleep=time.sleep,
                 monotonic=time.monotonic):
        self.uri = uri
        self.lv = libvirt_module or libvirt
        self.clock = clock
        self.sleep = sleep
        self.monotonic = monotonic
        self._conn = None

    # -------------------------------------------------------------- connection
    @property
    def conn(self):
        if self._conn is None:
            # libvirt prints its errors on stderr unless a handler takes them
            self.lv.registerErrorHandler(lambda _ctx, _err: None, None)
            try:
                self._conn = self.lv.open(self.uri)
            except self.lv.libvirtError as exc:
                raise LibvirtConnectionError("cannot connect to libvirt at %s: %s" % (self.uri, _libvirt_message(exc)),
                                             uri=self.uri) from None
            if self._conn is None:
                raise LibvirtConnectionError("cannot connect to libvirt at %s" % self.uri, uri=self.uri)
        return self._conn

    def close(self):
        if self._conn is not None:
            with contextlib.suppress(self.lv.libvirtError):
                self._conn.close()
            self._conn = None

    def _fail(self, what, name, exc):
        return DomainOperationFailed("%s %s failed: %s" % (what, name, _libvirt_message(exc)), name=name, uri=self.uri)

    # ------------------------------------------------------------------ lookup
    def lookup(self, name):
        try:
            return self.conn.lookupByName(name)
        except self.lv.libvirtError as exc:
            if exc.get_error_code() == self.lv.VIR_ERR_NO_DOMAIN:
                return None
            raise self._fail("looking up", name, exc) from None

    def state_of(self, dom):
        return STATE_NAMES.get(dom.state()[0], "unknown")

    def current(self, name):
        """What the planner needs to know about a domain, or None when there is none; "ours" says whether it
        carries our metadata (plan.plan_guest refuses to touch it otherwise)."""
        dom = self.lookup(name)
        if dom is None:
            return None
        try:
            persistent = bool(dom.isPersistent())
            active = bool(dom.isActive())
            state = self.state_of(dom)
            flags = self.lv.VIR_DOMAIN_XML_INACTIVE if persistent else 0
            xml = dom.XMLDesc(flags)
            live = parse_domain(dom.XMLDesc(0)) if active else None
        except self.lv.libvirtError as exc:
            if exc.get_error_code() == self.lv.VIR_ERR_NO_DOMAIN:
                return None   # gone between lookup and read (a transient guest that just stopped)
            raise self._fail("reading", name, exc) from None
        started = None
        if live is not None:
            ours = extract_guest_metadata(live)
            started = ours["started"] if ours else None
        root = parse_domain(xml)
        return {
            "spec": extract_spec(root), "active": active, "paused": state == "paused", "state": state,
            "persistent": persistent, "uuid": dom.UUIDString(), "started": started,
            # our mark in the definition, or in the live copy of a running guest
            "ours": is_ours(root) or (live is not None and is_ours(live)),
        }

    # -------------------------------------------------------------- operations
    def define(self, xml, name):
        try:
            return self.conn.defineXML(xml)
        except self.lv.libvirtError as exc:
            raise self._fail("defining", name, exc) from None

    def create_transient(self, xml, name):
        try:
            return self.conn.createXML(xml, 0)
        except self.lv.libvirtError as exc:
            raise self._fail("creating (transient)", name, exc) from None

    def _domain(self, name):
        dom = self.lookup(name)
        if dom is None:
            raise DomainOperationFailed("domain %s does not exist" % name, name=name, uri=self.uri)
        return dom

    def start(self, name):
        dom = self._domain(name)
        try:
            dom.create()
        except self.lv.libvirtError as exc:
            raise self._fail("starting", name, exc) from None

    def resume(self, name):
        try:
            self._domain(name).resume()
        except self.lv.libvirtError as exc:
            raise self._fail("resuming", name, exc) from None

    def destroy(self, name):
        """Hard power-off; a domain that is already off or gone is fine."""
        dom = self.lookup(name)
        if dom is None:
            return False
        try:
            dom.destroy()
        except self.lv.libvirtError as exc:
            if exc.get_error_code() in (self.lv.VIR_ERR_NO_DOMAIN, self.lv.VIR_ERR_OPERATION_INVALID):
                return False
            raise self._fail("destroying", name, exc) from None
        return True

    def shutdown(self, name, timeout):
        """ACPI shutdown, then destroy after timeout seconds (guests without ACPI ignore the request)."""
        dom = self.lookup(name)
        if dom is None:
            return "gone"
        try:
            dom.shutdown()
        except self.lv.libvirtError as exc:
            if exc.get_error_code() == self.lv.VIR_ERR_OPERATION_INVALID:
                return "shutoff"
            raise self._fail("shutting down", name, exc) from None
        deadline = self.monotonic() + timeout
        while self.monotonic() < deadline:
            dom = self.lookup(name)
            if dom is None or not dom.isActive():
                return "shutdown"
            self.sleep(0.2)
        self.destroy(name)
        return "destroyed"

    def undefine(self, name):
        dom = self.lookup(name)
        if dom is None:
            return False
        flags = 0
        for flag in ("VIR_DOMAIN_UNDEFINE_MANAGED_SAVE", "VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA",
                     "VIR_DOMAIN_UNDEFINE_NVRAM", "VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA"):
            flags |= getattr(self.lv, flag, 0)
        try:
            dom.undefineFlags(flags)
        except self.lv.libvirtError as exc:
            if exc.get_error_code() == self.lv.VIR_ERR_NO_DOMAIN:
                return False
            try:   # drivers that do not know some flag
                dom.undefine()
            except self.lv.libvirtError as exc2:
                raise self._fail("undefining", name, exc2) from None
        return True

    def set_metadata(self, name, element_xml, live, config):
        flags = 0
        if live:
            flags |= self.lv.VIR_DOMAIN_AFFECT_LIVE
        if config:
            flags |= self.lv.VIR_DOMAIN_AFFECT_CONFIG
        try:
            self._domain(name).setMetadata(self.lv.VIR_DOMAIN_METADATA_ELEMENT, element_xml, LIBVIRT_NAMESPACE_PREFIX,
                                           LIBVIRT_NAMESPACE, flags)
        except self.lv.libvirtError as exc:
            raise self._fail("setting metadata of", name, exc) from None

    # --------------------------------------------------------------- addresses
    def addresses(self, name):
        """IPv4 addresses libvirt knows for the guest (DHCP leases of libvirt networks, else the ARP table)."""
        dom = self.lookup(name)
        if dom is None or not dom.isActive():
            return []
        found = []
        for source in ("VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE", "VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP"):
            if not hasattr(self.lv, source):
                continue
            try:
                ifaces = dom.interfaceAddresses(getattr(self.lv, source), 0) or {}
            except self.lv.libvirtError:
                continue
            for iface in ifaces.values():
                for addr in iface.get("addrs") or []:
                    if addr.get("type") == self.lv.VIR_IP_ADDR_TYPE_IPV4 and addr["addr"] not in found:
                        found.append(addr["addr"])
        return found

    @staticmethod
    def probe_address(ip, mac, port=22, timeout=0.5, arp_table="/proc/net/arp"):
        """Does the guest answer at ip? A TCP connect that is refused or accepted means the
        address is up (this also makes the kernel resolve its MAC); when the local neighbor
        table knows the address, its MAC must be the guest's, so a duplicate address does
        not count. Used where libvirt sees no address (bridged NICs: no lease; its ARP
        source fails on some neighbor tables)."""
        try:
            conn = socket.create_connection((ip, port), timeout=timeout)
        except ConnectionRefusedError:
            pass
        except OSError:
            return False
        else:
            conn.close()
        if mac:
            try:
                with open(arp_table) as handle:
                    for line in handle.read().splitlines()[1:]:
                        fields = line.split()
                        if len(fields) >= 4 and fields[0] == ip and fields[3] != "00:00:00:00:00:00":
                            return fields[3].lower() == mac.lower()
            except OSError:
                pass
        return True

    # ----------------------------------------------------------------- listing
    def list_guests(self, only_ours=True, names=None):
        """Domains (with our metadata unless only_ours is False), as plain dicts."""
        guests = []
        try:
            domains = self.conn.listAllDomains(0)
        except self.lv.libvirtError as exc:
            raise LibvirtError("listing domains at %s failed: %s" % (self.uri, _libvirt_message(exc))) from None
        now = self.clock()
        for dom in domains:
            try:
                name = dom.name()
                if names and name not in names:
                    continue
                root = parse_domain(dom.XMLDesc(0))
                state = self.state_of(dom)
                persistent = bool(dom.isPersistent())
            except self.lv.libvirtError:
                continue   # vanished while listing
            ours = extract_guest_metadata(root)
            if only_ours and ours is None:
                continue
            spec = extract_spec(root)
            started = ours["started"] if ours else None
            guests.append({
                "name": name,
                "uuid": dom.UUIDString(),
                "state": state,
                "persistent": persistent,
                "ours": ours is not None,
                "macs": [nic["mac"] for nic in spec["interfaces"] if nic["mac"]],
                "metadata": ours["metadata"] if ours else {},
                "base_image": spec["base_image"],
                "console_log": spec["console_log"],
                "disks": [disk["file"] for disk in spec["disks"]],
                "started": started,
                "uptime": round(now - started, 1) if started and state in ("running", "paused", "blocked") else None,
            })
        guests.sort(key=lambda guest: guest["name"])
        return guests

    # ----------------------------------------------------------------- waiting
    def wait_for(self, name, console_log=None, marker=None, address=None, state=None, timeout=300, interval=0.2,
                 mac=None):
        """Wait for a console marker, an address ('any' or an IP) and/or a domain state.

        Returns {"elapsed", "addresses", "state"}; raises WaitTimeout with the last
        console lines, or earlier when the guest stops while we wait for it to boot.
        """
        start = self.monotonic()
        deadline = start + timeout
        seen_marker = marker is None
        offset = 0
        buffer = ""
        addresses = []
        current = None
        while True:
            dom = self.lookup(name)
            current = self.state_of(dom) if dom is not None else "absent"
            if not seen_marker and console_log:
                chunk, offset = read_console(console_log, offset)
                buffer = (buffer + chunk)[-(len(marker) + 65536):]
                seen_marker = marker in buffer
            if address is not None:
                addresses = self.addresses(name)
                if address != "any" and address not in addresses and current == "running" \
                        and self.probe_address(address, mac):
                    addresses.append(address)
            address_ok = address is None or (addresses and (address == "any" or address in addresses))
            state_ok = state is None or current == state
            if seen_marker and address_ok and state_ok:
                return {"elapsed": round(self.monotonic() - start, 2), "addresses": addresses, "state": current}
            if (marker or address) and state != current and current not in ("running", "blocked", "paused"):
                raise WaitTimeout(
                    "%s stopped (state %s) while waiting for %s" % (name, current, _what(marker, address, state)),
                    name=name, state=current, console_tail=console_tail(console_log))
            if self.monotonic() >= deadline:
                raise WaitTimeout(
                    "%s: timed out after %ss waiting for %s (state %s)" % (
                        name, timeout, _what(marker, address, state), current),
                    name=name, state=current, addresses=addresses, console_tail=console_tail(console_log))
            self.sleep(interval)


def _what(marker, address, state):
    parts = []
    if marker:
        parts.append("console marker %r" % marker)
    if address:
        parts.append("address %s" % address)
    if state:
        parts.append("state %s" % state)
    return " and ".join(parts)
