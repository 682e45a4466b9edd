# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one runner interface: run(argv, env=None, changes=False, data=None) -> CommandResult,
through an AnsibleModule (CommandRunner) or subprocess (SubprocessRunner)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.runner import (
    CommandError,
    CommandNotFound,
    CommandRunner,
    SubprocessRunner,
)


class FakeModule(object):
    def __init__(self, check_mode=False, path="/usr/bin/scontrol"):
        self.check_mode = check_mode
        self.path = path
        self.calls = []

    def get_bin_path(self, name, required=False):
        return self.path

    def run_command(self, argv, environ_update=None, check_rc=False):
        self.calls.append((argv, environ_update))
        return 0, "out", ""


def test_runner_uses_argv_lists_lc_all_and_skips_changes_in_check_mode():
    module = FakeModule(check_mode=True)
    runner = CommandRunner(module)
    runner.run(["scontrol", "show", "node"], env={"SLURM_CONF": "/x"})
    assert module.calls == [(["/usr/bin/scontrol", "show", "node"],
                             {"LC_ALL": "C", "LANG": "C", "SLURM_CONF": "/x"})]
    skipped = runner.run(["scontrol", "update"], changes=True)
    assert skipped.skipped and len(module.calls) == 1


def test_runner_reports_a_missing_binary():
    with pytest.raises(CommandNotFound):
        CommandRunner(FakeModule(path=None)).run(["scontrol"])


# ---------------------------------------------------------------- SubprocessRunner: real commands
def test_subprocess_runner_returns_rc_and_both_streams():
    ok = SubprocessRunner().run(["true"])
    assert (ok.rc, ok.stdout, ok.stderr, ok.skipped) == (0, "", "", False)
    failed = SubprocessRunner().run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (failed.rc, failed.stdout, failed.stderr) == (3, "out\n", "err\n")
    assert failed.output == "out\n\nerr\n" and failed.argv == ["sh", "-c", "echo out; echo err >&2; exit 3"]


def test_subprocess_runner_passes_argv_words_untouched_no_shell():
    result = SubprocessRunner().run(["printf", "%s|", "a b", "$HOME", "; true"])
    assert result.stdout == "a b|$HOME|; true|"


def test_subprocess_runner_sets_lc_all_and_the_callers_env():
    runner = SubprocessRunner(env={"HPCVM_A": "runner"})
    result = runner.run(["sh", "-c", 'echo "$LC_ALL $LANG $HPCVM_A $SLURM_CONF"'], env={"SLURM_CONF": "/x.conf"})
    assert result.stdout == "C C runner /x.conf\n"
    override = runner.run(["sh", "-c", 'echo "$HPCVM_A"'], env={"HPCVM_A": "call"})
    assert override.stdout == "call\n"


def test_subprocess_runner_feeds_data_on_stdin():
    assert SubprocessRunner().run(["cat"], data="#!/bin/sh\nexit 0\n").stdout == "#!/bin/sh\nexit 0\n"


def test_subprocess_runner_skips_changes_in_check_mode_only():
    checking = SubprocessRunner(check_mode=True)
    skipped = checking.run(["sh", "-c", "exit 3"], changes=True)
    assert skipped.skipped and skipped.rc == 0
    assert checking.run(["sh", "-c", "exit 3"]).rc == 3  # a read runs in check mode too
    assert SubprocessRunner().run(["sh", "-c", "exit 3"], changes=True).rc == 3


def test_subprocess_runner_finds_binaries_on_path_and_reports_missing_ones():
    runner = SubprocessRunner()
    assert runner.bin_path("sh").endswith("/sh")
    with pytest.raises(CommandNotFound) as caught:
        runner.run(["hpcvm-no-such-command"])
    assert caught.value.cmd == ["hpcvm-no-such-command"]


def test_subprocess_runner_times_out_with_a_command_error():
    with pytest.raises(CommandError) as caught:
        SubprocessRunner(timeout=0.2).run(["sleep", "5"])
    assert "timed out" in caught.value.message and caught.value.cmd == ["sleep", "5"]
