# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the Slurm binaries a boot bundle carries into an image without Slurm."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.hpc.slurm_vm.plugins.module_utils.provision import slurm_payload
from ansible_collections.hpc.slurm_vm.plugins.plugin_utils.filter_errors import raises_filter_error


@raises_filter_error
def slurm_payload_files(dpkg_text):
    """Files of a ``dpkg-query -L`` listing worth shipping (binaries, libraries, plugins)."""
    return slurm_payload.payload_files(slurm_payload.package_paths(dpkg_text))


@raises_filter_error
def slurm_payload_plan(ldd_text, files, skip_libs=None, plugin_dir=slurm_payload.DEFAULT_PLUGIN_DIR):
    """The payload plan from one ``ldd FILE...`` output over ``files``."""
    skip = slurm_payload.DEBIAN12_MINBASE_LIBS if skip_libs is None else skip_libs
    return slurm_payload.plan(files, slurm_payload.parse_ldd(ldd_text, files), skip, plugin_dir)


@raises_filter_error
def slurm_payload_text(plan):
    """The plan as tab-separated lines (file/link/env) for the stage script."""
    return slurm_payload.plan_text(plan)


class FilterModule(object):
    def filters(self):
        return {
            "slurm_payload_files": slurm_payload_files,
            "slurm_payload_plan": slurm_payload_plan,
            "slurm_payload_text": slurm_payload_text,
        }
