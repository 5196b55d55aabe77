"""The lab's Tor relay on loopback, as the `tor` nettest sees one: its ORPort completes a TLS
handshake with a self-signed certificate named as a relay names its own, and its DirPort
serves the consensus over plain HTTP, compressed for `.z`, measured by the probe's own
code (probe/tor.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import zlib
from pathlib import Path

from cryptography import x509

from netvigil.lab import tor_relay
from netvigil.lab.webserver import serve_web
from netvigil.net.backend import AsyncioBackend
from netvigil.probe.nettest import Context, Endpoints, Settings
from netvigil.probe.recording import Trace
from netvigil.probe.tor import Tor
from netvigil.records.tor import TorKeys

NOW = dt.datetime(2026, 12, 2, 6, 30, tzinfo=dt.UTC)


def _insecure() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # as the nettest: relays' certificates are not checked
    return context


def test_the_or_port_completes_a_handshake_with_a_relay_style_certificate(
    tmp_path: Path,
) -> None:
    async def scenario() -> bytes:
        relay = await tor_relay.serve_or_port(tor_relay.relay_tls(tmp_path, now=NOW))
        try:
            _reader, writer = await asyncio.open_connection(
                "127.0.0.1", relay.port, ssl=_insecure(), server_hostname="10.77.2.70"
            )
            der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
            writer.close()
            async with asyncio.timeout(10):
                await writer.wait_closed()
            assert relay.handshakes == 1
            return bytes(der)
        finally:
            assert relay.server is not None
            relay.server.close()

    cert = x509.load_der_x509_certificate(asyncio.run(scenario()))
    subject = cert.subject.rfc4514_string()
    issuer = cert.issuer.rfc4514_string()
    assert subject.startswith("CN=www.") and subject.endswith(".net")
    assert issuer.startswith("CN=www.") and issuer.endswith(".com")
    # Not from the lab's CA: a probe validating it would fail, as on a real relay.
    assert "lab" not in subject + issuer


def test_an_unfinished_handshake_does_not_reach_the_handler(tmp_path: Path) -> None:
    async def scenario() -> int:
        relay = await tor_relay.serve_or_port(tor_relay.relay_tls(tmp_path, now=NOW))
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
            writer.write(b"GET / HTTP/1.1\r\n\r\n")  # not TLS
            async with asyncio.timeout(10):
                assert await reader.read() == b""  # the server's TLS gave up on it
            writer.close()
            return relay.handshakes
        finally:
            assert relay.server is not None
            relay.server.close()

    assert asyncio.run(scenario()) == 0


def test_the_dir_port_serves_the_consensus() -> None:
    document = tor_relay.consensus("dirauth", "10.77.2.70", 9030, 9001, NOW)
    assert document.startswith(b"network-status-version 3\nvote-status consensus\n")
    assert b" 10.77.2.70 10.77.2.70 9030 9001\n" in document

    async def get(port: int, path: str) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        async with asyncio.timeout(10):
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            body = await reader.readexactly(length)
        writer.close()
        return head + body

    async def scenario() -> list[bytes]:
        web = await serve_web(tor_relay.dir_router(document))
        try:
            paths = [tor_relay.CONSENSUS + ".z", tor_relay.CONSENSUS, "/tor/server/all"]
            return [await get(web.port, path) for path in paths]
        finally:
            assert web.server is not None
            web.server.close()

    compressed, plain, other = asyncio.run(scenario())
    head, body = compressed.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 OK") and b"Content-Encoding: deflate" in head
    assert zlib.decompress(body) == document
    assert plain.endswith(document)
    assert other.startswith(b"HTTP/1.1 404 Not Found")


def test_the_tor_nettest_reaches_both_ports(tmp_path: Path) -> None:
    async def scenario() -> TorKeys:
        document = tor_relay.consensus("dirauth", "127.0.0.1", 0, 0, NOW)
        relay = await tor_relay.serve_or_port(tor_relay.relay_tls(tmp_path, now=NOW))
        web = await serve_web(tor_relay.dir_router(document))
        try:
            endpoints = Endpoints.parse(
                [f"or_port_dirauth=127.0.0.1:{relay.port}", f"dir_port=127.0.0.1:{web.port}"]
            )
            settings = Settings(connect_timeout=5, tls_timeout=5, http_timeout=5)
            ctx = Context(AsyncioBackend(), Trace(), endpoints, settings)
            return await Tor().measure(None, ctx)
        finally:
            for server in (relay.server, web.server):
                assert server is not None
                server.close()

    keys = asyncio.run(scenario())
    assert (keys.or_port_dirauth_total, keys.or_port_dirauth_accessible) == (1, 1)
    assert (keys.dir_port_total, keys.dir_port_accessible) == (1, 1)
    assert isinstance(keys.targets, dict)  # OONI's layout: target name -> result
    assert all(target.failure is None for target in keys.targets.values())
