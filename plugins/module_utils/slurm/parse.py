# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one Slurm parse layer: scontrol/squeue text in, node, job and reservation models out.

Nothing else in the collection reads Slurm's text, and the facts about Slurm's states
live here once.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# A node running (or finishing) jobs: its base state is one of these.
NODE_BUSY_STATES = ("ALLOCATED", "MIXED", "COMPLETING")
# Job states in which a job occupies its nodes.
JOB_STATES_ON_NODE = ("RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED")
