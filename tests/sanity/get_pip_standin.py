# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the get-pip.py script that ansible-test downloads from a host
this machine cannot reach. tests/run-sanity copies it into ansible-test's cache."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import subprocess
import sys


def main():
    args = sys.argv[1:]
    no_setuptools = "--no-setuptools" in args
    args = [a for a in args if a not in ("--no-setuptools", "--no-wheel")]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "--upgrade"] + args)
    if no_setuptools:
        subprocess.call([sys.executable, "-m", "pip", "uninstall", "-q", "-y", "setuptools"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
