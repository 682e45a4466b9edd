# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt_guest's virtio RNG against the lab's libvirtd: a guest gets <rng model='virtio'> fed by the host's
/dev/urandom (rate limited), libvirtd keeps it as written (a second run changes nothing), rng=false leaves it out,
and a guest defined without it is redefined like for any other device difference."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import xml.etree.ElementTree as ET

from .conftest import MARKER, STATE_DIR, URI, fast_guest, run_module, virsh


def rngs(host, inactive=False):
    """The <rng> devices of the domain's XML (live, or the inactive definition), as plain tuples."""
    out = virsh("dumpxml", *(["--inactive"] if inactive else []), host, check=True).stdout
    found = []
    for rng in ET.fromstring(out).findall("devices/rng"):  # noqa: S314 - XML of the lab's own libvirtd
        backend, rate = rng.find("backend"), rng.find("rate")
        found.append((rng.get("model"), backend.get("model"), backend.text,
                      None if rate is None else (rate.get("bytes"), rate.get("period"))))
    return found


URANDOM = [("virtio", "random", "/dev/urandom", ("1024", "1000"))]


def test_every_guest_gets_a_virtio_rng_from_urandom_and_a_second_run_is_unchanged(guest):
    host = guest("vm-deb12-006")
    args = fast_guest(host)

    made = run_module("libvirt_guest", dict(args, wait_for=dict(console=MARKER), timeout=120))
    assert made["actions"] == ["create_tmp_disk", "define", "start"] and not made.get("failed"), made
    assert rngs(host) == URANDOM and rngs(host, inactive=True) == URANDOM
    live = virsh("dumpxml", host, check=True).stdout
    assert "<alias name='rng0'/>" in live   # libvirtd gave it to QEMU: a device of the running guest

    again = run_module("libvirt_guest", args)
    assert again["actions"] == [] and again["changes"] == [] and not again["changed"], again
    gone = run_module("libvirt_guest", dict(name=host, uri=URI, state_dir=STATE_DIR, state="absent"))
    assert gone["changed"], gone


def test_rng_false_leaves_it_out_and_a_guest_without_it_is_redefined(guest):
    host = guest("vm-deb12-006")
    without = fast_guest(host, rng=False)

    made = run_module("libvirt_guest", dict(without, wait_for=dict(console=MARKER), timeout=120))
    assert made["actions"] == ["create_tmp_disk", "define", "start"], made
    assert rngs(host) == [] and rngs(host, inactive=True) == []
    assert run_module("libvirt_guest", without)["actions"] == []

    # the same guest with the default: a definition difference like any device's, planned alike in check mode
    wanted = dict(without, rng=True)
    check = run_module("libvirt_guest", wanted, check=True)
    assert check["actions"] == ["define"] and check["restart_needed"], check
    assert check["changes"] == ["rng: [] -> [virtio from /dev/urandom, 1024 bytes per 1000 ms]"], check
    assert rngs(host, inactive=True) == []
    redefined = run_module("libvirt_guest", wanted)
    assert redefined["actions"] == ["define"] and redefined["restart_needed"], redefined
    assert rngs(host, inactive=True) == URANDOM and rngs(host) == []   # the running guest keeps its old devices
    assert run_module("libvirt_guest", dict(wanted, state="destroyed"))["actions"] == ["destroy"]
    started = run_module("libvirt_guest", dict(wanted, wait_for=dict(console=MARKER), timeout=120))
    assert started["actions"] == ["start"] and started["changes"] == [], started
    assert rngs(host) == URANDOM
    run_module("libvirt_guest", dict(name=host, uri=URI, state_dir=STATE_DIR, state="absent"))
