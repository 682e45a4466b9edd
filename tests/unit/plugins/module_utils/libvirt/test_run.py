# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""run.ensure_guest's checks of numbers: refused before libvirt or any file is touched, in every state."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import run as lr


class Untouchable(object):
    """A libvirt client or GuestFiles that fails the test on any use: the checks come first."""

    def __getattr__(self, name):
        raise AssertionError("%s used before the input was checked" % name)


STATES = ("running", "defined", "shutdown", "destroyed", "absent")


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("check_mode", [True, False])
@pytest.mark.parametrize("extra, message", [
    (dict(timeout=-5), "timeout must be 0 or more seconds, got -5"),
    (dict(shutdown_timeout=-1), "shutdown_timeout must be 0 or more seconds, got -1"),
    (dict(timeout="soon"), "timeout must be a number of seconds, got 'soon'"),
    (dict(shutdown_timeout=True), "shutdown_timeout must be a number of seconds, got True"),
])
def test_negative_waits_are_refused(spec_params, state, check_mode, extra, message):
    with pytest.raises(InvalidInput) as caught:
        lr.ensure_guest(spec_params(state=state, **extra), Untouchable(), Untouchable(), check_mode=check_mode)
    assert caught.value.message == message


@pytest.mark.parametrize("state", ["running", "defined", "shutdown", "destroyed"])
@pytest.mark.parametrize("extra, message", [
    (dict(memory=0), "memory must be a positive integer, got 0"),
    (dict(memory=-256), "memory must be a positive integer, got -256"),
    (dict(vcpus=0), "vcpus must be a positive integer, got 0"),
    (dict(vcpus=-1), "vcpus must be a positive integer, got -1"),
])
def test_sizes_must_be_positive(spec_params, state, extra, message):
    with pytest.raises(InvalidInput) as caught:
        lr.ensure_guest(spec_params(state=state, **extra), Untouchable(), Untouchable(), check_mode=True)
    assert caught.value.message == message


@pytest.mark.parametrize("value, default, expected", [(None, 300, 300), (0, 300, 0), (0.3, 300, 0.3), (60, 1, 60)])
def test_check_seconds(value, default, expected):
    assert lr.check_seconds(value, "timeout", default) == expected


@pytest.mark.parametrize("address", ["example.org", "10.77.1.01", "10.77.1.1/24", "::1", "10.77.1.1; reboot"])
def test_a_wait_for_address_is_a_dotted_ipv4_address(spec_params, address):
    """The module connects to it (TCP 22) while it waits: a name or anything else is refused first."""
    with pytest.raises(InvalidInput) as caught:
        lr.ensure_guest(spec_params(state="running", wait_for={"address": address}), Untouchable(), Untouchable(),
                        check_mode=True)
    assert caught.value.message.startswith("invalid wait_for.address %r: want an IPv4 address" % address)


@pytest.mark.parametrize("state", ["running", "defined", "shutdown", "destroyed"])
@pytest.mark.parametrize("check_mode", [True, False])
def test_an_unknown_tmp_disk_filesystem_is_refused_first(spec_params, state, check_mode):
    with pytest.raises(InvalidInput) as caught:
        lr.ensure_guest(spec_params(state=state, tmp_disk=dict(size="512M", filesystem="btrfs")), Untouchable(),
                        Untouchable(), check_mode=check_mode)
    assert caught.value.message == "tmp_disk.filesystem must be one of none, ext4, got 'btrfs'"
