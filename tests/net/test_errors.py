"""map_failures: each network error keeps the OONI string it had; anything else is a bug."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import zlib

import dns.exception
import dns.name
import h11
import pytest

from netvigil.failures import BAD_CONTENT_ENCODING, MALFORMED_HTTP_RESPONSE
from netvigil.net.errors import map_failures


def verify_error(code: int) -> ssl.SSLCertVerificationError:
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed")
    exc.verify_code = code
    return exc


# The strings netvigil wrote before map_failures (failures.failure_of and http._failure).
MAPPED: list[tuple[Exception, str]] = [
    (TimeoutError(), "generic_timeout_error"),
    (OSError(errno.ETIMEDOUT, "timed out"), "generic_timeout_error"),  # a TimeoutError too
    (verify_error(62), "ssl_invalid_hostname"),
    (verify_error(20), "ssl_unknown_authority"),
    (verify_error(18), "ssl_unknown_authority"),
    (verify_error(10), "ssl_invalid_certificate"),
    (ssl.SSLEOFError(8, "EOF"), "eof_error"),
    (ssl.SSLZeroReturnError(6, "closed"), "eof_error"),
    (ssl.SSLError(1, "wrong version number"), "ssl_failed_handshake"),
    (socket.gaierror(socket.EAI_NONAME, "unknown"), "dns_nxdomain_error"),
    (socket.gaierror(socket.EAI_NODATA, "no data"), "dns_no_answer"),
    (socket.gaierror(socket.EAI_AGAIN, "again"), "dns_temporary_failure"),
    (socket.gaierror(socket.EAI_FAIL, "fail"), "dns_non_recoverable_failure"),
    (socket.gaierror(socket.EAI_SERVICE, "service"), "dns_server_misbehaving"),
    (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), "connection_refused"),
    (ConnectionResetError(errno.ECONNRESET, "reset"), "connection_reset"),
    (BrokenPipeError(errno.EPIPE, "pipe"), "connection_reset"),
    (ConnectionAbortedError(errno.ECONNABORTED, "aborted"), "connection_aborted"),
    (EOFError(), "eof_error"),
    (asyncio.IncompleteReadError(b"", 10), "eof_error"),
    (OSError(errno.ENETUNREACH, "unreachable"), "network_unreachable"),
    (OSError(errno.EHOSTUNREACH, "unreachable"), "host_unreachable"),
    (OSError(errno.ENETDOWN, "down"), "network_down"),
    (OSError(errno.EADDRNOTAVAIL, "no address"), "unknown_failure: OSError"),
    (OSError("no matching local address"), "unknown_failure: OSError"),
    (dns.name.EmptyLabel(), "unknown_failure: EmptyLabel"),  # type: ignore[no-untyped-call]
    (dns.exception.Timeout(), "unknown_failure: Timeout"),  # type: ignore[no-untyped-call]
    (h11.RemoteProtocolError("peer unexpectedly closed"), "eof_error"),
    (h11.RemoteProtocolError("peer closed connection without sending body"), "eof_error"),
    (h11.RemoteProtocolError("illegal status line"), MALFORMED_HTTP_RESPONSE),
    (zlib.error("invalid block type"), BAD_CONTENT_ENCODING),
]


@pytest.mark.parametrize(("error", "failure"), MAPPED, ids=[repr(e) for e, _ in MAPPED])
def test_network_errors_map_to_their_ooni_string(error: Exception, failure: str) -> None:
    with map_failures() as caught:
        raise error
    assert caught.failure == failure


def test_a_block_that_works_has_no_failure() -> None:
    with map_failures() as caught:
        pass
    assert caught.failure is None


BUGS: list[Exception] = [
    RuntimeError("bug"),
    ValueError("bug"),
    KeyError("bug"),
    TypeError("bug"),
    AssertionError("bug"),
    UnicodeEncodeError("ascii", "é", 0, 1, "bug"),
    h11.LocalProtocolError("we sent something wrong"),  # our side of the protocol
]


@pytest.mark.parametrize("bug", BUGS, ids=[type(b).__name__ for b in BUGS])
def test_anything_else_is_a_bug_and_propagates(bug: Exception) -> None:
    with pytest.raises(type(bug)), map_failures():
        raise bug


def test_cancellation_is_never_a_failure() -> None:
    with pytest.raises(asyncio.CancelledError), map_failures():
        raise asyncio.CancelledError
