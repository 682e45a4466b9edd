# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the collection's modules the way users do: `ansible` ad hoc and `ansible-playbook`.

Results come back as JSON through ansible-core's `tree` callback (one file per
host), so tests read exactly what a playbook would register.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import tempfile

from ..conftest import REPO

ANSIBLE = os.path.join(REPO, ".venv", "bin", "ansible")
ANSIBLE_PLAYBOOK = os.path.join(REPO, ".venv", "bin", "ansible-playbook")


class ModuleRun(object):
    def __init__(self, result, rc):
        self.result = result
        self.rc = rc
        # the tree callback drops the `failed` key: a failed task makes `ansible` exit with rc 2
        self.failed = bool(result.get("failed")) or rc != 0
        self.changed = bool(result.get("changed"))

    def __getitem__(self, key):
        return self.result[key]

    def get(self, key, default=None):
        return self.result.get(key, default)

    def __repr__(self):
        return "ModuleRun(rc=%s, %s)" % (self.rc, json.dumps(self.result, sort_keys=True)[:4000])


def _env(tree):
    return dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_CALLBACKS_ENABLED="tree",
                ANSIBLE_CALLBACK_TREE_DIR=tree, ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_NOCOLOR="1")


def module_argv(module, args, check=False, diff=False):
    argv = [ANSIBLE, "localhost", "-m", "hpc.slurm_vm.%s" % module, "-a", json.dumps(args)]
    return argv + (["--check"] if check else []) + (["--diff"] if diff else [])


def run_module(module, args, check=False, diff=False, timeout=120):
    """One ad-hoc module run; returns its JSON result (failed runs included)."""
    with tempfile.TemporaryDirectory(prefix="hpcvm-slurm-it-") as tree:
        proc = subprocess.run(module_argv(module, args, check, diff), cwd=REPO, env=_env(tree),
                              capture_output=True, text=True, timeout=timeout, check=False)
        path = os.path.join(tree, "localhost")
        if not os.path.exists(path):
            raise AssertionError("no result from %s (rc %d):\n%s\n%s"
                                 % (module, proc.returncode, proc.stdout, proc.stderr))
        with open(path) as handle:
            return ModuleRun(json.load(handle), proc.returncode)


def start_module(module, args, tree):
    """Start an ad-hoc module run in the background; read it with finish_module."""
    return subprocess.Popen(module_argv(module, args), cwd=REPO, env=_env(tree), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish_module(popen, tree, timeout=120):
    out, err = popen.communicate(timeout=timeout)
    path = os.path.join(tree, "localhost")
    if not os.path.exists(path):
        raise AssertionError("no result (rc %d):\n%s\n%s" % (popen.returncode, out, err))
    with open(path) as handle:
        return ModuleRun(json.load(handle), popen.returncode)


def run_playbook(path, extra_vars, check=False, diff=False, timeout=300):
    argv = [ANSIBLE_PLAYBOOK, path, "-e", json.dumps(extra_vars)]
    argv += (["--check"] if check else []) + (["--diff"] if diff else [])
    return subprocess.run(argv, cwd=REPO, env=dict(os.environ, ANSIBLE_NOCOLOR="1"), capture_output=True,
                          text=True, timeout=timeout, check=False)
