# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""guest_files: the names of a guest's files, and reading its console log."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hpc.slurm_vm.plugins.module_utils.libvirt import guest_files as gf


def test_files_are_named_after_the_guest():
    assert gf.guest_files("vm-deb12-005", "/d") == {
        "overlay": "/d/vm-deb12-005.qcow2", "tmp_disk": "/d/vm-deb12-005.tmp.raw",
        "console_log": "/d/vm-deb12-005.console.log"}


def test_console_tail_of_missing_file():
    assert gf.console_tail("/nonexistent/console.log") == [] and gf.console_tail(None) == []
