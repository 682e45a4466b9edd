# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dhcp_host backend dnsmasq: one file per host in a dhcp-hostsdir.

Our files are named hpc-slurm-vm-<hostname> (the ownership mark) and hold a comment
with the full mark plus one dhcp-host line 'MAC,IP,HOSTNAME'. dnsmasq reads a new file
by inotify within a millisecond; a removed or changed entry needs SIGHUP. dnsmasq
only logs duplicates, so the shared planner checks them against every file of the
folder. Files are written to a dot-file first and renamed (dnsmasq ignores dot-files).
Runs on the DHCP server's host (delegate_to).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import re
import signal

from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.marks import DHCP_NAME_PREFIX, MARK_TAG
from ansible_collections.hpc.slurm_vm.plugins.module_utils.common.state_files import write_atomic
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.model import (
    BackendInfo,
    DhcpBackend,
    DhcpBackendError,
    DhcpServerDown,
    LockFileSession,
    Reservation,
)

LOCK_NAME = ".hpc-slurm-vm.lock"
_MAC_FIELD = re.compile(r"^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$", re.I)
_IP_FIELD = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_LEASE_FIELD = re.compile(r"^(\d+[smhdw]?|infinite)$", re.I)


def parse_host_file(name, text):
    """Reservations in one hostsdir file (dhcp-host syntax, one per line)."""
    owned = name.startswith(DHCP_NAME_PREFIX)
    mark = None
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#"):
            head, _sep, payload = line[1:].strip().partition(" ")
            if owned and head == MARK_TAG:
                try:
                    mark = {str(k): str(v) for k, v in json.loads(payload).items()}
                except (ValueError, AttributeError):
                    mark = None
            continue
        if not line:
            continue
        mac = ip = hostname = None
        for field in line.split(","):
            field = field.strip()
            if _MAC_FIELD.match(field):
                mac = field.lower().replace("-", ":")
            elif _IP_FIELD.match(field):
                ip = field
            elif _LEASE_FIELD.match(field) or ":" in field or field in ("ignore", ""):
                continue  # lease time, id:/set:/tag: prefixes, other MAC forms
            else:
                hostname = field.lower()
        if mac:
            result.append(Reservation(mac, ip, hostname, None, None, ref=name))
    for res in result:
        if owned:
            res.mark = mark or {"vm": name[len(DHCP_NAME_PREFIX):]}
    return result


def render_host_file(res):
    return "# %s %s\n%s,%s,%s\n" % (MARK_TAG, json.dumps(res.mark, sort_keys=True), res.mac, res.ip, res.hostname)


class _Session(LockFileSession):
    def __enter__(self):
        if not os.path.isdir(self.backend.hostsdir):
            raise DhcpBackendError("dnsmasq hostsdir %s does not exist" % self.backend.hostsdir)
        if self.write:
            self.backend.pid()  # raises DhcpServerDown before anything is written
            self.lock(os.path.join(self.backend.hostsdir, LOCK_NAME))
        return self


class DnsmasqBackend(DhcpBackend):
    info = BackendInfo("dnsmasq", needs_subnet_id=False, can_list=True, finds_by_ip=True, stores_mark=True,
                       transactional=False)

    def __init__(self, hostsdir, pid_file, kill=os.kill):
        self.hostsdir = hostsdir
        self.pid_file = pid_file
        self._kill = kill

    @classmethod
    def from_params(cls, params):
        return cls(params["dnsmasq_hostsdir"], params["dnsmasq_pid_file"])

    def pid(self):
        """The running dnsmasq's pid, from its pid file (raises DhcpServerDown)."""
        try:
            with open(self.pid_file) as handle:
                pid = int(handle.read().strip())
            with open("/proc/%d/comm" % pid) as handle:
                comm = handle.read().strip()
        except (OSError, ValueError):
            raise DhcpServerDown("dnsmasq is not running (pid file %s)" % self.pid_file) from None
        if comm != "dnsmasq":
            raise DhcpServerDown("pid file %s names process %d (%s), not dnsmasq" % (self.pid_file, pid, comm))
        return pid

    def session(self, write):
        return _Session(self, write)

    def list(self, subnet_id=None):
        result = []
        for name in sorted(os.listdir(self.hostsdir)):
            path = os.path.join(self.hostsdir, name)
            if name.startswith(".") or name.endswith("~") or not os.path.isfile(path):
                continue
            try:
                with open(path) as handle:
                    result.extend(parse_host_file(name, handle.read()))
            except OSError as exc:
                if exc.errno != errno.ENOENT:  # removed meanwhile by someone else
                    raise DhcpBackendError("cannot read %s: %s" % (path, exc)) from exc
        return result

    def find(self, macs, ips, hostnames, subnet_id=None):
        return [r for r in self.list() if r.mac in macs or r.ip in ips or r.hostname in hostnames]

    def apply(self, removals, additions):
        written = {DHCP_NAME_PREFIX + r.hostname for r in additions}
        signal_needed = False
        for res in removals:
            if res.ref not in written:
                try:
                    os.unlink(os.path.join(self.hostsdir, res.ref))
                except OSError as exc:
                    if exc.errno != errno.ENOENT:
                        raise DhcpBackendError("cannot remove %s: %s" % (res.ref, exc)) from exc
            signal_needed = True
        for res in additions:
            self._write_atomic(DHCP_NAME_PREFIX + res.hostname, render_host_file(res))
        if signal_needed:
            try:
                self._kill(self.pid(), signal.SIGHUP)
            except OSError as exc:
                raise DhcpServerDown("cannot send SIGHUP to dnsmasq: %s" % exc) from exc

    def _write_atomic(self, name, text):
        try:
            write_atomic(os.path.join(self.hostsdir, name), text, mode=0o644)
        except OSError as exc:
            raise DhcpBackendError("cannot write %s in %s: %s" % (name, self.hostsdir, exc)) from exc
