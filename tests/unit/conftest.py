# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared unit-test fixtures.

run_module(main, args) runs a module's main() with args (add
'_ansible_check_mode': True for check mode) and returns ('exit'|'fail', result).
Works on ansible-core 2.19+ (patch_module_args) and older cores.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

try:
    from ansible.module_utils.testing import patch_module_args  # 2.19+
except ImportError:  # older cores
    @contextlib.contextmanager
    def patch_module_args(args=None):
        old = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = old


class ModuleExit(Exception):
    def __init__(self, kind, result):
        super(ModuleExit, self).__init__(kind)
        self.kind = kind
        self.result = result


@pytest.fixture
def run_module(monkeypatch):
    def exit_json(self, **kwargs):
        raise ModuleExit("exit", kwargs)

    def fail_json(self, **kwargs):
        raise ModuleExit("fail", kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

    def _run(main, args):
        with patch_module_args(args), pytest.raises(ModuleExit) as caught:
            main()
        return caught.value.kind, caught.value.result

    return _run
