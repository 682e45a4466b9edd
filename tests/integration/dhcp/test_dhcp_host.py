# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dhcp_host and dhcp_host_info against the lab's real Kea (PostgreSQL hosts and control
agent), dnsmasq and ISC dhcpd: the check/real/repeat/modify/delete/delete-again matrix,
real DHCP exchanges from a client namespace, and bad input that must change nothing."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

import pytest

from .conftest import DYNAMIC_POOL, TOPOLOGY, backend_params, dhcp_exchange, host, in_dynamic_pool, run_module

BACKENDS = ["kea_pgsql", "kea_api", "dnsmasq", "omapi"]


@pytest.fixture(params=BACKENDS)
def backend(request, lab):
    if request.param == "omapi":
        request.getfixturevalue("dhcpd_running")
    name = request.param
    params = backend_params(name)
    # a clean slate for this backend's test hosts
    for key in ("hostname", "mac"):
        hosts = [{key: host(name, index)[key]} for index in range(8)]
        result = run_module("dhcp_host", dict(params, state="absent", force=True, hosts=hosts))
        assert not result.get("failed"), result
    return name


def _args(name, state, spec, extra):
    args = dict(backend_params(name), state=state)
    args.update(spec or {})
    args.update(extra)
    return args


def present(name, spec=None, check=False, **extra):
    return run_module("dhcp_host", _args(name, "present", spec, extra), check=check)


def absent(name, spec=None, check=False, **extra):
    return run_module("dhcp_host", _args(name, "absent", spec, extra), check=check)


def lookup(name, **kwargs):
    args = dict(backend_params(name))
    args.pop("subnet")
    args.update({k: [v] for k, v in kwargs.items()})
    result = run_module("dhcp_host_info", args)
    assert not result.get("failed"), result
    return result["reservations"]


def test_matrix_with_real_dhcp_exchange(backend, scratch):
    iface = TOPOLOGY[backend][0]
    h = host(backend, 1)
    # create, in check mode: predicted, nothing written
    result = present(backend, h, check=True, mark={"image": "deb12"})
    assert result["changed"] and result["added"] == [h["hostname"]], result
    assert result["diff"]["before"]["hosts"] == [] and result["diff"]["after"]["hosts"][0]["ip"] == h["ip"]
    assert lookup(backend, hostname=h["hostname"]) == []
    # create for real: the client gets the reserved IP and hostname
    result = present(backend, h, mark={"image": "deb12"})
    assert result["changed"] and result["added"] == [h["hostname"]], result
    found = lookup(backend, hostname=h["hostname"])
    assert [(r["mac"], r["ip"], r["owned"]) for r in found] == [(h["mac"], h["ip"], True)]
    assert found[0]["mark"]["vm"] == h["hostname"]
    assert dhcp_exchange(iface, h["mac"], scratch) == (h["ip"], h["hostname"])
    # create again: no change, in check mode and for real
    assert not present(backend, h, check=True, mark={"image": "deb12"})["changed"]
    result = present(backend, h, mark={"image": "deb12"})
    assert not result["changed"] and result["unchanged"] == 1, result
    # modify (new IP), check then real, then again
    moved = dict(h, ip=host(backend, 1, ip_offset=5)["ip"])
    result = present(backend, moved, check=True, mark={"image": "deb12"})
    assert result["changed"] and result["modified"] == [h["hostname"]], result
    assert lookup(backend, hostname=h["hostname"])[0]["ip"] == h["ip"]
    result = present(backend, moved, mark={"image": "deb12"})
    assert result["changed"] and result["diff"]["before"]["hosts"][0]["ip"] == h["ip"], result
    assert not present(backend, moved, mark={"image": "deb12"})["changed"]
    assert dhcp_exchange(iface, h["mac"], scratch) == (moved["ip"], h["hostname"])
    # delete: check, real, again
    result = absent(backend, check=True, hostname=h["hostname"])
    assert result["changed"] and result["removed"] == [h["hostname"]], result
    assert len(lookup(backend, hostname=h["hostname"])) == 1
    result = absent(backend, hostname=h["hostname"])
    assert result["changed"] and result["diff"]["after"]["hosts"] == [], result
    assert lookup(backend, hostname=h["hostname"]) == []
    assert not absent(backend, check=True, hostname=h["hostname"])["changed"]
    assert not absent(backend, hostname=h["hostname"])["changed"]
    # the client no longer gets the reservation: the server answers with an address of its dynamic pool.
    # Silence proves nothing (a server that is down gives no lease either), so an answer is required.
    lease = dhcp_exchange(iface, h["mac"], scratch)
    assert lease is not None, "no DHCP server answered on %s: cannot tell whether the reservation is gone" % iface
    assert in_dynamic_pool(backend, lease[0]), "%s is not in the dynamic pool %s-%s" % ((lease[0],)
                                                                                        + DYNAMIC_POOL[backend])
    assert lease[0] not in (h["ip"], moved["ip"]) and lease[1] != h["hostname"], lease


