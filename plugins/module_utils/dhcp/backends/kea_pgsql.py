# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dhcp_host backend kea_pgsql: Kea's PostgreSQL host database (table hosts), via psycopg 3.

Kea reads the table on every packet, so a row takes effect at once. The schema makes
(identifier, subnet) unique but NOT the IP: two rows with one IP break leasing for both
clients. Writers therefore lock the table (SHARE ROW EXCLUSIVE: Kea's reads go on,
other writers wait), check, and write in one transaction.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import traceback

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.addresses import (
    int_to_ipv4,
    ipv4_to_int,
    mac_bytes,
    mac_of_bytes,
)
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import MARK_TAG
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.model import (
    BackendInfo,
    DhcpAuthError,
    DhcpBackend,
    DhcpBackendError,
    DhcpMissingLibrary,
    DhcpServerDown,
    Reservation,
)

try:
    import psycopg
    PSYCOPG_IMPORT_ERROR = None
except ImportError:
    psycopg = None
    PSYCOPG_IMPORT_ERROR = traceback.format_exc()

HW_ADDRESS = 0  # host_identifier_type of 'hw-address'
# Literal queries only; every value goes through a %s placeholder.
_FIND_SQL = ("SELECT host_id, dhcp_identifier, ipv4_address, hostname, dhcp4_subnet_id, user_context FROM hosts"
             " WHERE dhcp_identifier_type = %s AND dhcp4_subnet_id = %s"
             " AND (dhcp_identifier = ANY(%s) OR ipv4_address = ANY(%s) OR lower(hostname) = ANY(%s))")
_LIST_ALL_SQL = ("SELECT host_id, dhcp_identifier, ipv4_address, hostname, dhcp4_subnet_id, user_context FROM hosts"
                 " WHERE dhcp_identifier_type = %s AND dhcp4_subnet_id IS NOT NULL ORDER BY host_id")
_LIST_SUBNET_SQL = ("SELECT host_id, dhcp_identifier, ipv4_address, hostname, dhcp4_subnet_id, user_context FROM hosts"
                    " WHERE dhcp_identifier_type = %s AND dhcp4_subnet_id = %s ORDER BY host_id")


def _row_to_reservation(row):
    host_id, ident, ipv4, hostname, subnet_id, user_context = row
    mark = None
    if user_context:
        try:
            context = json.loads(user_context)
        except ValueError:
            context = None
        if isinstance(context, dict) and isinstance(context.get(MARK_TAG), dict):
            mark = {str(k): str(v) for k, v in context[MARK_TAG].items()}
    mac = mac_of_bytes(bytes(ident))
    return Reservation(mac, int_to_ipv4(ipv4) if ipv4 is not None else None, (hostname or "").lower() or None,
                       subnet_id, mark, ref=host_id)


def _classify(exc):
    text = str(exc).strip()
    refused = ("password authentication failed", "no password supplied", "no pg_hba.conf entry")
    if any(word in text for word in refused) or ("role" in text and "does not exist" in text):
        return DhcpAuthError("PostgreSQL refused the credentials: %s" % text)
    return DhcpServerDown("cannot reach the Kea host database: %s" % text)


class _Session(object):
    def __init__(self, backend, write):
        self.backend = backend
        self.write = write

    def __enter__(self):
        self.backend.open()
        if self.write:
            self.backend.execute("LOCK TABLE hosts IN SHARE ROW EXCLUSIVE MODE")
        return self

    def __exit__(self, exc_type, exc, tb):
        self.backend.close(commit=exc_type is None and self.write)
        return False


class KeaPgsqlBackend(DhcpBackend):
    info = BackendInfo("kea_pgsql", needs_subnet_id=True, can_list=True, finds_by_ip=True, stores_mark=True,
                       transactional=True)

    def __init__(self, conninfo, connect=None):
        self.conninfo = conninfo
        self._connect = connect
        self.conn = None

    @classmethod
    def from_params(cls, params):
        if psycopg is None:
            raise DhcpMissingLibrary("psycopg", PSYCOPG_IMPORT_ERROR)
        conninfo = dict(host=params["pgsql_host"], port=params["pgsql_port"], dbname=params["pgsql_database"],
                        user=params["pgsql_user"], connect_timeout=max(1, int(params["timeout"])))
        if params.get("pgsql_password"):
            conninfo["password"] = params["pgsql_password"]
        return cls(conninfo)

    def open(self):
        connect = self._connect or psycopg.connect
        try:
            self.conn = connect(autocommit=False, **self.conninfo)
        except Exception as exc:  # psycopg.OperationalError; kept broad for injected connectors
            raise _classify(exc) from exc

    def close(self, commit):
        if self.conn is None:
            return
        try:
            if commit:
                self.conn.commit()
            else:
                self.conn.rollback()
        finally:
            self.conn.close()
            self.conn = None

    def execute(self, sql, args=None, many=False):
        try:
            with self.conn.cursor() as cur:
                if many:
                    cur.executemany(sql, args)
                    return []
                cur.execute(sql, args)
                return cur.fetchall() if cur.description else []
        except Exception as exc:
            if psycopg is not None and isinstance(exc, psycopg.OperationalError):
                raise _classify(exc) from exc
            raise DhcpBackendError("Kea host database: %s" % str(exc).strip(), sql=sql.split()[0]) from exc

    def session(self, write):
        return _Session(self, write)

    def find(self, macs, ips, hostnames, subnet_id=None):
        rows = self.execute(
            _FIND_SQL,
            (HW_ADDRESS, subnet_id, [mac_bytes(m) for m in sorted(macs)],
             [ipv4_to_int(i) for i in sorted(ips)], sorted(hostnames)))
        return [_row_to_reservation(r) for r in rows]

    def list(self, subnet_id=None):
        if subnet_id is None:
            rows = self.execute(_LIST_ALL_SQL, (HW_ADDRESS,))
        else:
            rows = self.execute(_LIST_SUBNET_SQL, (HW_ADDRESS, subnet_id))
        return [_row_to_reservation(r) for r in rows]

    def apply(self, removals, additions):
        if removals:
            self.execute("DELETE FROM hosts WHERE host_id = ANY(%s)", ([r.ref for r in removals],))
        if additions:
            self.execute(
                "INSERT INTO hosts (dhcp_identifier, dhcp_identifier_type, dhcp4_subnet_id, ipv4_address, hostname,"
                " user_context) VALUES (%s, %s, %s, %s, %s, %s)",
                [(mac_bytes(r.mac), HW_ADDRESS, r.subnet_id, ipv4_to_int(r.ip), r.hostname,
                  json.dumps({MARK_TAG: r.mark}, sort_keys=True)) for r in additions],
                many=True)
