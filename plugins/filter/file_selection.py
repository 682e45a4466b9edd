# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for provisioning by filename (site-local files chosen per hostname).

See plugins/module_utils/provision/file_selection.py for the naming rule and the tie rule.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.hpc.slurm_vm.plugins.module_utils.provision import file_selection
from ansible_collections.hpc.slurm_vm.plugins.plugin_utils.filter_errors import raises_filter_error


def _names(filenames):
    # accept plain names, paths, or the dicts ansible.builtin.find returns
    names = []
    for item in filenames or []:
        if isinstance(item, dict):
            item = item.get("path", "")
        names.append(str(item).rstrip("/").rsplit("/", 1)[-1])
    return names


@raises_filter_error
def nodeset_aliases(text):
    """Alias text ('GPU_NODES=taurusi[2045-2108]' lines) -> {NAME: nodeset}, validated."""
    aliases = file_selection.parse_alias_text(text) if isinstance(text, str) else dict(text or {})
    file_selection.normalize_aliases(aliases)
    return aliases


@raises_filter_error
def site_file_selection(filenames, bases, hostname, aliases=None, tie_policy="alias_order"):
    """{base: {selected, reason, prio, alias, ties, candidates}} for one host."""
    if isinstance(bases, str):
        bases = [bases]
    return file_selection.select_files(_names(filenames), list(bases), hostname, aliases or {}, tie_policy)


@raises_filter_error
def site_file_plan(filenames, bases, hostnames, aliases=None, tie_policy="alias_order"):
    """{hostname: {base: selected file name or None}} for many hosts."""
    if isinstance(bases, str):
        bases = [bases]
    return file_selection.selection_plan(_names(filenames), list(bases), list(hostnames), aliases or {}, tie_policy)


class FilterModule(object):
    def filters(self):
        return {
            "nodeset_aliases": nodeset_aliases,
            "site_file_selection": site_file_selection,
            "site_file_plan": site_file_plan,
        }
