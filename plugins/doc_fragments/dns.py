# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by the DNS modules (RFC 2136 server and TSIG key)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  server:
    description:
      - Address (or host name) of the authoritative DNS server that takes RFC 2136 updates.
      - Updates, queries and zone transfers all go over TCP to this server.
    type: str
    required: true
  port:
    description: TCP port of the DNS server, 1 to 65535 (checked before anything is sent).
    type: int
    default: 53
  key_name:
    description:
      - Name of the TSIG key that signs the requests.
      - Without O(key_name) and O(key_secret) the requests go unsigned, which most servers refuse for updates.
    type: str
  key_secret:
    description:
      - Base64 secret of the TSIG key O(key_name).
      - It must decode to at least the hash length of O(key_algorithm) (RFC 2104, as C(tsig-keygen) makes
        them), 16 bytes for V(hmac-md5) up to 64 for V(hmac-sha512); an error gives the length, never the secret.
      - Keep it in a vault or an AWX credential; it is never logged.
    type: str
  key_algorithm:
    description: TSIG algorithm of the key.
    type: str
    default: hmac-sha256
    choices: [hmac-sha256, hmac-sha512, hmac-sha384, hmac-sha224, hmac-sha1, hmac-md5]
  timeout:
    description: Seconds to wait for the connection and for each answer; above 0.
    type: float
    default: 10.0
requirements:
  - dnspython >= 2.0 (on the host that runs the module)
notes:
  - Set these options once for both DNS modules with C(module_defaults) and the action group C(hpc.slurm_vm.dns).
"""
