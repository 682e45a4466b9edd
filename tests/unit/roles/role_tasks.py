# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A role's own task file, read for the unit tests that template its expressions with Ansible's templar."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def load_tasks(role):
    """{task name: task} of roles/<role>/tasks/main.yml."""
    with open(os.path.join(ROOT, "roles", role, "tasks", "main.yml")) as handle:
        return {task["name"]: task for task in yaml.safe_load(handle)}


def task(tasks, prefix):
    """The one task whose name starts with prefix."""
    (name,) = [name for name in tasks if name.startswith(prefix)]
    return tasks[name]


def render(expression, variables, filters=None):
    """expression templated with variables (strings trusted as templates, as inventory values are) and the
    extra filters {name: function}."""
    templar = Templar(loader=DataLoader(), variables={k: trust_as_template(v) if isinstance(v, str) else v
                                                      for k, v in variables.items()})
    templar.environment.filters.update(filters or {})
    return templar.template(trust_as_template(expression))
