# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guests' DHCP server the lab runs on its bridge (lab/vmlayer: dnsmasq, kea or dhcpd), read
with that server's own means, never through the collection's DHCP modules:

- which server runs: $LAB_DIR/etc/guest-dhcp.yml (lab/vmlayer writes it), its pid file, and no
  other guest DHCP server running;
- the lab inventory's slurm_vm_dhcp, as the plays get it (ansible templates it), names that server;
- that it served a VM: its log says it acknowledged the VM's MAC with the VM's address;
- what it holds for a VM: dnsmasq's hostsdir file, Kea's host rows in PostgreSQL (psycopg), dhcpd's
  host objects through OMAPI (pypureomapi).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB_DIR = os.environ.get("HPCVM_LAB_DIR", "/tmp/hpcvm-lab")
BRIDGE = "br-hpcvm"
OBJECT_PREFIX = "hpc-slurm-vm-"   # dnsmasq's file name and dhcpd's host object name (the ownership mark)

# server -> (dhcp_host backend, pid file and process name, log)
SERVERS = {
    "dnsmasq": ("dnsmasq", os.path.join(LAB_DIR, "run", "dnsmasq.pid"), "dnsmasq",
                os.path.join(LAB_DIR, "log", "dnsmasq.log")),
    "kea": ("kea_pgsql", os.path.join(LAB_DIR, "guest-dhcp", "kea", "run", "kea-dhcp4.kea-dhcp4.pid"), "kea-dhcp4",
            os.path.join(LAB_DIR, "log", "guest-kea-dhcp4.log")),
    "dhcpd": ("omapi", os.path.join(LAB_DIR, "guest-dhcp", "dhcpd", "dhcpd.pid"), "dhcpd",
              os.path.join(LAB_DIR, "log", "guest-dhcpd.log")),
}


class GuestDhcpError(AssertionError):
    pass


def _running(pid_file, comm):
    try:
        with open(pid_file) as handle:
            pid = int(handle.read().strip() or 0)
        with open("/proc/%d/comm" % pid) as handle:
            return handle.read().strip() == comm
    except (OSError, ValueError):
        return False


