# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DNS modules' connection options (doc fragment hpc.slurm_vm.dns), with no other import.

plugins/filter/module_defaults.py reads them in every task's worker that templates the
module_defaults of group hpc.slurm_vm.dns: importing the client there (dnspython) would
cost that worker a tenth of a second, on every DNS task.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

TSIG_ALGORITHMS = ("hmac-sha256", "hmac-sha512", "hmac-sha384", "hmac-sha224", "hmac-sha1", "hmac-md5")

DNS_CONNECTION_ARGSPEC = dict(
    server=dict(type="str", required=True),
    port=dict(type="int", default=53),
    key_name=dict(type="str"),
    key_secret=dict(type="str", no_log=True),
    key_algorithm=dict(type="str", default="hmac-sha256", choices=list(TSIG_ALGORITHMS)),
    timeout=dict(type="float", default=10.0),
)