def test_many_hosts_in_one_task(backend):
    hosts = [host(backend, i) for i in range(2, 8)]
    result = present(backend, hosts=hosts)
    assert result["changed"] and sorted(result["added"]) == sorted(h["hostname"] for h in hosts), result
    assert not present(backend, hosts=hosts)["changed"]
    for h in hosts:
        assert [r["ip"] for r in lookup(backend, mac=h["mac"])] == [h["ip"]]
    result = absent(backend, hosts=[dict(hostname=h["hostname"]) for h in hosts])
    assert result["changed"] and len(result["removed"]) == len(hosts)
    assert not absent(backend, hosts=[dict(hostname=h["hostname"]) for h in hosts])["changed"]


def _assert_failed_unchanged(backend, result, error, holder=None):
    assert result.get("failed") and result["error"] == error, result
    assert not result.get("changed")
    if holder:
        assert holder in result["msg"], result["msg"]


def test_bad_input_changes_nothing(backend):
    h, other = host(backend, 2), host(backend, 3)
    assert present(backend, h)["changed"]
    before = lookup(backend, mac=h["mac"])
    # invalid MAC
    _assert_failed_unchanged(backend, present(backend, other, mac="52:54:00:78:zz:01"), "DhcpInvalidInput")
    # IP outside the subnet
    result = present(backend, other, ip="10.78.5.5")
    _assert_failed_unchanged(backend, result, "DhcpConflict", "outside the subnet")
    # the MAC held by another host
    result = present(backend, other, mac=h["mac"])
    _assert_failed_unchanged(backend, result, "DhcpConflict", h["hostname"])
    if backend != "omapi":  # OMAPI cannot look hosts up by IP (documented)
        result = present(backend, other, ip=h["ip"])
        _assert_failed_unchanged(backend, result, "DhcpConflict", h["hostname"])
    assert lookup(backend, hostname=other["hostname"]) == []
    assert lookup(backend, mac=h["mac"]) == before
    # force takes the IP over: the old holder is removed
    if backend != "omapi":
        result = present(backend, other, force=True, ip=h["ip"])
        assert result["changed"] and lookup(backend, hostname=h["hostname"]) == [], result
        assert absent(backend, hostname=other["hostname"])["changed"]
    else:
        assert absent(backend, hostname=h["hostname"])["changed"]


BROKEN = {
    "kea_pgsql": (dict(pgsql_password="wrong"), dict(pgsql_host="127.0.0.1", pgsql_port=5499)),  # noqa: S106
    "kea_api": (dict(kea_api_password="wrong"), dict(kea_api_url="http://127.0.0.1:8099/")),  # noqa: S106
    "dnsmasq": (None, dict(dnsmasq_pid_file="/nonexistent/dnsmasq.pid")),
    "omapi": (dict(omapi_key="QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="), dict(omapi_port=7999)),
}


def test_wrong_credentials_and_server_down(backend):
    h = host(backend, 4)
    wrong_auth, down = BROKEN[backend]
    if wrong_auth:
        result = present(backend, h, **wrong_auth)
        _assert_failed_unchanged(backend, result, "DhcpAuthError")
    result = present(backend, h, timeout=3, **down)
    _assert_failed_unchanged(backend, result, "DhcpServerDown")
    assert lookup(backend, hostname=h["hostname"]) == []


