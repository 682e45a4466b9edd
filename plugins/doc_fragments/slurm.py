# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options shared by every Slurm-facing module (action group hpc.slurm_vm.slurm).
    DOCUMENTATION = r"""
options:
  slurm_conf:
    description:
      - Path of the C(slurm.conf) of the cluster to talk to, exported as E(SLURM_CONF) to every Slurm command.
      - The collection talks to two clusters (the host cluster and the VM cluster), so set this per task or
        through C(module_defaults) with the action group C(group/hpc.slurm_vm.slurm).
      - When omitted, the Slurm commands use the environment's E(SLURM_CONF) or their built-in default.
      - The module fails if the file does not exist.
    type: path
  cluster:
    description:
      - Name of the cluster (its C(ClusterName)) to address with C(scontrol --clusters).
      - Addressing a cluster by name goes through slurmdbd. Without slurmdbd (as in the local lab) leave it
        unset and select the cluster with O(slurm_conf) alone.
      - When unset, no C(--clusters) option is passed.
    type: str
requirements:
  - Slurm's C(scontrol) on the target (tested with Slurm 22.05).
  - The Python library C(ClusterShell) for hostlist expressions.
"""

    # Descriptions of the attributes; each module states its own support level.
    ATTRIBUTES = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return a changed status prediction without modifying the target.
  diff_mode:
    description: Returns details on what has changed (or would change in check mode), in diff mode.
"""

    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
"""
