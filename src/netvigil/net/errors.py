"""The network layer's one exception boundary: network errors in, OONI's failure strings out.

Every step of `net/` that touches the network runs inside :func:`map_failures`, as httpcore
runs its I/O inside `map_exceptions` (and so do callers that add a deadline of their own).
It catches only what the network raises — OSError (with socket.gaierror and every ssl
error, TimeoutError from our deadlines), EOFError, dnspython's DNSException, h11's
RemoteProtocolError (what a server sent is not HTTP) and zlib.error (a body whose encoding
lies) — and turns it into the df-007 string the step records. Anything else is a bug in
netvigil: it propagates, so that it fails a test or the run instead of being written into
a measurement as `unknown_failure`. h11's LocalProtocolError is deliberately not caught: a
request HTTP cannot carry is refused by :func:`netvigil.net.http.round_trip` before any
I/O, so one raised later is our bug.

Why here rather than in :mod:`netvigil.failures`: that module is the vocabulary the analysis
reads, and knows nothing of sockets, TLS or parsers; only the network layer raises these
exceptions, so only it translates them. The table mirrors ooni/probe-cli
internal/netxlite/classify.go: system errors by errno, TLS verification by OpenSSL's verify
code. A network error it cannot name becomes `unknown_failure: <type>`, never the
exception's text, which may contain an address.
"""

from __future__ import annotations

import errno
import socket
import ssl
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import dns.exception
import h11

from netvigil.failures import BAD_CONTENT_ENCODING, MALFORMED_HTTP_RESPONSE, Failure, unknown

# The only exceptions a network step turns into data. OSError covers TimeoutError,
# socket.gaierror, ssl.SSLError and ssl.CertificateError (all its subclasses).
NETWORK_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    EOFError,
    dns.exception.DNSException,
    h11.RemoteProtocolError,
    zlib.error,
)


@dataclass
class Caught:
    """What :func:`map_failures` caught: the failure string, or None when the block succeeded."""

    failure: str | None = None


@contextmanager
def map_failures() -> Iterator[Caught]:
    """Run a network step; a network error ends the block and is kept as `caught.failure`.

    ::

        with map_failures() as caught:
            async with asyncio.timeout(deadline):
                reader, writer = await backend.connect(ip, port)
        if caught.failure is not None:
            ...  # the streams were never assigned
    """
    caught = Caught()
    try:
        yield caught
    except NETWORK_ERRORS as exc:
        caught.failure = failure_of(exc)


# OpenSSL verify codes (X509_V_ERR_*) as reported by ssl.SSLCertVerificationError.
_X509_HOSTNAME_MISMATCH = 62
_X509_UNKNOWN_ISSUER = (2, 18, 19, 20, 21)  # self-signed, unable to get issuer, ...

_BY_ERRNO = {
    errno.ENETUNREACH: Failure.NETWORK_UNREACHABLE,
    errno.EHOSTUNREACH: Failure.HOST_UNREACHABLE,
    errno.ENETDOWN: Failure.NETWORK_DOWN,
    errno.ETIMEDOUT: Failure.TIMED_OUT,
    errno.ECONNREFUSED: Failure.CONNECTION_REFUSED,
    errno.ECONNRESET: Failure.CONNECTION_RESET,
    errno.EPIPE: Failure.CONNECTION_RESET,
}


def failure_of(exc: Exception) -> str:
    """The df-007 string of one of :data:`NETWORK_ERRORS` (for an error that arrives other
    than raised: a transport's `connection_lost`, net/wire.py)."""
    if isinstance(exc, TimeoutError):  # our deadlines (asyncio.timeout)
        return Failure.GENERIC_TIMEOUT
    if isinstance(exc, ssl.SSLError | socket.gaierror):
        return _tls_or_dns(exc)
    if isinstance(exc, ConnectionRefusedError):
        return Failure.CONNECTION_REFUSED
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return Failure.CONNECTION_RESET
    if isinstance(exc, ConnectionAbortedError):
        return Failure.CONNECTION_ABORTED
    if isinstance(exc, EOFError):
        return Failure.EOF
    if isinstance(exc, h11.RemoteProtocolError):
        # A connection closed mid-response is an EOF; anything else is a malformed reply.
        return Failure.EOF if "closed" in str(exc) else MALFORMED_HTTP_RESPONSE
    if isinstance(exc, zlib.error):
        return BAD_CONTENT_ENCODING
    if isinstance(exc, OSError) and exc.errno in _BY_ERRNO:
        return _BY_ERRNO[exc.errno]
    return unknown(type(exc).__name__)


def _tls_or_dns(exc: ssl.SSLError | socket.gaierror) -> str:
    if isinstance(exc, socket.gaierror):
        return _GAI.get(exc.errno or 0, Failure.DNS_SERVER_MISBEHAVING)
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = exc.verify_code
        if code == _X509_HOSTNAME_MISMATCH:
            return Failure.SSL_INVALID_HOSTNAME
        if code in _X509_UNKNOWN_ISSUER:
            return Failure.SSL_UNKNOWN_AUTHORITY
        return Failure.SSL_INVALID_CERTIFICATE
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return Failure.EOF
    return Failure.SSL_FAILED_HANDSHAKE


def _gai_codes() -> dict[int, str]:
    codes = {
        "EAI_NONAME": Failure.DNS_NXDOMAIN,
        "EAI_NODATA": Failure.DNS_NO_ANSWER,
        "EAI_AGAIN": Failure.DNS_TEMPORARY,
        "EAI_FAIL": Failure.DNS_NON_RECOVERABLE,
    }
    return {
        getattr(socket, name): failure for name, failure in codes.items() if hasattr(socket, name)
    }


_GAI = _gai_codes()
