"""TCP connect and TLS handshake return their records; a bug in the backend raises."""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from netvigil.lab.ca import TestCA
from netvigil.lab.webserver import server_tls_context
from netvigil.net.connect import connect_tcp, tls_context, tls_handshake
from netvigil.net.fake import BLACKHOLE, Blackhole, FakeNetwork, Handler, http_response, tls

SITE = ("192.0.2.1", 443)


def test_a_connect_returns_the_connection_and_its_record() -> None:
    async def go() -> tuple[bytes, bool, str | None]:
        network = FakeNetwork(endpoints={SITE: http_response(body=b"hi")})
        connection, record = await connect_tcp(network, *SITE, timeout=5)
        assert connection is not None
        connection.writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = await connection.reader.read()
        connection.close()
        return answer, bool(record.status.success), record.status.failure

    answer, success, failure = asyncio.run(go())
    assert answer.endswith(b"\r\n\r\nhi")
    assert (success, failure) == (True, None)


@pytest.mark.parametrize(
    ("script", "failure"),
    [
        (None, "connection_refused"),  # nothing listens
        (OSError(errno.ENETUNREACH, "unreachable"), "network_unreachable"),
        (ConnectionResetError(errno.ECONNRESET, "reset"), "connection_reset"),
        (BLACKHOLE, "generic_timeout_error"),  # the caller's deadline ends it
    ],
)
def test_a_failed_connect_is_recorded(script: Exception | Blackhole | None, failure: str) -> None:
    endpoints = {} if script is None else {SITE: script}
    network = FakeNetwork(endpoints=endpoints)
    connection, record = asyncio.run(connect_tcp(network, *SITE, timeout=0.05))
    assert connection is None
    assert (record.ip, record.port, record.status.success) == (*SITE, False)
    assert record.status.failure == failure
    assert record.tags is None and record.transaction_id == 0  # the caller's to give
    assert network.connected == [SITE]


@pytest.mark.parametrize("bug", [RuntimeError("bug"), ValueError("bug"), KeyError("bug")])
def test_a_bug_in_the_backend_raises_instead_of_becoming_unknown_failure(bug: Exception) -> None:
    network = FakeNetwork(endpoints={SITE: bug})
    with pytest.raises(type(bug)):
        asyncio.run(connect_tcp(network, *SITE, timeout=5))


def test_the_clock_times_the_step() -> None:
    ticks = iter([1.0, 2.5])
    network = FakeNetwork()
    _, record = asyncio.run(connect_tcp(network, *SITE, timeout=5, clock=lambda: next(ticks)))
    assert (record.t0, record.t) == (1.0, 2.5)


async def _wait_for_eof(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # keep the connection until the client closes it


def new_ca(folder: Path, name: str = "netvigil lab CA") -> TestCA:
    folder.mkdir()
    return TestCA(folder, now=dt.datetime.now(dt.UTC), name=name)


def handshake_with(
    tmp_path: Path, server_name: str, issuer: TestCA | None = None
) -> tuple[bool, str | None, str | None]:
    ca = new_ca(tmp_path / "trusted")
    leaf = (issuer or ca).issue("www.example.com")
    serving: Handler = tls(
        server_tls_context(str(leaf.cert_file), str(leaf.key_file)), _wait_for_eof
    )

    async def go() -> tuple[bool, str | None, str | None]:
        network = FakeNetwork(endpoints={SITE: serving})
        connection, _ = await connect_tcp(network, *SITE, timeout=5)
        assert connection is not None
        context = tls_context(str(ca.cert_file))
        secured, record = await tls_handshake(connection, server_name, context, timeout=5)
        if secured is not None:
            assert secured.tls and not connection.tls
            secured.close()
        assert record.address == "192.0.2.1:443" and record.server_name == server_name
        return secured is not None, record.tls_version, record.failure

    return asyncio.run(go())


def test_a_tls_handshake_over_the_fake_network(tmp_path: Path) -> None:
    secured, version, failure = handshake_with(tmp_path, "www.example.com")
    assert (secured, failure) == (True, None)
    assert version is not None and version.startswith("TLS")


def test_a_certificate_for_another_name_is_ssl_invalid_hostname(tmp_path: Path) -> None:
    assert handshake_with(tmp_path, "other.example.com") == (False, None, "ssl_invalid_hostname")


def test_an_untrusted_issuer_is_ssl_unknown_authority(tmp_path: Path) -> None:
    stranger = new_ca(tmp_path / "stranger", name="a CA nobody trusts")
    got = handshake_with(tmp_path, "www.example.com", issuer=stranger)
    assert got == (False, None, "ssl_unknown_authority")


def chain_of(
    tmp_path: Path, server_name: str, issuer: TestCA | None = None
) -> tuple[str | None, list[bytes], bytes]:
    """The handshake's failure, its peer_certificates as DER, and the leaf the server sent."""
    ca = new_ca(tmp_path / "trusted")
    leaf = (issuer or ca).issue("www.example.com")
    sent = x509.load_pem_x509_certificate(leaf.cert_file.read_bytes())
    serving: Handler = tls(
        server_tls_context(str(leaf.cert_file), str(leaf.key_file)), _wait_for_eof
    )

    async def go() -> tuple[str | None, list[bytes]]:
        network = FakeNetwork(endpoints={SITE: serving})
        connection, _ = await connect_tcp(network, *SITE, timeout=5)
        assert connection is not None
        context = tls_context(str(ca.cert_file))
        secured, record = await tls_handshake(connection, server_name, context, timeout=5)
        if secured is not None:
            secured.close()
        return record.failure, [c.to_bytes() for c in record.peer_certificates or []]

    failure, chain = asyncio.run(go())
    return failure, chain, sent.public_bytes(serialization.Encoding.DER)


def test_a_refused_chain_is_recorded_as_the_server_sent_it(tmp_path: Path) -> None:
    # df-006 keeps peer_certificates whatever the validation said, as Go probes do: the
    # forged leaf is the evidence of interception (net/tls_chain.py).
    stranger = new_ca(tmp_path / "stranger", name="a CA nobody trusts")
    failure, chain, leaf = chain_of(tmp_path, "www.example.com", issuer=stranger)
    assert (failure, chain) == ("ssl_unknown_authority", [leaf])
    issuer = x509.load_der_x509_certificate(chain[0]).issuer.rfc4514_string()
    assert issuer == "CN=a CA nobody trusts"


def test_a_chain_for_another_name_is_recorded_too(tmp_path: Path) -> None:
    failure, chain, leaf = chain_of(tmp_path, "other.example.com")
    assert (failure, chain) == ("ssl_invalid_hostname", [leaf])


def test_a_validated_chain_is_recorded(tmp_path: Path) -> None:
    failure, chain, leaf = chain_of(tmp_path, "www.example.com")
    assert (failure, chain) == (None, [leaf])
