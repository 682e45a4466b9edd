# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VM hostname rule, in one place: a VM's hostname is one DNS label and also its Slurm node name."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Lowercase only: DNS and dnsmasq lower-case names while Slurm is case-sensitive.
HOSTNAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def is_vm_hostname(value):
    """True for a lowercase DNS label (a-z, 0-9, '-' inside, at most 63 characters)."""
    return isinstance(value, str) and HOSTNAME_RE.match(value) is not None
