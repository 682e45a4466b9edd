#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: libvirt_guest
short_description: A libvirt guest (VM) defined from validated values, started, stopped or removed with its files
version_added: 0.1.0
description:
  - Declares one libvirt domain and its files. The domain XML is built with an XML library from validated values,
    so a name or value with XML metacharacters cannot inject anything.
  - The desired definition and the live one are both normalized to the fields this module manages and compared;
    the domain is redefined only when one differs, and RV(changes) says which.
  - A disk O(image) is never written to. Each guest boots from its own copy-on-write qcow2 overlay, which the module
    creates and removes. A direct kernel boot (O(kernel), O(initrd), O(cmdline)) works with or without an image.
  - The version of O(image) an overlay is made on (path, size, mtime and SHA-256) is recorded in the domain's
    metadata, and returned as RV(base). A base image whose checksum differs from the version the scheduler
    recorded (O(base_record)) was overwritten in place; the module then refuses, and creates nothing.
  - Base image checksums are kept per hypervisor in C(<state_dir>/.base-sha256.json) (mode 0600, keyed by path, size,
    mtime and inode), so a file is read in full once per version, not once per guest.
  - O(state=absent) destroys and undefines the domain, then removes the overlay, the tmp disk and the console log,
    also when the domain is already gone.
  - A guest this task created is removed again, with its files, when a later step of the same task fails.
  - Our mark is the C(<metadata>) element in the namespace C(urn:hpc.slurm_vm:1); M(hpc.slurm_vm.libvirt_guest_info)
    lists the guests that carry it; with O(hpc.slurm_vm.libvirt_guest_info#module:all=true) it lists every domain
    and says of each whether it is ours.
  - The module refuses, and changes nothing, when a domain of that name exists without our mark, whatever
    O(state) asks. That is no power change, no new definition, no undefine, and none of the files named after the
    guest is removed. Check mode reports the same refusal. O(force=true) overrides it.
extends_documentation_fragment:
  - hpc.slurm_vm.libvirt
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads libvirt and the files, and reports the planned RV(actions) and RV(changes); changes nothing.
  diff_mode:
    support: full
    details: Before and after are the normalized domain XML of the managed fields.
  platform:
    platforms: posix
options:
  name:
    description:
      - Domain name, also the base name of the guest's files. 1 to 64 letters, digits, V(_), V(.), V(+) or V(-).
    type: str
    required: true
  state:
    description:
      - V(running) defines (or updates) and starts the guest; a paused guest is resumed.
      - V(shutdown) asks the guest to power off (ACPI) and destroys it after O(shutdown_timeout).
      - V(destroyed) powers it off at once. V(defined) only defines it and leaves it as it is.
      - V(absent) removes the domain and its files.
      - A running guest whose definition changes keeps running with the old one; RV(restart_needed) is then true.
        Changes of O(image) or O(tmp_disk) are applied only while the guest is shut off.
    type: str
    choices: [running, shutdown, destroyed, defined, absent]
    default: running
  persistent:
    description:
      - V(true) defines the domain in libvirt. V(false) runs it as a transient domain, which disappears when it
        stops; then only O(state=running) and O(state=absent) are allowed.
    type: bool
    default: true
  memory:
    description: Memory in MiB, a positive number.
    type: int
    default: 512
  vcpus:
    description: Number of virtual CPUs, a positive number.
    type: int
    default: 1
  cpu_mode:
    description:
      - libvirt CPU mode. Unset leaves the hypervisor's default model.
      - V(host-passthrough) does not work under TCG (O(virt_type=qemu)).
    type: str
    choices: [host-passthrough, host-model, maximum]
  virt_type:
    description: Domain type. V(qemu) is TCG emulation, for hosts where KVM cannot run the guest (the lab).
    type: str
    choices: [kvm, qemu]
    default: kvm
  acpi:
    description: Give the guest ACPI, needed for O(state=shutdown) to ask it to power off.
    type: bool
    default: true
  mac:
    description:
      - MAC address of the guest's NIC. Unset lets libvirt pick one, which is then kept.
      - A unicast EUI-48 address that is not all zero, written as six hex octets separated by C(:) or C(-),
        or as 12 bare hex digits, in any case. It is compared and stored lower case with colons.
    type: str
  bridge:
    description: Host bridge the NIC joins. Mutually exclusive with O(network).
    type: str
  network:
    description: libvirt network the NIC joins. Mutually exclusive with O(bridge).
    type: str
  image:
    description:
      - Base disk image (absolute path inside O(image_dir)). The guest boots from a qcow2 overlay on it,
        C(<state_dir>/<name>.qcow2), as C(vda). The image itself is only read.
    type: path
  image_format:
    description: Format of O(image).
    type: str
    choices: [qcow2, raw]
    default: qcow2
  image_dir:
    description:
      - Allowed image directory. O(image), O(kernel) and O(initrd) must resolve to paths inside it, after C(..) and
        symbolic links are resolved (realpath); a path outside is refused before anything is created.
      - There is always such a directory. Unset, it is V(/var/lib/hpc-slurm-vm/images).
      - A site sets it once for the action group C(hpc.slurm_vm.libvirt), in C(module_defaults) built by the filter
        C(hpc.slurm_vm.libvirt_defaults) from the site variable C(slurm_vm_image_dir).
    type: path
    default: /var/lib/hpc-slurm-vm/images
  kernel:
    description: Kernel for a direct kernel boot (absolute path inside O(image_dir)).
    type: path
  initrd:
    description: Initramfs for a direct kernel boot (absolute path inside O(image_dir)).
    type: path
  cmdline:
    description: Kernel command line for a direct kernel boot.
    type: str
  sysinfo:
    description:
      - SMBIOS data for the guest, for example a host name and a token for guests with their own kernel
        (read in the guest from C(/sys/class/dmi/id/)).
      - Keys are the SMBIOS system fields C(manufacturer), C(product), C(version), C(serial), C(sku), C(family),
        plus C(oem_strings), a list of strings (SMBIOS type 11).
    type: dict
  filesystems:
    description: Host directories shared with the guest.
    type: list
    elements: dict
    suboptions:
      source:
        description: Host directory (absolute path).
        type: path
        required: true
      target:
        description: Mount tag in the guest.
        type: str
        required: true
      readonly:
        description: Export read-only (9p only).
        type: bool
        default: false
      driver:
        description: V(9p) (with C(multidevs=remap)) or V(virtiofs) (adds shared memfd memory backing).
        type: str
        choices: [9p, virtiofs]
        default: 9p
  tmp_disk:
    description:
      - A sparse raw file C(<state_dir>/<name>.tmp.raw) attached as a virtio disk for the guest's /tmp. The guest
        finds it by its O(tmp_disk.serial) and mounts it (formatting it first unless O(tmp_disk.filesystem) made a
        filesystem on it). The task fails when it would not fit into the free space.
    type: dict
    suboptions:
      size:
        description: Size, such as V(512M) or V(20G) (binary units), or bytes.
        type: str
        required: true
      serial:
        description: Disk serial the guest looks for.
        type: str
        default: tmpdisk
      filesystem:
        description:
          - V(none) leaves the file empty, for a guest that formats its own disk.
          - V(ext4) makes a scratch ext4 filesystem on it on the host when the file is created (C(mkfs.ext4) from
            e2fsprogs, needed on the host that runs the module; without journal, label or reserved blocks, its
            root directory owned by root), so the guest only mounts it and sets the mode of /tmp itself.
          - The filesystem is made only when the file is created (a new guest, a changed O(tmp_disk.size), or a
            file that went missing). An existing tmp disk is never reformatted; a change of this option alone
            changes nothing on an existing guest.
        type: str
        choices: [none, ext4]
        default: none
  console_log:
    description:
      - Write the serial console to C(<state_dir>/<name>.console.log) (emptied at each start). Needed for
        O(wait_for.console) and for the console lines of a failed wait. V(false) gives a pty console.
    type: bool
    default: true
  rng:
    description:
      - Give the guest a virtio RNG device fed by the host's C(/dev/urandom), at most 1024 bytes per second
        (C(<rng model='virtio'>) with C(<rate period='1000' bytes='1024'/>) and C(<backend model='random'>)).
      - Without an entropy source a guest's kernel random number generator is ready only seconds into the boot,
        and programs that ask it early (munged) wait until then. The guest kernel needs its C(virtio_rng) driver.
      - V(false) leaves the device out. Changing it changes the definition, like any other device (RV(changes)
        names C(rng)); a running guest gets it at its next start (RV(restart_needed)).
    type: bool
    default: true
  metadata:
    description:
      - Key/value pairs (strings) stored in the domain's C(<metadata>) under C(urn:hpc.slurm_vm:1), such as image,
        host job, owner. Changing them updates the running guest at once.
      - The module adds C(base_path), C(base_size), C(base_mtime) and C(base_sha256) (the version of O(image) the
        overlay was made on; these keys cannot be given here) and C(image_version) (O(image_version)).
      - C(image) names the image in the messages about its base image.
    type: dict
  image_version:
    description:
      - The image table's version id of the image, stored in the metadata as C(image_version) (the scheduler
        computes it; M(hpc.slurm_vm.libvirt_guest_info) returns it).
    type: str
  base_record:
    description:
      - The version of O(image) the scheduler recorded for this image version (as RV(base) returned it when the
        first guest of that version was made).
      - While O(image) still has the recorded path, size and mtime, its checksum is taken from here and the file
        is not read. Otherwise the file is hashed (SHA-256, once per version of the file on this host, see
        RV(base)); when that checksum differs from the recorded one the base image was overwritten in place, and
        the task fails with C(error=BaseImageChanged), naming the image (O(metadata) C(image)), the path and both
        versions, and creates nothing (no overlay, no tmp disk, no domain). Check mode fails the same way.
      - The guest's own recorded version is checked the same way when an existing guest keeps its overlay.
        Stopping an existing guest (O(state=shutdown) or O(state=destroyed)) is never refused.
      - Ignored without O(image) and for O(state=absent).
    type: dict
    suboptions:
      path:
        description: The base image's path.
        type: path
        required: true
      size:
        description: Its size in bytes.
        type: int
        required: true
      mtime:
        description:
          - Its modification time, seconds since the epoch (as RV(base.mtime)); it matches the file's within a
            microsecond.
        type: float
        required: true
      sha256:
        description: Its SHA-256, 64 hex digits.
        type: str
        required: true
  shutdown_timeout:
    description:
      - Seconds O(state=shutdown) waits for the guest to power off before destroying it.
      - V(0) does not wait; the guest is asked to power off and then destroyed at once. A negative number is refused.
    type: int
    default: 60
  wait_for:
    description:
      - After the guest is in O(state), wait for all the given conditions, up to O(timeout) seconds.
      - On timeout, or when the guest stops while booting, the task fails with the last console lines
        (RV(console_tail)).
    type: dict
    suboptions:
      console:
        description: A string that appears on the serial console (O(console_log) must be on).
        type: str
      address:
        description:
          - An IPv4 address of the guest, or V(any) for any address libvirt sees for it (DHCP lease of a libvirt
            network, or libvirt's view of the ARP table).
          - A given address also counts when it answers a TCP connect to port 22 (refused is fine) and the
            neighbor table of the host that runs the module maps it to the guest's MAC (or does not know it).
            Bridged guests need this, since libvirt has no lease for them.
        type: str
      state:
        description: A domain state.
        type: str
        choices: [running, shutoff]
  timeout:
    description:
      - Seconds O(wait_for) waits.
      - V(0) does not wait; the conditions are checked once, and the task fails unless they already hold.
        A negative number is refused.
    type: int
    default: 300
  force:
    description:
      - Change or remove a domain that does not carry the hpc.slurm_vm metadata (namespace C(urn:hpc.slurm_vm:1)),
        and the files named after it in O(state_dir). Without it the task fails and changes nothing.
    type: bool
    default: false
requirements:
  - netaddr >= 1.0 (MAC and IP checks, on the host that runs the module)
  - e2fsprogs (C(mkfs.ext4)) on the host that runs the module, only for O(tmp_disk.filesystem=ext4)
seealso:
  - module: hpc.slurm_vm.libvirt_guest_info
author:
  - hpc.slurm_vm contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: A fast lab guest with Debian's kernel, the host's root over 9p and a tmp disk made ext4 on the host
  hpc.slurm_vm.libvirt_guest:
    name: vm-deb12-005
    uri: qemu:///system
    state_dir: /tmp/hpcvm-lab/vms
    virt_type: qemu
    memory: 256
    mac: "52:54:00:77:01:05"
    bridge: br-hpcvm
    kernel: /var/cache/hpcvm-lab/guest/vmlinux
    initrd: /var/cache/hpcvm-lab/guest/initrd.gz
    image_dir: /var/cache/hpcvm-lab
    cmdline: console=ttyS0 quiet panic=-1 vm.hostname=vm-deb12-005
    filesystems:
      - source: /
        target: hostroot
        readonly: true
    tmp_disk:
      size: 512M
      filesystem: ext4
    metadata:
      image: deb12
      hostjob: "1234"
      owner: alice
    wait_for:
      console: VM-READY
    timeout: 120

- name: A disk-image guest on a per-VM overlay, named through SMBIOS
  hpc.slurm_vm.libvirt_guest:
    name: vm-disk-001
    image: /srv/images/debian12.qcow2
    image_dir: /srv/images
    mac: "52:54:00:77:02:01"
    bridge: br0
    memory: 768
    sysinfo:
      serial: hostname=vm-disk-001
    wait_for:
      address: 10.77.2.1

- name: A disk-image guest of a recorded image version (refused if the base image was overwritten in place)
  hpc.slurm_vm.libvirt_guest:
    name: vm-disk-002
    image: /srv/images/debian12.qcow2
    image_dir: /srv/images
    bridge: br0
    metadata:
      image: disk
    image_version: 2026.11-a1b2c3d4
    base_record:
      path: /srv/images/debian12.qcow2
      size: 110952448
      mtime: 1764686100.123456
      sha256: ce3a53e4e58e5b2d3c1f4c0d8b2b7a4f9e6d1c0b2a3f4e5d6c7b8a9f0e1d2c3b
  register: guest

- name: A guest without the virtio RNG device (its kernel has no virtio_rng driver)
  hpc.slurm_vm.libvirt_guest:
    name: vm-old-001
    image: /srv/images/centos6.qcow2
    image_dir: /srv/images
    bridge: br0
    rng: false

- name: Remove the guest, its overlay, tmp disk and console log
  hpc.slurm_vm.libvirt_guest:
    name: vm-deb12-005
    state: absent

- name: Remove a domain that some other tool defined (no hpc.slurm_vm metadata), with its files of that name
  hpc.slurm_vm.libvirt_guest:
    name: old-test-vm
    state: absent
    force: true
"""

RETURN = r"""
name:
  description: Domain name.
  returned: always
  type: str
  sample: vm-deb12-005
uuid:
  description: Domain UUID.
  returned: when the domain exists
  type: str
state:
  description: Domain state after the task (predicted in check mode), or V(absent).
  returned: always
  type: str
  sample: running
actions:
  description: What was done (or would be, in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [create_overlay, create_tmp_disk, define, start]
changes:
  description: The managed fields that differed, as C(field -> before -> after).
  returned: always
  type: list
  elements: str
  sample: ["memory_kib: 256 MiB -> 512 MiB"]
restart_needed:
  description: The definition changed while the guest runs; the change applies at its next start.
  returned: always
  type: bool
files:
  description: The guest's files (overlay, tmp_disk, console_log) that the definition uses.
  returned: always
  type: dict
  sample: {console_log: /tmp/hpcvm-lab/vms/vm-deb12-005.console.log}
timings:
  description:
    - Seconds spent in define, start, wait and the other slow steps (such as C(tmp_disk), creating the tmp disk and
      its filesystem, or C(base), taking the base image's version), and in the whole task (total).
  returned: always
  type: dict
  sample: {define: 0.02, start: 0.41, wait: 7.9, total: 8.4}
addresses:
  description: IPv4 addresses seen for the guest while waiting (O(wait_for)).
  returned: when O(wait_for) was given
  type: list
  elements: str
base:
  description:
    - The base image under the guest's overlay as it is now (O(image)), with its SHA-256; null without O(image)
      (a direct kernel boot alone) and for O(state=absent). Also returned in check mode.
    - The metadata keeps the version the overlay was made on; for a new overlay that is this one.
  returned: always
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
    hashed:
      description:
        - Whether this task read the whole file to hash it. False when O(base_record) or the guest's recorded
          version still matched the file's path, size and mtime, or the hypervisor's checksum cache knew this
          version of the file.
      type: bool
  sample: {path: /srv/images/debian12.qcow2, size: 110952448, mtime: 1764686100.123456, hashed: true,
           sha256: ce3a53e4e58e5b2d3c1f4c0d8b2b7a4f9e6d1c0b2a3f4e5d6c7b8a9f0e1d2c3b}
console_tail:
  description: Last lines of the serial console.
  returned: when a wait failed
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.client import libvirt_argument_spec
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.domain_spec import DEFAULT_IMAGE_DIR
from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt.run import run_libvirt_guest


def argument_spec():
    """libvirt_guest's options: the shared connection options plus the guest's own."""
    spec = libvirt_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", default="running", choices=["running", "shutdown", "destroyed", "defined", "absent"]),
        persistent=dict(type="bool", default=True),
        memory=dict(type="int", default=512),
        vcpus=dict(type="int", default=1),
        cpu_mode=dict(type="str", choices=["host-passthrough", "host-model", "maximum"]),
        virt_type=dict(type="str", default="kvm", choices=["kvm", "qemu"]),
        acpi=dict(type="bool", default=True),
        mac=dict(type="str"),
        bridge=dict(type="str"),
        network=dict(type="str"),
        image=dict(type="path"),
        image_format=dict(type="str", default="qcow2", choices=["qcow2", "raw"]),
        image_dir=dict(type="path", default=DEFAULT_IMAGE_DIR),
        kernel=dict(type="path"),
        initrd=dict(type="path"),
        cmdline=dict(type="str"),
        sysinfo=dict(type="dict"),
        filesystems=dict(type="list", elements="dict", options=dict(
            source=dict(type="path", required=True),
            target=dict(type="str", required=True),
            readonly=dict(type="bool", default=False),
            driver=dict(type="str", default="9p", choices=["9p", "virtiofs"]),
        )),
        tmp_disk=dict(type="dict", options=dict(
            size=dict(type="str", required=True),
            serial=dict(type="str", default="tmpdisk"),
            filesystem=dict(type="str", default="none", choices=["none", "ext4"]),
        )),
        console_log=dict(type="bool", default=True),
        rng=dict(type="bool", default=True),
        metadata=dict(type="dict"),
        image_version=dict(type="str"),
        base_record=dict(type="dict", options=dict(
            path=dict(type="path", required=True),
            size=dict(type="int", required=True),
            mtime=dict(type="float", required=True),
            sha256=dict(type="str", required=True),
        )),
        shutdown_timeout=dict(type="int", default=60),
        wait_for=dict(type="dict", options=dict(
            console=dict(type="str"),
            address=dict(type="str"),
            state=dict(type="str", choices=["running", "shutoff"]),
        )),
        timeout=dict(type="int", default=300),
        force=dict(type="bool", default=False),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           mutually_exclusive=[("bridge", "network")])
    run_libvirt_guest(module)


if __name__ == "__main__":
    main()
