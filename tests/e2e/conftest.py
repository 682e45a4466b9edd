# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every end-to-end test runs inside the lab's network namespace (lab/exec) and prints how long it took."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

import pytest


@pytest.fixture(autouse=True)
def in_lab():
    ns = "/run/netns/hpcvm-lab"
    if not os.path.exists(ns) or os.stat("/proc/self/ns/net").st_ino != os.stat(ns).st_ino:
        pytest.fail("run inside the lab: lab/exec .venv/bin/pytest tests/e2e", pytrace=False)
    started = time.time()
    yield
    print("\n[test took %.0fs]" % (time.time() - started))
