# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DHCP modules' connection options (doc fragment hpc.slurm_vm.dhcp), with no other import.

plugins/filter/module_defaults.py reads them in every task's worker that templates the
module_defaults of group hpc.slurm_vm.dhcp: importing the backends there would cost
that worker a tenth of a second, on every DHCP task.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

BACKENDS = ("kea_pgsql", "kea_api", "dnsmasq", "omapi")


def connection_argument_spec():
    """Backend selection and every backend's connection options."""
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
