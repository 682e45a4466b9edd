# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kea_api's URL and what its errors show: http and https only, checked before any request, and a reply that is
not the control agent's JSON is described (status, content type, length), never echoed. The replies come from a
real HTTP server on 127.0.0.1 run by the test."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.backends.kea_api import HttpTransport, KeaApiBackend
from ansible_collections.hpc.slurm_vm.plugins.module_utils.dhcp.model import (
    DhcpBackendError,
    DhcpInvalidInput,
)
from ansible_collections.hpc.slurm_vm.plugins.modules import dhcp_host

FILE_LINE = "root:x:0:0:SECRET-LINE"
API_REPLY = b'[{"result": 0, "arguments": ["list-commands"]}]'


def params(url, tmp_path):
    return dict(backend="kea_api", kea_api_url=url, kea_api_user=None, kea_api_password=None,
                kea_api_validate_certs=True, kea_api_ca_path=None, kea_api_lock_file=str(tmp_path / "kea.lock"),
                timeout=3.0)


@pytest.fixture
def local_file(tmp_path):
    path = tmp_path / "passwd"
    path.write_text(FILE_LINE + "\n")
    return path


@pytest.mark.parametrize("url, message", [
    ("file://{file}", "scheme 'file'"),
    ("FILE://{file}", "scheme 'file'"),
    ("ftp://127.0.0.1/x", "scheme 'ftp'"),
    ("gopher://127.0.0.1:8000/", "scheme 'gopher'"),
    ("127.0.0.1:8000", "no scheme"),
    ("localhost:8000", "scheme 'localhost'"),
    ("http://[::1:8000/", "no host"),
    ("//127.0.0.1:8000/", "no scheme"),
    ("http:///etc/passwd", "no host"),
    ("https://", "no host"),
    ("", "no scheme"),
])
def test_only_http_and_https_urls_are_taken(local_file, tmp_path, url, message):
    url = url.format(file=local_file)
    with pytest.raises(DhcpInvalidInput) as caught:
        KeaApiBackend.from_params(params(url, tmp_path))
    text = caught.value.message
    assert message in text and "want an http:// or https:// URL" in text, text
    assert "SECRET" not in text
    with pytest.raises(DhcpInvalidInput):
        HttpTransport(url)  # the transport checks it too: no request to a URL it cannot take


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/", "HTTPS://kea.example.org/", "http://[::1]:8000/"])
def test_http_and_https_urls_are_taken(tmp_path, url):
    assert KeaApiBackend.from_params(params(url, tmp_path)).transport.url == url


def test_the_module_refuses_a_file_url_and_shows_nothing_of_the_file(run_module, local_file):
    kind, result = run_module(dhcp_host.main, dict(backend="kea_api", kea_api_url="file://%s" % local_file,
                                                   subnet_id=1, hostname="a", mac="52:54:00:78:02:01",
                                                   ip="10.78.0.21"))
    assert kind == "fail" and result["error"] == "DhcpInvalidInput", result
    assert "SECRET" not in json.dumps(result)


def test_a_url_with_a_password_is_not_shown_with_it(tmp_path):
    with pytest.raises(DhcpInvalidInput) as caught:
        KeaApiBackend.from_params(params("ftp://admin:hunter2@127.0.0.1/", tmp_path))
    assert "hunter2" not in caught.value.message and "ftp://127.0.0.1/" in caught.value.message


class _Handler(BaseHTTPRequestHandler):
    """Answers every POST with the server's (status, content type, body, extra headers)."""

    def do_POST(self):  # noqa: N802 - the name http.server calls
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, content_type, body, headers = self.server.answer
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.requests.append(self.path)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serving(status, content_type, body, headers=None):
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    server.answer = (status, content_type, body, headers or {})
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, "http://127.0.0.1:%d/" % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.parametrize("status, content_type, body, shown", [
    (200, "text/html", b"<html>" + FILE_LINE.encode() + b"</html>", "HTTP 200, content type text/html, 35 bytes"),
    (200, "text/plain; charset=utf-8", FILE_LINE.encode(),
     "HTTP 200, content type text/plain; charset=utf-8, 22 bytes"),
    (200, None, b"\x00\x01" + FILE_LINE.encode(), "HTTP 200, no content type, 24 bytes"),
    # JSON, but not the control agent's: a reply is a mapping (or a list of them) with 'result'
    (200, "application/json", json.dumps({"token": FILE_LINE}).encode(),
     "HTTP 200, content type application/json, 35 bytes"),
    (200, "application/json", json.dumps([FILE_LINE]).encode(), "HTTP 200, content type application/json, 26 bytes"),
])
def test_a_reply_that_is_not_the_apis_json_is_described_not_echoed(status, content_type, body, shown):
    with serving(status, content_type, body) as (server, url), pytest.raises(DhcpBackendError) as caught:
        KeaApiBackend(HttpTransport(url), "/nonexistent/lock").command("list-commands")
    text = caught.value.message
    assert "SECRET" not in text and FILE_LINE not in json.dumps(caught.value.to_result()), text
    assert shown in text and "not the Kea control agent's JSON" in text, text
    assert server.requests == ["/"]


def test_an_http_error_is_described_not_echoed():
    with serving(500, "text/html", FILE_LINE.encode()) as (_server, url), pytest.raises(DhcpBackendError) as caught:
        HttpTransport(url)({"command": "list-commands"})
    assert "HTTP 500" in caught.value.message and "SECRET" not in caught.value.message


def test_a_redirect_is_not_followed():
    # The basic-auth header would go along to wherever the redirect points.
    with contextlib.ExitStack() as stack:
        target, target_url = stack.enter_context(serving(200, "application/json", API_REPLY))
        _server, url = stack.enter_context(serving(302, "text/html", b"moved", {"Location": target_url + "elsewhere"}))
        with pytest.raises(DhcpBackendError) as caught:
            HttpTransport(url, user="hpcvm", password="pw")({"command": "list-commands"})  # noqa: S106
    assert "HTTP 302" in caught.value.message and "not followed" in caught.value.message
    assert target.requests == []


def test_the_apis_json_is_read():
    with serving(200, "application/json", API_REPLY) as (_server, url):
        assert KeaApiBackend(HttpTransport(url), "/nonexistent/lock").command("list-commands") == ["list-commands"]


@pytest.mark.parametrize("reply", [{"token": FILE_LINE}, [], [FILE_LINE], "SECRET"])
def test_a_transports_reply_without_result_is_not_echoed(reply):
    with pytest.raises(DhcpBackendError) as caught:
        KeaApiBackend(lambda payload: reply, "/nonexistent/lock").command("list-commands")
    assert "unexpected reply to list-commands" in caught.value.message
    assert "SECRET" not in caught.value.message and "Kea control agent's JSON" in caught.value.message
