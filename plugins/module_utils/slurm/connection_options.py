# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Slurm modules' connection options (which cluster, which slurm.conf), with no other import.

plugins/filter/module_defaults.py reads them in every task's worker that templates the
module_defaults of group hpc.slurm_vm.slurm; the client and its parsers are not needed there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

SLURM_ARGUMENT_SPEC = dict(
    slurm_conf=dict(type="path"),
    cluster=dict(type="str"),
)
