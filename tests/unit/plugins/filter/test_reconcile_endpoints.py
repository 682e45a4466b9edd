# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""reconcile_endpoints reads each libvirt endpoint once: hypervisors that name the same
slurm_vm_libvirt_endpoint (the lab's stand-ins over SSH, one libvirtd), or that all run locally, are one
endpoint; hypervisors reached over SSH at addresses of their own are one endpoint each."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.hpc.slurm_vm.plugins.filter.reconcile import reconcile_endpoints


def test_hypervisors_naming_one_shared_endpoint_are_read_once_over_ssh():
    hostvars = {n: dict(ansible_host="10.77.0.1%d" % i, slurm_vm_libvirt_endpoint="lab-libvirtd")
                for i, n in enumerate(["hv01", "hv02", "hv03", "hv04"], 1)}
    result = reconcile_endpoints(["hv03", "hv01", "hv04", "hv02", "hv01"], hostvars)
    assert result == {"targets": ["hv01"], "read_as": dict.fromkeys(hostvars, "hv01")}


def test_hypervisors_over_ssh_with_addresses_of_their_own_are_each_read():
    hostvars = {"node001": dict(ansible_host="node001.example.org"),
                "node002": dict(ansible_host="node002.example.org"),
                "alias": dict(ansible_host="node001.example.org")}
    result = reconcile_endpoints(["node002", "node001", "alias"], hostvars)
    assert result == {"targets": ["alias", "node002"],
                      "read_as": {"alias": "alias", "node001": "alias", "node002": "node002"}}


def test_two_shared_endpoints_and_local_hosts_stay_apart():
    hostvars = {"a": dict(slurm_vm_libvirt_endpoint="x"), "b": dict(slurm_vm_libvirt_endpoint="y"),
                "c": dict(slurm_vm_libvirt_endpoint="x"), "d": dict(ansible_connection="local"),
                "e": dict(ansible_connection="local")}
    result = reconcile_endpoints(list(hostvars), hostvars)
    assert result["targets"] == ["a", "b", "d"]
    assert result["read_as"] == {"a": "a", "b": "b", "c": "a", "d": "d", "e": "d"}


def test_a_name_outside_the_inventory_fails():
    with pytest.raises(AnsibleFilterError, match="hv09 is not in the inventory"):
        reconcile_endpoints(["hv09"], {})
