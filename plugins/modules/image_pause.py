#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: image_pause
short_description: Pause or resume one image of hpc.slurm_vm (no new VMs while paused)
version_added: 0.2.0
description:
  - Writes the image's entry in C(paused.json) in the scheduler's state folder (C(slurm_vm_state_dir)), which
    M(hpc.slurm_vm.vm_plan) reads (its C(paused_file)) on every scheduler run.
  - "While an image is paused, the scheduler starts no VM of it and cancels its pending host jobs. Its running VMs
    keep serving until their own teardown rules end them. The users' jobs that wait for it say
    C(image <name> paused: <reason>) in their comment (C(squeue -O comment))."
  - The file maps each paused image to C(reason), C(since) (epoch seconds, when the pause began) and C(by)
    (who paused it). It is written atomically (a temporary file renamed over it), mode 0600, under a lock on
    C(paused.json.lock) in the same folder, so two admins pausing two images at once both count.
  - Pausing a paused image with the same reason changes nothing. With another reason, the reason and C(by) change,
    C(since) stays. Resuming an image that is not paused changes nothing.
  - Playbook C(hpc.slurm_vm.pause) runs this module with the site's variables.
author:
  - hpc.slurm_vm contributors (!UNKNOWN)
attributes:
  check_mode:
    support: full
    description: Reads the file and reports the change it would make; writes nothing (not even the lock file).
  diff_mode:
    support: full
    description: The paused images before and after.
options:
  state_dir:
    description:
      - The scheduler's state folder (C(slurm_vm_state_dir)), on the host the scheduler runs on.
      - It must exist (the scheduler creates it on its first run). A missing folder is an error, so a mistyped path
        cannot pause nothing silently.
    type: path
    required: true
  image:
    description: The image's name in the image table.
    type: str
    required: true
  state:
    description: V(paused) pauses the image, V(active) resumes it.
    type: str
    choices: [paused, active]
    default: paused
  reason:
    description:
      - Why the image is paused; required with O(state=paused).
      - One line of at most 200 printable characters. The users read it in their waiting jobs' comment.
    type: str
  images:
    description:
      - The image table (C(slurm_vm_images)). An image it does not define is refused, except with O(state=active)
        for an image still in the file (it left the table while paused).
    type: dict
    required: true
  by:
    description:
      - Who pauses the image, recorded in the file. Default the user the module runs as, or the user who called
        sudo when it runs as root through sudo.
    type: str
seealso:
  - module: hpc.slurm_vm.vm_plan
"""

EXAMPLES = r"""
- name: Pause an image while its certification is checked
  hpc.slurm_vm.image_pause:
    state_dir: /var/lib/hpc-slurm-vm
    images: "{{ slurm_vm_images }}"
    image: sl6
    reason: certification of the new kernel pending (ticket 4711)

- name: Resume it
  hpc.slurm_vm.image_pause:
    state_dir: /var/lib/hpc-slurm-vm
    images: "{{ slurm_vm_images }}"
    image: sl6
    state: active
"""

RETURN = r"""
image:
  description: The image paused or resumed.
  returned: always
  type: str
  sample: sl6
state:
  description: The state asked for.
  returned: always
  type: str
  sample: paused
paused:
  description: The image's entry after the change (in check mode, the predicted one); null when it is active.
  returned: always
  type: dict
  sample: {reason: "certification pending", since: 1796300000, by: alice}
paused_images:
  description: Every paused image after the change (the whole file).
  returned: always
  type: dict
path:
  description: The file written (or that would be).
  returned: always
  type: str
  sample: /var/lib/hpc-slurm-vm/paused.json
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.module_exit import exit_with_result
from ansible_collections.hpc.slurm_vm.plugins.module_utils.scheduler import pause


def main():
    module = AnsibleModule(argument_spec=pause.ARGUMENT_SPEC, required_if=pause.REQUIRED_IF,
                           supports_check_mode=True)
    exit_with_result(module, pause.run_image_pause, module.params, check_mode=module.check_mode)


if __name__ == "__main__":
    main()
