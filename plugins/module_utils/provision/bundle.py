# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers for the boot bundle (role boot_provision).

* the per-VM token the provisioning server checks: an HMAC of the hostname
  under a site secret, so the spawn side can give a VM its token (kernel
  command line or SMBIOS) without a shared token store;
* the VM cluster's slurm.conf as the guest needs it: its Include lines point
  into the bundle instead of the controller's folders, and the folders slurmd
  and munged need in the guest are listed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import hmac
import posixpath
import re

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.hostnames import is_vm_hostname

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
INCLUDE_RE = re.compile(r"^(\s*)include(\s+)(\S+)\s*$", re.IGNORECASE)
MIN_SECRET_LENGTH = 16


class BootBundleError(InvalidInput):
    """A boot bundle input is invalid (secret, token, hostname, slurm.conf)."""


def check_hostname(hostname):
    if not is_vm_hostname(hostname):
        raise BootBundleError("invalid VM hostname %r (lowercase letters, digits and '-')" % (hostname,))
    return hostname


def vm_token(hostname, secret, length=32):
    """The per-VM token: the first `length` hex digits of HMAC-SHA256(secret, hostname)."""
    check_hostname(hostname)
    if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
        raise BootBundleError("the token secret must be a string of at least %d characters" % MIN_SECRET_LENGTH)
    if not 16 <= int(length) <= 64:
        raise BootBundleError("token length must be 16 to 64, got %r" % (length,))
    return hmac.new(secret.encode("utf-8"), hostname.encode("utf-8"), hashlib.sha256).hexdigest()[:int(length)]


def check_token(token):
    """A token must be safe inside an nginx map key, a URL and a shell word."""
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        raise BootBundleError("a token must be 16 to 128 characters of [A-Za-z0-9_-]")
    return token


def slurm_conf_includes(text):
    """Absolute paths of the Include lines of a slurm.conf (no globs, no relative paths)."""
    paths = []
    for number, line in enumerate(text.splitlines(), 1):
        match = INCLUDE_RE.match(line.split("#", 1)[0])
        if not match:
            continue
        path = match.group(3)
        if not path.startswith("/") or any(c in path for c in "*?[%"):
            raise BootBundleError("slurm.conf line %d: the bundle takes only plain absolute Include paths, got %r"
                                  % (number, path), line=number)
        paths.append(path)
    return paths


def guest_slurm_conf(text, guest_etc, extra_includes=()):
    """slurm.conf for the guest: Include paths moved to guest_etc/<basename>, extra Includes appended."""
    if not guest_etc.startswith("/"):
        raise BootBundleError("guest_etc must be absolute, got %r" % (guest_etc,))
    slurm_conf_includes(text)  # validates
    out = []
    for line in text.splitlines():
        match = INCLUDE_RE.match(line.split("#", 1)[0])
        if match:
            line = "%sInclude%s%s" % (match.group(1), match.group(2),
                                      posixpath.join(guest_etc, posixpath.basename(match.group(3))))
        out.append(line)
    for name in extra_includes:
        out.append("Include %s" % posixpath.join(guest_etc, posixpath.basename(name)))
    return "\n".join(out) + "\n"


def slurm_conf_value(text, key):
    """The last value of `key` (case-insensitive) in a slurm.conf, or None."""
    value = None
    wanted = key.lower()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        name, sep, rest = line.partition("=")
        if sep and name.strip().lower() == wanted and " " not in name.strip():
            value = rest.strip().split()[0] if rest.strip() else ""
    return value


def guest_dirs(text, hostname=None):
    """Folders slurmd and munged need in the guest, from the VM cluster's slurm.conf.

    Returns {munge_socket, dirs}: the AuthInfo socket path (or the munge
    default) and the parent folders of the slurmd spool, log and pid files,
    with %n and %h replaced by the hostname when one is given (else kept, for
    the guest's start script to replace).
    """
    if hostname is not None:
        check_hostname(hostname)
    socket = "/run/munge/munge.socket.2"
    auth_info = slurm_conf_value(text, "AuthInfo") or ""
    for part in auth_info.split(","):
        name, sep, value = part.partition("=")
        if sep and name.strip().lower() == "socket":
            socket = value.strip()
    dirs = [posixpath.dirname(socket)]
    for key, default, is_dir in (("SlurmdSpoolDir", "/var/spool/slurmd", True),
                                 ("SlurmdLogFile", None, False),
                                 ("SlurmdPidFile", "/var/run/slurmd.pid", False)):
        value = slurm_conf_value(text, key) or default
        if not value:
            continue
        if hostname is not None:
            value = value.replace("%n", hostname).replace("%h", hostname)
        dirs.append(value if is_dir else posixpath.dirname(value))
    unique = []
    for d in dirs:
        if any(c in d for c in "'\"\\$`\n"):
            raise BootBundleError("slurm.conf path %r holds a quote, '$' or '\\'; the start script refuses it" % d)
        if d and d not in unique:
            unique.append(d)
    return {"munge_socket": socket, "dirs": unique}
