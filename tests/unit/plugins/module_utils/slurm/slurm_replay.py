# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replay of real scontrol output (fixtures/slurm/scontrol_cases.json) for the Slurm unit tests."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.runner import CommandResult

CASES_FILE = os.path.join(os.path.dirname(__file__), "fixtures", "scontrol", "scontrol_cases.json")
with open(CASES_FILE) as _handle:
    CASES = json.load(_handle)


def case(key):
    return CASES[key]


class ReplayRunner(object):
    """A runner (common/runner.py's interface) that expects exact argv lists and returns captured results.

    script: list of (argv, case_key) in the order the client must call them; an
    argv of None accepts any command (for calls whose argv a test does not pin).
    """

    def __init__(self, script, check_mode=False):
        self.script = list(script)
        self.calls = []
        self.check_mode = check_mode

    def run(self, argv, env=None, changes=False, data=None):
        self.calls.append(dict(argv=list(argv), env=dict(env or {}), changes=changes))
        if changes and self.check_mode:
            return CommandResult(argv, 0, "", "", skipped=True)
        assert self.script, "unexpected command %r" % (argv,)
        expected, key = self.script.pop(0)
        if expected is not None:
            assert list(argv) == list(expected), "expected %r, got %r" % (expected, argv)
        captured = CASES[key] if isinstance(key, str) else key
        return CommandResult(argv, captured["rc"], captured["stdout"], captured["stderr"])


SNAPSHOT_FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "snapshot")


def snapshot_fixture(name):
    with open(os.path.join(SNAPSHOT_FIXTURES, name)) as handle:
        return handle.read()


class SnapshotReplayRunner(object):
    """A runner (common/runner.py's interface) replaying the snapshot's captured outputs.

    outputs: {(command, key): (rc, fixture file name or None for empty output)}, where key is
    scontrol's last argument (node, reservation, or the host cluster's node names) and, for squeue, the
    file name of the SLURM_CONF it runs with; (command, key, conf file name) when an scontrol call has
    different outputs on the two clusters (the host cluster's reservations). calls: (argv, that file name).
    """

    def __init__(self, outputs, stderr=""):
        self.outputs = outputs
        self.stderr = stderr
        self.calls = []

    def run(self, argv, env=None, changes=False, data=None):
        conf = os.path.basename((env or {}).get("SLURM_CONF") or "")
        self.calls.append((list(argv), conf))
        key = (argv[0], argv[-1] if argv[0] == "scontrol" else conf)
        if (argv[0], argv[-1], conf) in self.outputs:  # the same scontrol call on the other cluster
            key = (argv[0], argv[-1], conf)
        rc, name = self.outputs[key]
        return CommandResult(argv, rc, snapshot_fixture(name) if name else "", self.stderr)


class Clock(object):
    """A fake monotonic clock whose sleep() only moves it on, for the waiting loops."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