def inventory_dhcp():
    """slurm_vm_dhcp of inventories/lab, templated by Ansible as the plays get it (secrets included: kept
    in memory, never printed)."""
    proc = subprocess.run(
        [os.path.join(REPO, ".venv", "bin", "ansible"), "localhost", "-i", "inventories/lab",
         "-m", "ansible.builtin.debug", "-a", "var=slurm_vm_dhcp"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False, env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    try:
        return json.loads(proc.stdout.split(" => ", 1)[1])["slurm_vm_dhcp"]
    except (IndexError, ValueError, KeyError, TypeError):
        raise GuestDhcpError("the lab inventory gives no slurm_vm_dhcp (rc %d): %s"
                             % (proc.returncode, proc.stderr[-2000:])) from None


class GuestDhcp(object):
    """The guests' DHCP server that runs now."""

    def __init__(self):
        path = os.path.join(LAB_DIR, "etc", "guest-dhcp.yml")
        try:
            with open(path) as handle:
                active = yaml.safe_load(handle) or {}
        except OSError as error:
            raise GuestDhcpError("lab/vmlayer wrote no %s: %s" % (path, error)) from None
        self.server = active.get("server")
        if self.server not in SERVERS:
            raise GuestDhcpError("%s names no known guest DHCP server: %r" % (path, active))
        self.backend, pid_file, comm, self.log = SERVERS[self.server]
        if active.get("backend") != self.backend:
            raise GuestDhcpError("%s: backend %r for server %s, expected %s"
                                 % (path, active.get("backend"), self.server, self.backend))
        if not _running(pid_file, comm):
            raise GuestDhcpError("the guests' DHCP server %s does not run (%s)" % (self.server, pid_file))
        others = [name for name, (_b, other_pid, other_comm, _l) in SERVERS.items()
                  if name != self.server and _running(other_pid, other_comm)]
        if others:
            raise GuestDhcpError("%s serves the guests, but %s runs too" % (self.server, ", ".join(others)))
        self.params = inventory_dhcp()
        if self.params.get("backend") != self.backend:
            raise GuestDhcpError("the lab inventory's slurm_vm_dhcp has backend %r, but %s (%s) serves the guests"
                                 % (self.params.get("backend"), self.server, self.backend))

    def mark(self):
        """Where the server's log ends now: served() reads only what comes after."""
        return os.path.getsize(self.log) if os.path.exists(self.log) else 0

    def acks(self, mac, ip, since=0):
        """The server's log lines since `since` that acknowledge ip to mac (DHCPACK, Kea's lease allocation)."""
        with open(self.log, errors="replace") as handle:
            handle.seek(since)
            text = handle.read()
        mac, ip = mac.lower(), re.escape(ip)
        pattern = {
            "dnsmasq": r"DHCPACK\(%s\) %s %s\b" % (BRIDGE, ip, re.escape(mac)),
            "kea": r"DHCP4_LEASE_ALLOC \[hwtype=1 %s\].* lease %s has been allocated" % (re.escape(mac), ip),
            "dhcpd": r"DHCPACK on %s to %s\b.* via %s" % (ip, re.escape(mac), BRIDGE),
        }[self.server]
        return [line for line in text.splitlines() if re.search(pattern, line, re.IGNORECASE)]

    def held(self, vm, mac, ip):
        """What the server holds for the VM's name, MAC or address ([] when nothing). A server that does not
        answer is an error, never "nothing"."""
        if self.server == "dnsmasq":
            hostsdir = self.params["dnsmasq_hostsdir"]
            found = []
            for name in sorted(os.listdir(hostsdir)) if os.path.isdir(hostsdir) else []:
                with open(os.path.join(hostsdir, name)) as handle:
                    text = handle.read().lower()
                if name == OBJECT_PREFIX + vm or mac.lower() in text or re.search(r"[,\s]%s\b" % re.escape(ip), text):
                    found.append("hostsdir file %s" % name)
            return found
        if self.server == "kea":
            return self._kea_rows(vm, mac, ip)
        return self._dhcpd_objects(vm, mac)

    def _kea_rows(self, vm, mac, ip):
        import ipaddress

        import psycopg
        params = self.params
        try:
            with psycopg.connect(host=params["pgsql_host"], port=params["pgsql_port"], dbname=params["pgsql_database"],
                                 user=params["pgsql_user"], password=params["pgsql_password"],
                                 connect_timeout=10) as conn, conn.cursor() as cur:
                cur.execute("SELECT host_id, hostname, dhcp4_subnet_id FROM hosts WHERE dhcp_identifier = %s"
                            " OR ipv4_address = %s OR lower(hostname) = %s",
                            (bytes.fromhex(mac.replace(":", "")), int(ipaddress.IPv4Address(ip)), vm.lower()))
                rows = cur.fetchall()
        except psycopg.Error as error:
            raise GuestDhcpError("Kea's host database does not answer: %s" % error) from None
        return ["Kea host row %s (%s, subnet id %s)" % row for row in rows]

    def _dhcpd_objects(self, vm, mac):
        import pypureomapi
        params = self.params
        try:
            omapi = pypureomapi.Omapi(params["omapi_host"], params["omapi_port"], params["omapi_key_name"].encode(),
                                      params["omapi_key"].encode(), timeout=10)
        except (pypureomapi.OmapiError, OSError) as error:
            raise GuestDhcpError("dhcpd's OMAPI does not answer: %s" % error) from None
        found = []
        try:
            for query in (dict(mac=mac), dict(name=OBJECT_PREFIX + vm)):
                try:
                    host = omapi.lookup_by_host(**query)
                except pypureomapi.OmapiErrorNotFound:
                    continue
                name = host.get("name", b"")
                found.append("dhcpd host object %s (%s, %s)" % (
                    name.decode() if isinstance(name, bytes) else name, host.get("hardware-address"),
                    host.get("ip-address")))
        except (pypureomapi.OmapiError, OSError) as error:
            raise GuestDhcpError("dhcpd's OMAPI failed: %s" % error) from None
        finally:
            omapi.close()
        return sorted(set(found))


def console_dhcp(console_log):
    """The HPCVM-DHCP line of the guest's console (lab/guest/init: what the DHCP server sent), as a dict."""
    with open(console_log, errors="replace") as handle:
        lines = [line.strip() for line in handle if line.startswith("HPCVM-DHCP ")]
    if not lines:
        raise GuestDhcpError("no HPCVM-DHCP line on %s" % console_log)
    return dict(word.split("=", 1) for word in lines[-1].split()[1:] if "=" in word)
