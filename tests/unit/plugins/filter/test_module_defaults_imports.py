# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module_defaults filters run in the worker of every module task of the groups (Ansible templates a
group's module_defaults there): they must import the connection options only, never a client, a backend,
dnspython or netaddr, which cost each such task about a tenth of a second (measured with cProfile in a worker)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp import connection_options as dhcp_options
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp import run as dhcp_run
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import client as dns_client
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dns import connection_options as dns_options
from ansible_collections.hpc.slurm_vm.tests.unit import checkout

COLLECTIONS = checkout.COLLECTIONS
HEAVY = ("dns", "netaddr", "psycopg", "ClusterShell")
COLLECTION = "ansible_collections.hpc.slurm_vm.plugins.module_utils."
CLIENTS = ("dns.client", "dhcp.run", "dhcp.model", "slurm.client", "slurm.parse", "common.module_exit")


def test_the_filter_imports_no_client_and_no_third_party_library():
    code = ("import json, sys; import ansible.errors; "
            "import ansible_collections.hpc.slurm_vm.plugins.filter.module_defaults; "
            "print(json.dumps(sorted(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                          env=dict(os.environ, PYTHONPATH=COLLECTIONS))
    assert proc.returncode == 0, proc.stderr
    loaded = set(json.loads(proc.stdout))
    assert "ansible_collections.hpc.slurm_vm.plugins.filter.module_defaults" in loaded   # it did import
    assert [name for name in HEAVY if name in loaded] == []
    assert [name for name in CLIENTS if COLLECTION + name in loaded] == []


def test_the_modules_still_see_the_same_options():
    # the modules and the filter read one definition (moved, not copied)
    assert dhcp_run.site_argument_spec is dhcp_options.site_argument_spec
    assert dhcp_run.BACKENDS == dhcp_options.BACKENDS == ("kea_pgsql", "kea_api", "dnsmasq", "omapi")
    assert dns_client.TSIG_ALGORITHMS is dns_options.TSIG_ALGORITHMS
    expected = {"server", "port", "key_name", "key_secret", "key_algorithm", "timeout"}
    assert set(dns_options.DNS_CONNECTION_ARGSPEC) == expected
    assert dns_options.DNS_CONNECTION_ARGSPEC["key_secret"]["no_log"] is True
    assert [k for k, v in dhcp_options.connection_argument_spec().items() if v.get("no_log")] == [
        "pgsql_password", "kea_api_password", "omapi_key"]
