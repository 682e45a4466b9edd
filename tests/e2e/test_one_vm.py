# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: a pending VM job gets a VM from the scheduler, runs in it, and the VM
is torn down without a trace; the name then serves a second job.

With whichever DHCP server serves the guests (make lab-up DHCP=dnsmasq|kea|dhcpd; `make e2e`
runs it with dnsmasq, `make e2e-dhcp-backends` with Kea and ISC dhcpd): while the job's VM
lives, the server holds its reservation and the guest's console shows what the server sent
(its address, host name, DNS server and domain, no router); the server's log acknowledged
that address to the VM's MAC; after the teardown the server holds nothing of it."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table

from .guest_dhcp import LAB_DIR, GuestDhcp, console_dhcp
from .story import Story

GATEWAY = "10.77.0.1"
DOMAIN = "vms.lab.test"


class WhileAlive(object):
    """Story's `say`: prints, and when the job's output is in (the VM still lives), reads the guest's
    console and what the DHCP server holds for the VM."""

    def __init__(self, dhcp):
        self.dhcp = dhcp
        self.seen = {}

    def __call__(self, line):
        print(line)
        if "job output: " not in line:
            return
        vm = line.rstrip("'\"").split()[-1]
        try:  # an error here would stop the story with the VM alive: kept for the test to report
            self.seen[vm] = dict(
                console=console_dhcp(os.path.join(LAB_DIR, "guests", vm + ".console.log")),
                held=self.dhcp.held(vm, *self.addresses(vm)))
        except (AssertionError, OSError, ValueError) as error:
            self.seen[vm] = dict(error="%s: %s" % (type(error).__name__, error))

    def addresses(self, vm):
        images = image_table.normalize_table(self.story.images)
        image = image_table.image_of_host(images, vm)
        return image_table.vm_mac(image, vm), image_table.vm_ip(image, vm)


@pytest.fixture
def dhcp():
    return GuestDhcp()


@pytest.fixture
def alive(dhcp):
    return WhileAlive(dhcp)


@pytest.fixture
def story(alive):
    story = Story(idle_timeout=5, say=alive)   # the VM is not needed once its job is done
    alive.story = story
    return story


def check_served(dhcp, alive, vm, since):
    """The VM got its address from the server that serves the guests, and the server keeps nothing of it."""
    mac, ip = alive.addresses(vm)
    assert vm in alive.seen, "the job's output was never reported: nothing was checked while %s lived" % vm
    seen = alive.seen[vm]
    assert "error" not in seen, "reading the guest's console or the server while %s lived: %s" % (vm, seen["error"])
    # while the VM lived, the server held its reservation (so the check below can see one)
    assert seen["held"], "%s held no reservation for %s (%s, %s) while it lived" % (dhcp.server, vm, mac, ip)
    # what the guest got from the server: its address, host name, the lab's DNS server and domain, no router
    console = seen["console"]
    assert (console.get("mac"), console.get("ip"), console.get("hostname")) == (mac, ip, vm), console
    assert (console.get("server"), console.get("dns"), console.get("domain"), console.get("router")) == (
        GATEWAY, GATEWAY, DOMAIN, ""), console
    # the server's own log: it acknowledged that address to that MAC in this test
    assert dhcp.acks(mac, ip, since), "%s's log %s shows no acknowledgement of %s to %s" % (
        dhcp.server, dhcp.log, ip, mac)
    # teardown left nothing in the server
    assert dhcp.held(vm, mac, ip) == []


def test_a_vm_job_runs_in_a_fresh_vm_and_every_trace_goes(story, dhcp, alive):
    print("guests' DHCP server: %s (backend %s)" % (dhcp.server, dhcp.backend))
    since = dhcp.mark()
    vm, output = story.one_vm("e2e-first")
    assert vm.startswith("vm-deb12-")
    assert output.endswith("ran on %s" % vm)
    assert story.traces(vm) == []
    check_served(dhcp, alive, vm, since)
    # the name is reused for the next job, and works: the server takes its reservation again
    alive.seen.clear()
    since = dhcp.mark()
    vm2, output2 = story.one_vm("e2e-second")
    assert vm2 == vm
    assert output2.endswith("ran on %s" % vm)
    assert story.traces(vm) == []
    check_served(dhcp, alive, vm, since)
