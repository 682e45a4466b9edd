#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: libvirt_guest_info
short_description: List the libvirt guests of hpc.slurm_vm (domains with its metadata)
version_added: 0.1.0
description:
  - Lists the domains whose C(<metadata>) carries the element of the namespace C(urn:hpc.slurm_vm:1), as written
    by M(hpc.slurm_vm.libvirt_guest), with name, state, MACs, metadata and uptime. The reconciler compares them with
    Slurm, DNS and DHCP.
  - One connection and one XML read per domain; other domains are skipped unless O(all=true).
  - For each guest on an overlay it says whether the base image under it is still the version its metadata records
    (RV(guests[].base_changed)). The file is hashed only when its size or mtime differ from the record, at most
    once per version of the file, through the checksum cache in C(<state_dir>/.base-sha256.json) that
    M(hpc.slurm_vm.libvirt_guest) keeps (written unless in check mode, and only when O(state_dir) exists).
extends_documentation_fragment:
  - hpc.slurm_vm.libvirt
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Read-only; runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  name:
    description: Only these domains (by name).
    type: list
    elements: str
  all:
    description: Also list domains without our metadata (RV(guests[].ours=false)).
    type: bool
    default: false
  image_dir:
    description:
      - Not used. Accepted so that the C(module_defaults) of the action group C(hpc.slurm_vm.libvirt), which set
        M(hpc.slurm_vm.libvirt_guest)'s O(hpc.slurm_vm.libvirt_guest#module:image_dir), can be given to this module
        too.
    type: path
seealso:
  - module: hpc.slurm_vm.libvirt_guest
author:
  - hpc.slurm_vm contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Our guests on this hypervisor
  hpc.slurm_vm.libvirt_guest_info:
    uri: qemu:///system
  register: guests

- name: Guests whose base image was overwritten in place
  ansible.builtin.debug:
    msg: "{{ guests.guests | selectattr('base_changed') | map(attribute='base_changed_reason') | list }}"

- name: Names of running guests of image deb12
  ansible.builtin.debug:
    msg: "{{ guests.guests | selectattr('state', 'eq', 'running')
             | selectattr('metadata.image', 'defined') | selectattr('metadata.image', 'eq', 'deb12')
             | map(attribute='name') | list }}"
"""

RETURN = r"""
guests:
  description: The guests, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Domain name.
      type: str
      sample: vm-deb12-005
    uuid:
      description: Domain UUID.
      type: str
    state:
      description: libvirt state (running, paused, shutoff, crashed, ...).
      type: str
      sample: running
    persistent:
      description: Whether the domain is defined (not transient).
      type: bool
    ours:
      description: Whether it carries the hpc.slurm_vm metadata.
      type: bool
    macs:
      description: MAC addresses of its NICs.
      type: list
      elements: str
      sample: ["52:54:00:77:01:05"]
    metadata:
      description: The key/value metadata given to M(hpc.slurm_vm.libvirt_guest).
      type: dict
      sample: {image: deb12, hostjob: "1234"}
    base_image:
      description: The image under its overlay, if it boots from one.
      type: str
    console_log:
      description: Its console log file, if any.
      type: str
    disks:
      description: Files of its disks (overlay, tmp disk).
      type: list
      elements: str
    image_version:
      description: The image version it was made from (metadata C(image_version)), or null.
      type: str
    base:
      description:
        - The version of the base image its overlay was made on, as its metadata records it; null for a guest without
          one (a direct kernel boot, or a guest made before versions were recorded).
      type: dict
      contains:
        path:
          description: The base image's path.
          type: str
        size:
          description: Its size in bytes.
          type: int
        mtime:
          description: Its modification time, seconds since the epoch.
          type: float
        sha256:
          description: Its SHA-256.
          type: str
    base_changed:
      description:
        - Null without a recorded base. False while the file at RV(guests[].base.path) has the recorded size and
          mtime, or other ones but the recorded SHA-256 (touched, or copied back). True when its content differs or
          it is gone; then the guest's disk may be damaged.
      type: bool
    base_changed_reason:
      description: When RV(guests[].base_changed) is true, why, naming the image (metadata C(image)), the path and the
        recorded and current versions; null otherwise.
      type: str
      sample: "image disk: the base image /srv/images/d12.qcow2 under this guest's overlay was changed in place: ..."
    started:
      description: When M(hpc.slurm_vm.libvirt_guest) started it (seconds since the epoch).
      type: float
    uptime:
      description: Seconds since it was started, for a guest that runs (null when unknown).
      type: float
      sample: 93.4
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.client import libvirt_argument_spec
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.run import run_libvirt_guest_info


def argument_spec():
    """libvirt_guest_info's options: the shared connection options plus its own."""
    spec = libvirt_argument_spec()
    spec.update(
        name=dict(type="list", elements="str"),
        all=dict(type="bool", default=False),
        image_dir=dict(type="path"),   # the group's module_defaults carry it for libvirt_guest
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_libvirt_guest_info(module)


if __name__ == "__main__":
    main()
