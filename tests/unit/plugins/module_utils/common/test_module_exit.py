# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""exit_with_result: the one place a module's typed errors become its failure."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.module_exit import exit_with_result


class Ended(Exception):
    pass


class RecordingModule(object):
    """exit_json and fail_json end the run, as AnsibleModule's do (they raise here instead of sys.exit)."""

    def __init__(self):
        self.ended = None

    def exit_json(self, **result):
        self.ended = ("exit", result)
        raise Ended()

    def fail_json(self, **result):
        self.ended = ("fail", result)
        raise Ended()


def test_the_result_of_the_work_is_the_module_result():
    module = RecordingModule()
    with pytest.raises(Ended):
        exit_with_result(module, lambda a, b=None: dict(changed=True, got=[a, b]), 1, b=2)
    assert module.ended == ("exit", {"changed": True, "got": [1, 2]})


def test_a_typed_error_is_one_failure_with_its_class_and_details():
    def work():
        raise InvalidInput("nodes is empty", nodes=[])

    module = RecordingModule()
    with pytest.raises(Ended):
        exit_with_result(module, work)
    assert module.ended == ("fail", {"msg": "nodes is empty", "error": "InvalidInput", "nodes": []})


def test_any_other_exception_is_not_swallowed():
    def work():
        raise KeyError("bug")

    module = RecordingModule()
    with pytest.raises(KeyError):
        exit_with_result(module, work)
    assert module.ended is None
