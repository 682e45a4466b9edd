# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by libvirt_guest and libvirt_guest_info."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  uri:
    description:
      - libvirt connection URI, local (V(qemu:///system)) or remote (V(qemu+ssh://root@hv01/system)).
    type: str
    default: qemu:///system
  state_dir:
    description:
      - Directory of the per-guest files the module creates and removes, each named after the guest
        (C(<name>.qcow2) overlay, C(<name>.tmp.raw) tmp disk, C(<name>.console.log) serial console).
      - These files are made on the host that runs the module, so with a remote O(uri) run the module on the
        hypervisor itself (C(delegate_to)) when the guest uses an image, a tmp disk or a console log.
    type: path
    default: /var/lib/hpc-slurm-vm/guests
requirements:
  - libvirt-python (on the host that runs the module)
notes:
  - Set these options once for both modules with C(module_defaults) and the action group C(hpc.slurm_vm.libvirt).
"""
