# -*- coding: utf-8 -*-
# Copyright: hpc.slurm_vm contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The transport of DnsClient: DNS messages over one reused TCP connection.

It raises what dnspython and the socket raise; DnsClient maps that to typed
errors (dns/errors.py). Tests inject a fake transport with the same methods.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

try:  # noqa: SIM105 - the try/except ImportError guard ansible-test knows
    import dns.query
except ImportError:  # pragma: no cover - dns/client.py reports it: no DnsClient, so no transport is built
    pass


class TcpTransport(object):
    """Sends DNS messages over one reused TCP connection; AXFR on its own connection."""

    def __init__(self, server, port=53, timeout=10.0):
        self.server = server
        self.port = port
        self.timeout = timeout
        self._sock = None

    def _connect(self):
        sock = socket.create_connection((self.server, self.port), timeout=self.timeout)
        sock.setblocking(False)
        return sock

    def send(self, message):
        """Send one message and return the answer (TSIG is verified by dnspython)."""
        fresh = self._sock is None
        if fresh:
            self._sock = self._connect()
        try:
            return dns.query.tcp(message, self.server, timeout=self.timeout, port=self.port, sock=self._sock)
        except (EOFError, ConnectionResetError, BrokenPipeError):
            self.close()
            if fresh:
                raise
            # the server dropped an idle connection: one retry on a new one is safe,
            # as every update carries prerequisites
            self._sock = self._connect()
            return dns.query.tcp(message, self.server, timeout=self.timeout, port=self.port, sock=self._sock)
        except Exception:
            self.close()
            raise

    def transfer(self, zone, keyring=None, keyname=None, keyalgorithm=None):
        """All RRsets of a zone as a list of dns.rrset.RRset (absolute names)."""
        kwargs = dict(port=self.port, timeout=self.timeout, lifetime=max(self.timeout * 6, 30), relativize=False)
        if keyring:
            kwargs.update(keyring=keyring, keyname=keyname, keyalgorithm=keyalgorithm)
        rrsets = []
        for message in dns.query.xfr(self.server, zone, **kwargs):
            rrsets.extend(message.answer)
        return rrsets

    def close(self):
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
