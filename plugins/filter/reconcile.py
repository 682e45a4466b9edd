# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the reconcile role."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError


def _endpoint(name, variables):
    """Where a hypervisor's libvirtd is: hypervisors naming the same slurm_vm_libvirt_endpoint share
    one libvirtd and VM folder (the lab's stand-ins); every host with a local connection is the
    controller; others are told apart by address."""
    shared = variables.get("slurm_vm_libvirt_endpoint")
    if shared:
        return "shared/%s" % shared
    connection = variables.get("ansible_connection") or "ssh"
    if connection == "local":
        return "local"
    return "%s/%s" % (connection, variables.get("ansible_host") or name)


def reconcile_endpoints(hypervisors, hostvars):
    """One hypervisor per libvirt endpoint to read, and which one covers each of the others.

    Returns {"targets": [first of each endpoint, sorted], "read_as": {hypervisor: target}}.
    """
    first = {}
    read_as = {}
    for name in sorted(set(hypervisors or [])):
        try:
            variables = hostvars[name]
        except KeyError as exc:
            raise AnsibleFilterError("reconcile_endpoints: %s is not in the inventory" % name) from exc
        read_as[name] = first.setdefault(_endpoint(name, variables), name)
    return {"targets": sorted(set(first.values())), "read_as": read_as}


def reconcile_dhcp_host(item):
    """A dhcp removal of vm_reconcile_plan as a dhcp_host `hosts` entry."""
    return {"hostname": item["hostname"], "mac": item.get("mac"), "ip": item.get("ip")}


def reconcile_dns_record(item):
    """A dns removal of vm_reconcile_plan as a dns_record `records` entry: a forward name goes whole
    (A, mark and the PTRs of its addresses), an orphan PTR by itself, by the value it pointed at when it
    was judged (dns_record takes a PTR removed without its value for someone else's)."""
    if item.get("type") == "PTR":
        return {"name": item["name"], "type": "PTR", "zone": item["where"], "value": [item["value"]], "ptr": False}
    return {"name": item["name"], "ptr": True}


def reconcile_by_where(results, key):
    """Loop results of an _info task run per hypervisor -> {hypervisor: result[key]}, for those that answered."""
    found = {}
    for result in results or []:
        if result.get("failed") or result.get("unreachable") or result.get("skipped") or key not in result:
            continue
        found[result["item"]] = result[key]
    return found


class FilterModule(object):
    def filters(self):
        return {
            "reconcile_endpoints": reconcile_endpoints,
            "reconcile_by_where": reconcile_by_where,
            "reconcile_dhcp_host": reconcile_dhcp_host,
            "reconcile_dns_record": reconcile_dns_record,
        }
