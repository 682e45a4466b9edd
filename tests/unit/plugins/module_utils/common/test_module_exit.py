# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""exit_with_result: the one place a module's typed errors become its failure."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.module_exit import exit_with_result, finish_module


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


def test_a_missing_library_fails_before_the_work_runs():
    ran = []
    module = RecordingModule()
    with pytest.raises(Ended):
        finish_module(module, lambda: ran.append(1), required_library=("dnspython", "Traceback: no module dns"))
    assert ran == []
    assert module.ended[0] == "fail"
    assert "dnspython" in module.ended[1]["msg"] and module.ended[1]["exception"] == "Traceback: no module dns"


def test_an_imported_library_lets_the_work_run():
    module = RecordingModule()
    with pytest.raises(Ended):
        finish_module(module, lambda: dict(changed=False), required_library=("dnspython", None))
    assert module.ended == ("exit", {"changed": False})


def test_failure_of_gives_the_module_its_own_failure_keys():
    def work():
        raise InvalidInput("bad ip", ip="10.0.0.0")

    module = RecordingModule()
    with pytest.raises(Ended):
        finish_module(module, work, failure_of=lambda exc: dict(exc.to_result(), backend="kea_api"))
    assert module.ended == ("fail", {"msg": "bad ip", "error": "InvalidInput", "ip": "10.0.0.0", "backend": "kea_api"})


def test_catch_all_turns_any_exception_into_one_failure_with_the_traceback():
    def work():
        raise KeyError("bug")

    module = RecordingModule()
    with pytest.raises(Ended):
        finish_module(module, work, catch_all=True)
    assert module.ended[0] == "fail"
    assert module.ended[1]["msg"] == "unexpected error: 'bug'"
    assert "KeyError" in module.ended[1]["exception"]


def test_failure_keys_stand_under_the_errors_own():
    def work():
        raise InvalidInput("name taken", taken=["a"])

    module = RecordingModule()
    with pytest.raises(Ended):
        finish_module(module, work, failure_keys=dict(claim_failed=False, taken=[], changed=False))
    assert module.ended == ("fail", {"msg": "name taken", "error": "InvalidInput", "taken": ["a"],
                                     "claim_failed": False, "changed": False})
