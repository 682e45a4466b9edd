# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dns_record and dns_record_info refuse bad connection options with a clear error before any network traffic:
a port outside 1-65535 (the socket layer took 70000 as port 4464), a timeout that is not above 0 (it failed as
"unexpected error"), a TSIG secret that is not base64 or is shorter than its algorithm's hash. The secret is
never in the result."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

import pytest
from ansible_collections.hpc.slurm_vm.plugins.modules import dns_record, dns_record_info

LAB_LIKE_SECRET = "dW5pdC10ZXN0LW9ubHktbm90LWEtcmVhbC1rZXktMzI="  # noqa: S105 - made up, 32 bytes
SHORT_SECRET = "YWJj"  # noqa: S105 - 3 bytes

MODULES = {
    "dns_record": (dns_record.main, dict(name="t5-x", zone="vms.lab.test", ip="10.77.50.9")),
    "dns_record_info": (dns_record_info.main, dict(zone="vms.lab.test")),
}

# case -> (connection options, the whole message)
BAD_OPTIONS = {
    "port 70000": (dict(port=70000), "port 70000 is not a TCP port: give a number from 1 to 65535"),
    "port 0": (dict(port=0), "port 0 is not a TCP port: give a number from 1 to 65535"),
    "port -1": (dict(port=-1), "port -1 is not a TCP port: give a number from 1 to 65535"),
    "timeout -1": (dict(timeout=-1), "timeout -1.0 is not a number of seconds above 0"),
    "timeout 0": (dict(timeout=0), "timeout 0.0 is not a number of seconds above 0"),
    "3-byte secret": (dict(key_secret=SHORT_SECRET),
                      "key_secret decodes to 3 bytes, too short for hmac-sha256: at least 32 bytes, the hash output "
                      "length (RFC 2104 section 3 strongly discourages shorter keys; 'tsig-keygen -a hmac-sha256' "
                      "makes one of 32 bytes)"),
    "sha512 with a sha256-sized secret": (dict(key_algorithm="hmac-sha512"),
                                          "key_secret decodes to 32 bytes, too short for hmac-sha512: at least 64 "
                                          "bytes, the hash output length (RFC 2104 section 3 strongly discourages "
                                          "shorter keys; 'tsig-keygen -a hmac-sha512' makes one of 64 bytes)"),
    "secret not base64": (dict(key_secret="no*base64*here"),  # noqa: S106 - not a secret
                          "key_secret is not valid base64 (the secret is not shown)"),
}


@pytest.fixture
def no_network(monkeypatch):
    """Any connection attempt fails the test (the modules must refuse before they talk to a server)."""
    attempts = []

    def refuse(*args, **kwargs):
        address = [arg for arg in args if isinstance(arg, tuple)][0]  # (host, port), also after a socket's self
        attempts.append(address)
        raise AssertionError("network traffic attempted: %r" % (address,))

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


@pytest.mark.parametrize("case", sorted(BAD_OPTIONS))
@pytest.mark.parametrize("module", sorted(MODULES))
def test_bad_connection_options_fail_clearly_before_any_traffic(run_module, no_network, module, case):
    main, args = MODULES[module]
    options, message = BAD_OPTIONS[case]
    connection = dict(server="127.0.0.1", key_name="hpcvm-ddns", key_secret=LAB_LIKE_SECRET)
    connection.update(options)
    kind, result = run_module(main, dict(args, **connection))
    assert kind == "fail", result
    assert result["msg"] == message
    assert result["error"] == "InvalidInput"
    assert "exception" not in result
    assert no_network == []
    assert connection["key_secret"] not in str(result)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_good_options_reach_the_network(run_module, no_network, module):
    """The guard above is real: with sound options the module does try to connect (and the test stops it)."""
    main, args = MODULES[module]
    connection = dict(server="127.0.0.1", port=65535, timeout=0.5, key_name="hpcvm-ddns", key_secret=LAB_LIKE_SECRET)
    kind, result = run_module(main, dict(args, **connection))
    assert kind == "fail"
    assert len(no_network) == 1 and no_network[0] == ("127.0.0.1", 65535)
    assert "network traffic attempted" in result["msg"]


def test_dns_record_takes_force_and_documents_it():
    assert "force:" in dns_record.DOCUMENTATION and "ForeignRecords" in dns_record.DOCUMENTATION
    assert "force: true" in dns_record.EXAMPLES
