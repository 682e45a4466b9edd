# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared argument spec, pure planner and run functions of dhcp_host and dhcp_host_info.

The modules are thin: they pass their AnsibleModule to run_dhcp_host() or
run_dhcp_host_info(), which create the backend, read the current reservations under
the backend's lock, plan with plan_reservations() (pure), write only outside check
mode, and return diff before/after. Typed errors become one fail_json through
common/module_exit.finish_module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.model import (
    DhcpConflict,
    DhcpMissingLibrary,
    DhcpError,
    DhcpInvalidInput,
    DhcpNotOwned,
    Reservation,
    check_host_ip,
    ip_in_subnet,
    make_mark,
    normalize_hostname,
    normalize_ip,
    normalize_mac,
    parse_subnet,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.connection_options import (
    BACKENDS,
    connection_argument_spec,
    site_argument_spec,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.module_exit import (
    finish_module,
    missing_library_failure,
)


def dhcp_host_argument_spec():
    spec = site_argument_spec()
    spec.update(
        state=dict(type="str", default="present", choices=["present", "absent"]),
        mac=dict(type="str"),
        ip=dict(type="str"),
        hostname=dict(type="str"),
        mark=dict(type="dict", default={}),
        hosts=dict(type="list", elements="dict", options=dict(
            mac=dict(type="str"),
            ip=dict(type="str"),
            hostname=dict(type="str"),
            mark=dict(type="dict"),
        )),
        force=dict(type="bool", default=False),
    )
    return spec


DHCP_HOST_MODULE_KWARGS = dict(
    mutually_exclusive=[("hosts", "mac"), ("hosts", "ip"), ("hosts", "hostname")],
    required_one_of=[("hosts", "hostname", "mac")],
    supports_check_mode=True,
)


def dhcp_host_info_argument_spec():
    spec = site_argument_spec()
    spec.update(
        mac=dict(type="list", elements="str", default=[]),
        ip=dict(type="list", elements="str", default=[]),
        hostname=dict(type="list", elements="str", default=[]),
        owned_only=dict(type="bool", default=False),
    )
    return spec


def create_backend(params):
    """The backend named by params['backend'], built from its connection options.

    Backend files are imported here, so a site without psycopg can still use dnsmasq.
    """
    name = params["backend"]
    if name == "kea_pgsql":
        from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.backends.kea_pgsql import KeaPgsqlBackend
        return KeaPgsqlBackend.from_params(params)
    if name == "kea_api":
        from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.backends.kea_api import KeaApiBackend
        return KeaApiBackend.from_params(params)
    if name == "dnsmasq":
        from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.backends.dnsmasq import DnsmasqBackend
        return DnsmasqBackend.from_params(params)
    if name == "omapi":
        from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.backends.omapi import OmapiBackend
        return OmapiBackend.from_params(params)
    raise DhcpInvalidInput("unknown DHCP backend %r" % (name,))


def desired_reservations(params, state):
    """Normalize the module's mac/ip/hostname or hosts: into Reservations (raises DhcpInvalidInput).

    Every address is checked here, before any backend exists: a MAC that names no NIC (common/addresses.host_mac)
    and, with subnet, the subnet's network or broadcast address are refused, even with force.
    """
    entries = params.get("hosts")
    if entries is None:
        entries = [dict(mac=params.get("mac"), ip=params.get("ip"), hostname=params.get("hostname"))]
    if params.get("subnet"):
        parse_subnet(params["subnet"])  # a malformed subnet is reported as such, not as a host's problem
    common_mark = params.get("mark") or {}
    result = []
    seen = {}
    for index, entry in enumerate(entries):
        where = "hosts[%d]" % index if params.get("hosts") is not None else "the host"
        mac, ip, hostname = _entry_addresses(entry, where, state, params.get("subnet"))
        if state == "present" and not (mac and ip and hostname):
            raise DhcpInvalidInput("%s: state=present needs mac, ip and hostname" % where)
        if state == "absent" and not (mac or hostname):
            raise DhcpInvalidInput("%s: state=absent needs hostname or mac" % where)
        for field, value in (("hostname", hostname), ("mac", mac), ("ip", ip)):
            if value is None:
                continue
            if (field, value) in seen:
                raise DhcpInvalidInput("%s: %s %s is also given in %s" % (where, field, value, seen[(field, value)]))
            seen[(field, value)] = where
        mark_extra = dict(common_mark)
        mark_extra.update(entry.get("mark") or {})
        mark = make_mark(hostname, mark_extra) if hostname else None
        result.append(Reservation(mac, ip, hostname, params.get("subnet_id"), mark))
    return result


def _entry_addresses(entry, where, state, subnet):
    """(mac, ip, hostname) of one host in normal form; a refusal of hosts[i] names the entry and its hostname."""
    try:
        mac = normalize_mac(entry["mac"]) if entry.get("mac") else None
        ip = normalize_ip(entry["ip"]) if entry.get("ip") else None
        hostname = normalize_hostname(entry["hostname"]) if entry.get("hostname") else None
        if state == "present" and ip and subnet:
            check_host_ip(ip, subnet)
    except DhcpInvalidInput as exc:
        if where == "the host":
            raise
        named = "%s (%s)" % (where, entry.get("hostname")) if entry.get("hostname") else where
        raise DhcpInvalidInput("%s: %s" % (named, exc.message), **exc.details) from exc
    return mac, ip, hostname


def _describe(res):
    note = "" if res.owned else ", not marked as hpc.slurm_vm's"
    return "host %s (mac %s, ip %s%s)" % (res.hostname or "(no name)", res.mac, res.ip, note)


class Plan(object):
    """What plan_reservations decided: reservations to remove and to add, and the hosts by outcome."""

    def __init__(self):
        self._removed_ids = set()
        self.removals = []
        self.additions = []
        self.before = []   # affected reservations as they are
        self.after = []    # affected reservations as they will be
        self.added = []
        self.modified = []
        self.removed = []
        self.unchanged = []

    @property
    def changed(self):
        return bool(self.removals or self.additions)

    def remove(self, res):
        """Remove res once, however many wanted hosts it conflicts with."""
        if id(res) not in self._removed_ids:
            self._removed_ids.add(id(res))
            self.removals.append(res)
            self.before.append(res)


def plan_reservations(desired, current, state, force=False, subnet=None, stores_mark=True):
    """Pure: decide removals and additions that turn current into desired.

    Conflicts (an IP or MAC held by another host, an IP outside the subnet) and records
    without our mark raise unless force=True; with force the other holder is removed. The
    subnet's network and broadcast address are refused even with force: no client can use them.
    """
    plan = Plan()
    for want in desired:
        if state == "absent":
            _plan_removal(plan, want, current, force)
        else:
            if not stores_mark:
                want = Reservation(want.mac, want.ip, want.hostname, want.subnet_id, make_mark(want.hostname))
            _plan_reservation(plan, want, current, force, subnet)
    return plan


def _remove_if_ours(plan, res, force, refusal):
    """Plan the removal of res; refusal (with %s for res) is raised instead when res is not ours and force is off."""
    if not res.owned and not force:
        raise DhcpNotOwned(refusal % _describe(res), holder=res.to_dict())
    plan.remove(res)


def _plan_removal(plan, want, current, force):
    if want.hostname:
        matches = [c for c in current if c.hostname == want.hostname]
    else:
        matches = [c for c in current if c.mac == want.mac]
    if not matches:
        plan.unchanged.append(want.hostname or want.mac)
        return
    for res in matches:
        _remove_if_ours(plan, res, force, "refusing to remove %s: it is not ours (force=true removes it)")
    plan.removed.append(want.hostname or want.mac)


def _plan_reservation(plan, want, current, force, subnet):
    if subnet:
        check_host_ip(want.ip, subnet)
        if not ip_in_subnet(want.ip, subnet) and not force:
            raise DhcpConflict("IP %s of host %s is outside the subnet %s"
                               % (want.ip, want.hostname, parse_subnet(subnet)[2]),
                               hostname=want.hostname, ip=want.ip, subnet=subnet)
    for res in [c for c in current if c.hostname != want.hostname and (c.mac == want.mac or c.ip == want.ip)]:
        if not force:
            what = "MAC %s" % want.mac if res.mac == want.mac else "IP %s" % want.ip
            raise DhcpConflict("%s wanted for host %s is already reserved for %s (force=true takes it over)"
                               % (what, want.hostname, _describe(res)),
                               hostname=want.hostname, holder=res.to_dict())
        plan.remove(res)
    same_name = [c for c in current if c.hostname == want.hostname]
    if len(same_name) == 1 and same_name[0] == want:
        plan.unchanged.append(want.hostname)
        return
    for res in same_name:
        _remove_if_ours(plan, res, force, "%s exists and is not ours (force=true replaces it)")
    plan.additions.append(want)
    plan.after.append(want)
    (plan.modified if same_name else plan.added).append(want.hostname)


def _dicts(reservations):
    return sorted((r.to_dict() for r in reservations), key=lambda d: (d["hostname"] or "", d["mac"] or ""))


def _open_backend(params, backend_factory=None):
    """The backend of params, after the checks both modules make: a well-formed subnet, and subnet_id where the
    backend needs one."""
    if params.get("subnet"):
        parse_subnet(params["subnet"])
    backend = (backend_factory or create_backend)(params)
    if backend.info.needs_subnet_id and params.get("subnet_id") is None:
        raise DhcpInvalidInput("the %s backend needs subnet_id" % backend.info.name)
    return backend


def _finish_dhcp_module(module, work):
    """End a DHCP module: a missing backend library as missing_required_lib, other typed errors with the backend."""
    backend_name = module.params["backend"]

    def failure_of(exc):
        if isinstance(exc, DhcpMissingLibrary):
            return missing_library_failure(exc.library, exc.exception_text)
        failure = dict(backend=backend_name)
        failure.update(exc.to_result())
        return failure

    finish_module(module, work, failure_of=failure_of)


def dhcp_host_result(params, check_mode, backend_factory=None):
    """dhcp_host's result: read the current reservations under the backend's lock, plan, write outside check mode."""
    state = params["state"]
    desired = desired_reservations(params, state)
    backend = _open_backend(params, backend_factory)
    info = backend.info
    macs = {r.mac for r in desired if r.mac}
    ips = {r.ip for r in desired if r.ip}
    names = {r.hostname for r in desired if r.hostname}
    with backend.session(write=not check_mode):
        current = backend.find(macs, ips, names, params.get("subnet_id"))
        plan = plan_reservations(desired, current, state, params["force"], params.get("subnet"), info.stores_mark)
        if plan.changed and not check_mode:
            backend.apply(plan.removals, plan.additions)
    return dict(
        changed=plan.changed,
        diff=dict(before=dict(hosts=_dicts(plan.before)), after=dict(hosts=_dicts(plan.after))),
        added=sorted(plan.added),
        modified=sorted(plan.modified),
        removed=sorted(plan.removed),
        unchanged=len(plan.unchanged),
        backend=params["backend"],
        capabilities=info.to_dict(),
    )


def dhcp_host_info_result(params, backend_factory=None):
    """dhcp_host_info's result: the reservations (all, or those matching mac/ip/hostname) with their marks."""
    macs = {normalize_mac(m) for m in params["mac"]}
    ips = {normalize_ip(i) for i in params["ip"]}
    names = {normalize_hostname(n) for n in params["hostname"]}
    subnet = params.get("subnet")
    backend = _open_backend(params, backend_factory)
    with backend.session(write=False):
        if macs or ips or names:
            found = backend.find(macs, ips, names, params.get("subnet_id"))
        else:
            found = backend.list(params.get("subnet_id"))
    if subnet:
        found = [r for r in found if r.ip and ip_in_subnet(r.ip, subnet)]
    if params["owned_only"]:
        found = [r for r in found if r.owned]
    return dict(changed=False, reservations=_dicts(found), backend=params["backend"],
                capabilities=backend.info.to_dict())


def run_dhcp_host(module, backend_factory=None):
    """The whole of dhcp_host's work; exits the module."""
    _finish_dhcp_module(module, lambda: dhcp_host_result(module.params, module.check_mode, backend_factory))


def run_dhcp_host_info(module, backend_factory=None):
    """dhcp_host_info: list reservations (or look some up) with their ownership marks; exits the module."""
    _finish_dhcp_module(module, lambda: dhcp_host_info_result(module.params, backend_factory))


__all__ = ["BACKENDS", "DhcpError", "Plan", "connection_argument_spec", "create_backend", "dhcp_host_argument_spec",
           "dhcp_host_info_argument_spec", "desired_reservations", "plan_reservations", "run_dhcp_host",
           "run_dhcp_host_info", "site_argument_spec", "dhcp_host_result", "dhcp_host_info_result"]
