# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kea_pgsql backend: rows to reservations and psycopg errors (texts captured from the lab's
PostgreSQL 15) to typed errors. The SQL itself runs against the real database in
tests/integration/dhcp."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.backends import kea_pgsql as dhcp_kea_pgsql
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.model import DhcpAuthError, DhcpServerDown

CAPTURED = [
    ('connection failed: connection to server on socket "/tmp/hpcvm-lab/run/pg/.s.PGSQL.5432" failed: FATAL:  '
     'password authentication failed for user "kea"', DhcpAuthError),
    ('connection failed: connection to server at "127.0.0.1", port 5499 failed: Connection refused\n\tIs the server '
     'running on that host and accepting TCP/IP connections?', DhcpServerDown),
    ('connection is bad: connection to server on socket "/nonexistent/.s.PGSQL.5432" failed: No such file or '
     'directory\n\tIs the server running locally and accepting connections on that socket?', DhcpServerDown),
]


@pytest.mark.parametrize("text, error", CAPTURED)
def test_connect_errors_are_typed(text, error):
    def connect(**kwargs):
        raise RuntimeError(text)
    backend = dhcp_kea_pgsql.KeaPgsqlBackend(dict(host="x"), connect=connect)
    with pytest.raises(error), backend.session(write=True):
        pass


def test_row_to_reservation():
    row = (7, b"\x52\x54\x00\x78\x01\x0a", 0x0A4E000A, "VM-A", 1, '{"hpc.slurm_vm": {"vm": "vm-a", "job": 42}}')
    res = dhcp_kea_pgsql._row_to_reservation(row)
    assert (res.mac, res.ip, res.hostname, res.subnet_id, res.ref) == ("52:54:00:78:01:0a", "10.78.0.10", "vm-a", 1, 7)
    assert res.mark == {"vm": "vm-a", "job": "42"}
    foreign = dhcp_kea_pgsql._row_to_reservation((8, b"\x00" * 6, None, None, 1, '{"site": 1}'))
    assert foreign.mark is None and foreign.ip is None
