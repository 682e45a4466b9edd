# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The admin verbs (playbooks pause.yml, drain.yml, status.yml) run in the lab as an admin runs them:
ansible-playbook with inventories/lab, plus the slurm_demand source for the verbs that read the snapshot.
Used by the end-to-end and the lab integration tests; run inside the lab network namespace (lab/exec)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import tempfile

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB_DIR = os.environ.get("HPCVM_LAB_DIR", "/tmp/hpcvm-lab")
STATE_DIR = os.path.join(LAB_DIR, "scheduler")
PAUSED_FILE = os.path.join(STATE_DIR, "paused.json")
# Only the verbs that read the snapshot take the demand inventory
NEEDS_SNAPSHOT = ("drain.yml", "status.yml")


class Verb(object):
    """One run of an admin verb: rc, output, and the play recap's changed count."""

    def __init__(self, argv, proc):
        self.argv = argv
        self.rc = proc.returncode
        self.output = proc.stdout + proc.stderr

    @property
    def changed(self):
        return int(self.output.split("changed=")[-1].split()[0])

    def ok(self):
        if self.rc != 0:
            raise AssertionError("%s failed (rc %d):\n%s" % (" ".join(self.argv), self.rc, self.output[-6000:]))
        return self


def verb(playbook, *args, extra_vars=None):
    """Run playbooks/<playbook> in the lab; extra_vars: a JSON file of variables (a Story's)."""
    argv = [os.path.join(REPO, ".venv", "bin", "ansible-playbook"), "-i", "inventories/lab"]
    if playbook in NEEDS_SNAPSHOT:
        argv += ["-i", "inventories/lab_demand"]
    argv += [os.path.join("playbooks", playbook)] + list(args)
    if extra_vars:
        argv += ["-e", "@" + extra_vars]
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_DISPLAY_SKIPPED_HOSTS="0"))
    return Verb(argv, proc)


def status(extra_vars=None):
    """(the status as data, the table's lines) from one run of status.yml."""
    handle, path = tempfile.mkstemp(prefix="status.", suffix=".json", dir=LAB_DIR)
    os.close(handle)
    try:
        run = verb("status.yml", "-e", "status_file=" + path, extra_vars=extra_vars).ok()
        with open(path) as source:
            data = json.load(source)
    finally:
        os.unlink(path)
    return data, table_lines(run.output)


def table_lines(output):
    """The table lines the 'Show every VM' task printed (its debug msg is a list of lines)."""
    start = output.index("TASK [Show every VM]")
    block = output[start:output.index("TASK [", start + 1)] if "TASK [" in output[start + 1:] else output[start:]
    lines = []
    for line in block.splitlines():
        line = line.strip()
        if line.startswith('"') and line.endswith(('",', '"')):
            lines.append(json.loads(line.rstrip(",")))
    return lines


def paused_images():
    try:
        with open(PAUSED_FILE) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {}
