# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""provision/bundle.check_hostname: the VM hostname rule of common/hostnames, with the bundle's own error."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.provision.bundle import BootBundleError, check_hostname


@pytest.mark.parametrize("hostname", ["vm-deb12-001", "a", "0", "a" * 63])
def test_a_vm_hostname_passes_unchanged(hostname):
    assert check_hostname(hostname) == hostname


@pytest.mark.parametrize("hostname", ["Vm-deb12-001", "-vm", "vm-", "vm_1", "vm.lab", "", "a" * 64, None, 7])
def test_anything_else_is_refused_naming_it(hostname):
    with pytest.raises(BootBundleError) as caught:
        check_hostname(hostname)
    assert "invalid VM hostname %r" % (hostname,) in str(caught.value)
