# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the benchmarks with a slurmctld of their own share (inventory_bench, scheduler_scale_idle_bench):
Slurm commands against a given slurm.conf, and that slurm.conf, made from the lab VM cluster's."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

LAB = os.environ.get("HPCVM_LAB_DIR", "/tmp/hpcvm-lab")
OWN_KEYS = ("ClusterName", "SlurmctldPort", "StateSaveLocation", "SlurmctldPidFile", "SlurmctldLogFile")


def sh(argv, conf, check=True):
    env = dict(os.environ, SLURM_CONF=conf, LC_ALL="C")
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=300)
    if check and proc.returncode != 0:
        raise SystemExit("%s failed: %s" % (argv, proc.stderr))
    return proc


def conf_lines(bench, cluster, port, jobs, drop_includes=False):
    """The lab VM cluster's slurm.conf lines with this slurmctld's own ClusterName, port, state, pid
    and log files under `bench`, room for a `jobs`-task array, and without Include lines if asked."""
    with open(os.path.join(LAB, "etc", "vm", "slurm.conf")) as handle:
        lab_conf = handle.read().splitlines()
    out = [line for line in lab_conf
           if line.split("=", 1)[0] not in OWN_KEYS and not (drop_includes and line.startswith("Include"))]
    return out + ["ClusterName=%s" % cluster, "SlurmctldPort=%d" % port, "StateSaveLocation=%s/state" % bench,
                  "SlurmctldPidFile=%s/slurmctld.pid" % bench, "SlurmctldLogFile=%s/slurmctld.log" % bench,
                  "MaxArraySize=%d" % (jobs + 1), "MaxJobCount=%d" % (jobs * 3)]
