# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small command runner in the spirit of community.general's CmdRunner.

Commands are argv lists (never shell strings), run with LC_ALL=C so their
output parses the same everywhere, with binaries found through get_bin_path.
A command that changes something is skipped in check mode. Failures raise
CommandError carrying cmd, rc, stdout and stderr; the runner never calls
fail_json, so clients stay testable without Ansible.

Clients depend only on the interface ``run(argv, env=None, changes=False, data=None)``
returning a CommandResult, so unit tests inject a replaying fake. CommandRunner
runs through an AnsibleModule; SubprocessRunner, with the same interface, serves
code that has no module (the inventory plugin).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import SlurmVmError


class CommandError(SlurmVmError):
    """A command failed (or could not run); carries cmd, rc, stdout and stderr."""

    def __init__(self, message, cmd=None, rc=None, stdout="", stderr=""):
        super(CommandError, self).__init__(message, cmd=cmd, rc=rc, stdout=stdout, stderr=stderr)
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr


class CommandNotFound(CommandError):
    """The binary is not installed or not on PATH."""


class CommandResult(object):
    __slots__ = ("argv", "rc", "stdout", "stderr", "skipped")

    def __init__(self, argv, rc, stdout, stderr, skipped=False):
        self.argv = argv
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.skipped = skipped

    @property
    def output(self):
        """stdout and stderr together: scontrol prints some errors on either."""
        return "\n".join(part for part in (self.stdout, self.stderr) if part)

    def error(self, message):
        return CommandError(message, cmd=list(self.argv), rc=self.rc, stdout=self.stdout, stderr=self.stderr)


class CommandRunner(object):
    """Runs argv lists through AnsibleModule.run_command."""

    def __init__(self, module, env=None):
        self.module = module
        self.env = dict(env or {})
        self._paths = {}

    def bin_path(self, name):
        if name not in self._paths:
            path = self.module.get_bin_path(name, required=False)
            if not path:
                raise CommandNotFound("command %r not found on PATH" % name, cmd=[name])
            self._paths[name] = path
        return self._paths[name]

    def run(self, argv, env=None, changes=False, data=None):
        """Run argv (argv[0] is a command name), with data on stdin if given; a changing
        command is skipped in check mode."""
        argv = [str(arg) for arg in argv]
        if changes and self.module.check_mode:
            return CommandResult(argv, 0, "", "", skipped=True)
        full = [self.bin_path(argv[0])] + argv[1:]
        environ = dict(self.env, LC_ALL="C", LANG="C")
        environ.update(env or {})
        stdin = {} if data is None else {"data": data, "binary_data": True}
        rc, out, err = self.module.run_command(full, environ_update=environ, check_rc=False, **stdin)
        return CommandResult(argv, rc, out, err)


class SubprocessRunner(object):
    """Runs argv lists with subprocess (no shell), for code without an AnsibleModule.

    The same run() as CommandRunner: LC_ALL=C, binaries found with shutil.which, a
    changing command skipped when check_mode is set. A command that cannot start raises
    CommandNotFound; one that outlives `timeout` seconds raises CommandError.
    """

    def __init__(self, env=None, check_mode=False, timeout=120):
        self.env = dict(env or {})
        self.check_mode = check_mode
        self.timeout = timeout
        self._paths = {}

    def bin_path(self, name):
        if name not in self._paths:
            path = shutil.which(name)
            if not path:
                raise CommandNotFound("command %r not found on PATH" % name, cmd=[name])
            self._paths[name] = path
        return self._paths[name]

    def run(self, argv, env=None, changes=False, data=None):
        argv = [str(arg) for arg in argv]
        if changes and self.check_mode:
            return CommandResult(argv, 0, "", "", skipped=True)
        full = [self.bin_path(argv[0])] + argv[1:]
        environ = dict(os.environ, **self.env)
        environ.update(LC_ALL="C", LANG="C")
        environ.update(env or {})
        try:
            proc = subprocess.run(full, env=environ, input=data, capture_output=True,  # noqa: S603 - argv, no shell
                                  text=True, timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise CommandError("%s timed out after %s s" % (argv[0], self.timeout), cmd=argv) from exc
        except OSError as exc:
            raise CommandNotFound("%s could not run: %s" % (argv[0], exc), cmd=argv) from exc
        return CommandResult(argv, proc.returncode, proc.stdout, proc.stderr)