def test_info_lists_marks(lab):
    for name in ("kea_pgsql", "kea_api", "dnsmasq"):
        h = host(name, 5)
        assert present(name, h, mark={"image": "deb12", "job": "42"})["changed"]
        args = dict(backend_params(name), owned_only=True)
        args.pop("subnet")
        listed = run_module("dhcp_host_info", args)["reservations"]
        mine = [r for r in listed if r["hostname"] == h["hostname"]]
        assert mine and mine[0]["mark"] == {"vm": h["hostname"], "image": "deb12", "job": "42"}, listed
        assert absent(name, hostname=h["hostname"])["changed"]


def _dnsmasq_files():
    """Every file of dnsmasq's hosts directory with its content: what 'nothing was written' compares."""
    hostsdir = backend_params("dnsmasq")["dnsmasq_hostsdir"]
    result = {}
    for name in sorted(os.listdir(hostsdir)):
        with open(os.path.join(hostsdir, name)) as handle:
            result[name] = handle.read()
    return result


@pytest.mark.parametrize("backend", ["dnsmasq"], indirect=True)
@pytest.mark.parametrize("mac", ["01:00:5e:00:00:fb", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00"])
def test_mac_that_names_no_nic_is_refused_and_nothing_written(backend, mac):
    # common/addresses.py's host_mac: dhcp_host wrote these before (libvirt_guest refused most of them)
    h = host(backend, 4)
    before = _dnsmasq_files()
    for force in (False, True):
        result = present(backend, h, mac=mac, force=force)
        _assert_failed_unchanged(backend, result, "DhcpInvalidInput", "MAC address %r" % mac)
    assert _dnsmasq_files() == before
    assert lookup(backend, hostname=h["hostname"]) == []


@pytest.mark.parametrize("backend", ["dnsmasq"], indirect=True)
@pytest.mark.parametrize("ip", ["10.78.0.64", "10.78.0.127"])  # network and broadcast of 10.78.0.64/26
def test_network_and_broadcast_address_are_refused_and_nothing_written(backend, ip):
    h = host(backend, 5)
    before = _dnsmasq_files()
    try:
        for force in (False, True):
            result = present(backend, h, ip=ip, force=force)
            _assert_failed_unchanged(backend, result, "DhcpInvalidInput", "%s is the " % ip)
        assert _dnsmasq_files() == before
    finally:
        absent(backend, hostname=h["hostname"], force=True)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "FILE:///etc/passwd", "ftp://127.0.0.1:8000/",
                                 "127.0.0.1:8000"])
def test_kea_api_url_is_http_or_https_only(lab, url):
    # file:///etc/passwd was opened and its first bytes shown in the error (DhcpBackendError "sent no JSON: b'root:")
    h = host("kea_api", 6)
    result = present("kea_api", h, kea_api_url=url)
    _assert_failed_unchanged("kea_api", result, "DhcpInvalidInput", "want an http:// or https:// URL")
    assert "root:" not in str(result), result
    # the control agent itself answers: the refusal is the URL's, and nothing was written
    assert lookup("kea_api", hostname=h["hostname"]) == []


# An HTTP server that answers every POST with 200 and an HTML page holding a passwd line, as a wrong URL could.
HTML_SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class Page(BaseHTTPRequestHandler):
    def do_POST(self):
        body = b"<html>root:x:0:0:root:/root:/bin/bash</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = HTTPServer(("127.0.0.1", 0), Page)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def test_kea_api_reply_that_is_not_the_apis_json_is_not_echoed(lab):
    # The server is ours, on the lab namespace's loopback, and stopped by its PID.
    server = subprocess.Popen([sys.executable, "-c", HTML_SERVER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        result = present("kea_api", host("kea_api", 6), kea_api_url="http://127.0.0.1:%d/" % port)
    finally:
        server.terminate()
        server.wait(10)
    # before: DhcpBackendError "sent no JSON: b'<html>root:x:0:0:...'"
    assert result.get("failed") and result["error"] == "DhcpBackendError", result
    assert "HTTP 200, content type text/html, 44 bytes" in result["msg"], result
    assert "root:" not in str(result) and "<html" not in str(result), result
