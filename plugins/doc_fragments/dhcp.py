# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The DHCP backend, its connection options and the VMs' subnet, shared by dhcp_host and dhcp_host_info:
    # both accept every option here, so a play sets them once with module_defaults and the action group
    # hpc.slurm_vm.dhcp (a module gets every key of its group's defaults, and fails on one it does not know).
    DOCUMENTATION = r"""
options:
  backend:
    description:
      - Which DHCP server holds the reservations.
      - V(kea_pgsql) writes Kea's PostgreSQL host database (table C(hosts)) with psycopg. A row takes effect on the
        next packet. The table is locked while the module checks for conflicts and writes, because the schema does
        not make an IP unique.
      - V(kea_api) talks to the Kea control agent over HTTP(S). With the C(host_cmds) hook it uses
        C(reservation-add)/C(reservation-del) (the hook needs a writable host database); without it (Kea 2.2 as
        packaged by Debian) it falls back to C(config-get), a change, C(config-set) and C(config-write), under a
        local lock file. On removal it also deletes the lease (C(lease4-del)) when C(lease_cmds) is loaded.
      - V(dnsmasq) writes one file C(hpc-slurm-vm-<hostname>) per host in a C(dhcp-hostsdir), atomically, and sends
        SIGHUP to dnsmasq after a removal or change (additions are read by inotify). It acts on the DHCP server's
        host, so use C(delegate_to) there.
      - V(omapi) talks to ISC dhcpd over OMAPI (pypureomapi, HMAC-MD5 keys only). ISC dhcpd is end of life
        (ISC ended its maintenance in 2022); use it only for legacy sites. dhcpd's OMAPI listens on every address
        of the server, so only the key protects it; firewall the port.
    type: str
    required: true
    choices: [kea_pgsql, kea_api, dnsmasq, omapi]
  timeout:
    description: Seconds to wait for the server (connection and each request).
    type: float
    default: 10.0
  pgsql_host:
    description: PostgreSQL host name or address, or a unix socket directory (V(kea_pgsql)).
    type: str
    default: /run/postgresql
  pgsql_port:
    description: PostgreSQL port (V(kea_pgsql)).
    type: int
    default: 5432
  pgsql_database:
    description: The Kea host database (V(kea_pgsql)).
    type: str
    default: kea
  pgsql_user:
    description: PostgreSQL user (V(kea_pgsql)).
    type: str
    default: kea
  pgsql_password:
    description: PostgreSQL password (V(kea_pgsql)).
    type: str
  kea_api_url:
    description:
      - URL of the Kea control agent (V(kea_api)); V(https://...) for TLS.
      - Only V(http) and V(https) with a host are accepted, checked before any request. Redirects are not
        followed (the basic-auth credentials would go along), and a reply that is not the agent's JSON is
        described by status, type and length, never shown.
    type: str
    default: http://127.0.0.1:8000/
  kea_api_user:
    description: User for the control agent's basic authentication (V(kea_api)).
    type: str
  kea_api_password:
    description: Password for the control agent's basic authentication (V(kea_api)).
    type: str
  kea_api_validate_certs:
    description: Verify the control agent's TLS certificate (V(kea_api)).
    type: bool
    default: true
  kea_api_ca_path:
    description: CA bundle to verify the control agent's certificate with (V(kea_api)).
    type: path
  kea_api_lock_file:
    description:
      - Lock file that serializes the config-get/config-set fallback of V(kea_api) on the host running the module.
      - Defaults to a file in the system's temporary folder named after O(kea_api_url).
    type: path
  dnsmasq_hostsdir:
    description: The C(dhcp-hostsdir) of the dnsmasq instance (V(dnsmasq)).
    type: path
    default: /etc/dnsmasq.d/hosts
  dnsmasq_pid_file:
    description: The pid file of that dnsmasq, to send it SIGHUP (V(dnsmasq)).
    type: path
    default: /run/dnsmasq/dnsmasq.pid
  omapi_host:
    description: Address of ISC dhcpd's OMAPI (V(omapi)).
    type: str
    default: 127.0.0.1
  omapi_port:
    description: OMAPI port (V(omapi)).
    type: int
    default: 7911
  omapi_key_name:
    description: Name of the OMAPI key (V(omapi)).
    type: str
    default: omapi_key
  omapi_key:
    description: The OMAPI key's secret, base64 (HMAC-MD5) (V(omapi)).
    type: str
  subnet:
    description:
      - The subnet (CIDR) of the VMs' reservations.
      - M(hpc.slurm_vm.dhcp_host) refuses an IP outside it (unless O(hpc.slurm_vm.dhcp_host#module:force=true));
        M(hpc.slurm_vm.dhcp_host_info) lists only the reservations whose IP is in it.
    type: str
  subnet_id:
    description: Kea's subnet id; required for V(kea_pgsql) and V(kea_api) (V(kea_pgsql) lists every subnet without it).
    type: int
notes:
  - Set these options once for both DHCP modules with C(module_defaults) and the action group
    C(group/hpc.slurm_vm.dhcp); the plays of this collection build them from C(slurm_vm_dhcp) with the filter
    C(hpc.slurm_vm.dhcp_defaults).
requirements:
  - psycopg >= 3.1 for O(backend=kea_pgsql)
  - pypureomapi for O(backend=omapi)
"""
