# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render the lab's fast-guest domain XML for one pool host (used by lab/guest/vm).

MAC, IP, size and bridge come from the image table (inventories/lab), through
module_utils/scheduler/image_table.py, so the lab never keeps a second copy of them.
Prints "MAC IP IMAGE BRIDGE" for the caller's DHCP reservation.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import re
import string
import sys
from xml.sax.saxutils import escape

import yaml

from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import image_table
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import SlurmVmError

# Kernel command-line words must not split or smuggle in other keys.
CMDLINE_VALUE_RE = re.compile(r"^[A-Za-z0-9_.:/%=?&+-]+$")


def load_images(path):
    with open(path) as handle:
        return image_table.normalize_table(yaml.safe_load(handle)["slurm_vm_images"])


def kernel_cmdline(hostname, fetch_url, tmpdisk_serial, mounts):
    words = ["console=ttyS0", "quiet", "panic=-1", "clocksource=hpet", "mitigations=off", "random.trust_cpu=on",
             "vm.hostname=" + hostname, "vm.fetch=" + fetch_url, "vm.tmpdisk=" + tmpdisk_serial]
    words.extend("vm.mount=" + mount for mount in mounts)
    for word in words:
        if not CMDLINE_VALUE_RE.match(word):
            raise SlurmVmError("unsafe kernel command-line word %r" % word)
    return " ".join(words)


def render(args):
    images = load_images(args.images)
    image = image_table.image_of_host(images, args.host)
    bridge = image["network"]["bridge"]
    if not bridge:
        raise SlurmVmError("image %s uses a libvirt network; the lab guest needs a bridge" % image["name"])
    mac = image_table.vm_mac(image, args.host)
    ip = image_table.vm_ip(image, args.host)
    values = {
        "virt_type": args.virt_type,
        "name": args.host,
        "image": image["name"],
        "created": args.created,
        "memory_mb": str(image["memory_mb"]),
        "vcpus": str(image["vcpus"]),
        "kernel": args.kernel,
        "initrd": args.initrd,
        "cmdline": kernel_cmdline(args.host, args.fetch_url, args.tmpdisk_serial, args.mount),
        "bridge": bridge,
        "mac": mac,
        "tmpdisk": args.tmpdisk,
        "tmpdisk_serial": args.tmpdisk_serial,
        "jobs_dir": args.jobs_dir,
        "console": args.console,
    }
    with open(args.template) as handle:
        template = string.Template(handle.read())
    xml = template.substitute({k: escape(v, {"'": "&apos;", '"': "&quot;"}) for k, v in values.items()})
    with open(args.out, "w") as handle:
        handle.write(xml)
    return "%s %s %s %s" % (mac, ip, image["name"], bridge)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("images", "host", "template", "out", "kernel", "initrd", "fetch-url", "tmpdisk", "console",
                 "jobs-dir", "created"):
        parser.add_argument("--" + name, required=True)
    parser.add_argument("--tmpdisk-serial", default="hpcvm-tmp")
    parser.add_argument("--virt-type", default="qemu", choices=("qemu", "kvm"))
    parser.add_argument("--mount", action="append", default=[], help="TAG:PATH, a read-write 9p share")
    args = parser.parse_args(argv)
    try:
        print(render(args))
    except SlurmVmError as exc:
        print("render_domain: %s" % exc.message, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
