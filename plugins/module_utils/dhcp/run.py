# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared argument spec, pure planner and run functions of dhcp_host and dhcp_host_info.

The modules are thin: they pass their AnsibleModule to run_dhcp_host() or
run_dhcp_host_info(), which create the backend, read the current reservations under
the backend's lock, plan with plan_reservations() (pure), write only outside check
mode, and return diff before/after. Typed errors become one fail_json here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import missing_required_lib

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
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import SlurmVmError

BACKENDS = ("kea_pgsql", "kea_api", "dnsmasq", "omapi")


def connection_argument_spec():
    """Backend selection and every backend's connection options (doc fragment hpc.slurm_vm.dhcp)."""
    return dict(
        backend=dict(type="str", required=True, choices=list(BACKENDS)),
        timeout=dict(type="float", default=10.0),
        pgsql_host=dict(type="str", default="/run/postgresql"),
        pgsql_port=dict(type="int", default=5432),
        pgsql_database=dict(type="str", default="kea"),
        pgsql_user=dict(type="str", default="kea"),
        pgsql_password=dict(type="str", no_log=True),
        kea_api_url=dict(type="str", default="http://127.0.0.1:8000/"),
        kea_api_user=dict(type="str"),
        kea_api_password=dict(type="str", no_log=True),
        kea_api_validate_certs=dict(type="bool", default=True),
        kea_api_ca_path=dict(type="path"),
        kea_api_lock_file=dict(type="path"),
        dnsmasq_hostsdir=dict(type="path", default="/etc/dnsmasq.d/hosts"),
        dnsmasq_pid_file=dict(type="path", default="/run/dnsmasq/dnsmasq.pid"),
        omapi_host=dict(type="str", default="127.0.0.1"),
        omapi_port=dict(type="int", default=7911),
        omapi_key_name=dict(type="str", default="omapi_key"),
        omapi_key=dict(type="str", no_log=True),
    )


def site_argument_spec():
    """The connection options plus where the VMs' reservations live (subnet, Kea's subnet id).

    Both modules accept every one of them, so a play sets them once for the action group
    hpc.slurm_vm.dhcp (module_defaults gives every module of a group every key).
    """
    spec = connection_argument_spec()
    spec.update(
        subnet=dict(type="str"),
        subnet_id=dict(type="int"),
    )
    return spec


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
    """Normalize the module's mac/ip/hostname or hosts: into Reservations (raises DhcpInvalidInput)."""
    entries = params.get("hosts")
    if entries is None:
        entries = [dict(mac=params.get("mac"), ip=params.get("ip"), hostname=params.get("hostname"))]
    common_mark = params.get("mark") or {}
    result = []
    seen = {}
    for index, entry in enumerate(entries):
        where = "hosts[%d]" % index if params.get("hosts") is not None else "the host"
        mac = normalize_mac(entry["mac"]) if entry.get("mac") else None
        ip = normalize_ip(entry["ip"]) if entry.get("ip") else None
        hostname = normalize_hostname(entry["hostname"]) if entry.get("hostname") else None
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


def _plan_removal(plan, want, current, force):
    if want.hostname:
        matches = [c for c in current if c.hostname == want.hostname]
    else:
        matches = [c for c in current if c.mac == want.mac]
    if not matches:
        plan.unchanged.append(want.hostname or want.mac)
        return
    for res in matches:
        if not res.owned and not force:
            raise DhcpNotOwned("refusing to remove %s: it is not ours (force=true removes it)" % _describe(res),
                               holder=res.to_dict())
        plan.remove(res)
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
        if not res.owned and not force:
            raise DhcpNotOwned("%s exists and is not ours (force=true replaces it)" % _describe(res),
                               holder=res.to_dict())
        plan.remove(res)
    plan.additions.append(want)
    plan.after.append(want)
    (plan.modified if same_name else plan.added).append(want.hostname)


def _dicts(reservations):
    return sorted((r.to_dict() for r in reservations), key=lambda d: (d["hostname"] or "", d["mac"] or ""))


def run_dhcp_host(module, backend_factory=None):
    """The whole of dhcp_host's work; exits the module."""
    params = module.params
    state = params["state"]
    try:
        desired = desired_reservations(params, state)
        if params.get("subnet"):
            parse_subnet(params["subnet"])
        backend = (backend_factory or create_backend)(params)
        info = backend.info
        if info.needs_subnet_id and params.get("subnet_id") is None:
            raise DhcpInvalidInput("the %s backend needs subnet_id" % info.name)
        macs = {r.mac for r in desired if r.mac}
        ips = {r.ip for r in desired if r.ip}
        names = {r.hostname for r in desired if r.hostname}
        with backend.session(write=not module.check_mode):
            current = backend.find(macs, ips, names, params.get("subnet_id"))
            plan = plan_reservations(desired, current, state, params["force"], params.get("subnet"), info.stores_mark)
            if plan.changed and not module.check_mode:
                backend.apply(plan.removals, plan.additions)
    except DhcpMissingLibrary as exc:
        module.fail_json(msg=missing_required_lib(exc.library), exception=exc.exception_text)
    except SlurmVmError as exc:
        module.fail_json(backend=params["backend"], **exc.to_result())
    diff = dict(before=dict(hosts=_dicts(plan.before)), after=dict(hosts=_dicts(plan.after)))
    module.exit_json(
        changed=plan.changed,
        diff=diff,
        added=sorted(plan.added),
        modified=sorted(plan.modified),
        removed=sorted(plan.removed),
        unchanged=len(plan.unchanged),
        backend=params["backend"],
        capabilities=info.to_dict(),
    )


def run_dhcp_host_info(module, backend_factory=None):
    """dhcp_host_info: list reservations (or look some up) with their ownership marks."""
    params = module.params
    try:
        macs = {normalize_mac(m) for m in params["mac"]}
        ips = {normalize_ip(i) for i in params["ip"]}
        names = {normalize_hostname(n) for n in params["hostname"]}
        subnet = params.get("subnet")
        if subnet:
            parse_subnet(subnet)
        backend = (backend_factory or create_backend)(params)
        if backend.info.needs_subnet_id and params.get("subnet_id") is None:
            raise DhcpInvalidInput("the %s backend needs subnet_id" % backend.info.name)
        with backend.session(write=False):
            if macs or ips or names:
                found = backend.find(macs, ips, names, params.get("subnet_id"))
            else:
                found = backend.list(params.get("subnet_id"))
        if subnet:
            found = [r for r in found if r.ip and ip_in_subnet(r.ip, subnet)]
    except DhcpMissingLibrary as exc:
        module.fail_json(msg=missing_required_lib(exc.library), exception=exc.exception_text)
    except SlurmVmError as exc:
        module.fail_json(backend=params["backend"], **exc.to_result())
    if params["owned_only"]:
        found = [r for r in found if r.owned]
    module.exit_json(changed=False, reservations=_dicts(found), backend=params["backend"],
                     capabilities=backend.info.to_dict())


__all__ = ["BACKENDS", "DhcpError", "Plan", "connection_argument_spec", "create_backend", "dhcp_host_argument_spec",
           "dhcp_host_info_argument_spec", "desired_reservations", "plan_reservations", "run_dhcp_host",
           "run_dhcp_host_info", "site_argument_spec"]
