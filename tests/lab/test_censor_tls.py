"""The censor's TLS interceptor on loopback, with a lab HTTPS server as the real site.

A probe that trusts only the lab's CA fails the intercepted handshake on the censor's
certificate and the site sees nothing; a client that trusts the censor's CA still gets the
site's page through the box; other SNIs reach the site untouched (the site's own certificate;
the ClientHello's bytes arrive as sent). Malformed, truncated and slow hellos are closed and
counted, and the box keeps serving.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from netvigil.lab.ca import TestCA
from netvigil.lab.censor_conn import Limits
from netvigil.lab.censor_tls import CensorTLS
from netvigil.lab.rules import TLSIntercept
from netvigil.lab.webserver import Behaviour, WebServer, serve_web, server_tls_context
from tests.lab.hello import client_hello

T = TypeVar("T")
HOST = "127.0.0.1"
BODY = b"<html><body>the real site</body></html>"
INTERCEPTED = "intercepted.lab.test"
OPEN = "open.lab.test"


def run(work: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(30):
            return await work()

    return asyncio.run(bounded())


def route(host: str, path: str, client: str) -> Behaviour:
    return Behaviour(body=BODY)


async def censored(
    tmp_path: Path, limits: Limits | None = None
) -> tuple[TestCA, WebServer, CensorTLS, int]:
    lab = TestCA(tmp_path, now=dt.datetime.now(dt.UTC))
    issued = lab.issue(OPEN, INTERCEPTED)
    site = await serve_web(
        route, tls=server_tls_context(str(issued.cert_file), str(issued.key_file))
    )
    censor = CensorTLS(
        [TLSIntercept(sni=INTERCEPTED, issuer="Censor CA")],
        {OPEN: (HOST, site.port), INTERCEPTED: (HOST, site.port)},
        folder=tmp_path / "censor",
        site_ca=lab.cert_file,
        limits=limits,
    )
    return lab, site, censor, await censor.start()


async def shut(site: WebServer, censor: CensorTLS) -> None:
    await censor.close()
    assert site.server is not None
    site.server.close()


async def get(port: int, sni: str, ca_file: Path) -> tuple[str, bytes]:
    """GET / over TLS for `sni`, trusting `ca_file`: the certificate's issuer and the body."""
    context = ssl.create_default_context(cafile=str(ca_file))
    reader, writer = await asyncio.open_connection(HOST, port, ssl=context, server_hostname=sni)
    try:
        cert = writer.get_extra_info("peercert")
        issuer = dict(item for rdn in cert["issuer"] for item in rdn)["commonName"]
        writer.write(f"GET / HTTP/1.1\r\nHost: {sni}\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
        return issuer, await reader.readexactly(length)
    finally:
        writer.close()


def test_probe_sees_the_censor_certificate_and_fails(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab, site, censor, port = await censored(tmp_path)
        try:
            with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
                await get(port, INTERCEPTED, lab.cert_file)
            assert (censor.intercepted, censor.proxied) == (1, 0)
            assert site.requests == []
        finally:
            await shut(site, censor)

    run(scenario)


def test_client_trusting_the_censor_gets_the_page_through_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        _, site, censor, port = await censored(tmp_path)
        try:
            censor_ca = censor.authorities["Censor CA"].cert_file
            assert await get(port, INTERCEPTED, censor_ca) == ("Censor CA", BODY)
            assert (censor.intercepted, censor.decrypted, censor.proxied) == (1, 1, 1)
            assert site.requests == [(INTERCEPTED, "/")]
        finally:
            await shut(site, censor)

    run(scenario)


def test_other_sni_passes_through_byte_for_byte(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab, site, censor, port = await censored(tmp_path)
        try:
            assert await get(port, OPEN, lab.cert_file) == ("netvigil lab CA", BODY)
            assert (censor.passed, censor.intercepted) == (1, 0)
        finally:
            await shut(site, censor)
        # The bytes themselves: a recording "site" gets exactly the hello that was sent.
        received = bytearray()
        done = asyncio.Event()

        async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            received.extend(await reader.read())
            done.set()
            writer.close()

        recorder = await asyncio.start_server(record, HOST, 0)
        box = CensorTLS(
            [],
            {OPEN: (HOST, recorder.sockets[0].getsockname()[1])},
            folder=tmp_path / "box",
            site_ca=lab.cert_file,
        )
        box_port = await box.start()
        hello = client_hello(OPEN)
        _reader, writer = await asyncio.open_connection(HOST, box_port)
        writer.write(hello + b"and then some")
        writer.write_eof()
        await done.wait()
        assert bytes(received) == hello + b"and then some"
        writer.close()
        await box.close()
        recorder.close()

    run(scenario)


def test_hostile_hellos_are_closed_and_counted(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab, site, censor, port = await censored(tmp_path, Limits(head_timeout=0.3))
        try:
            hello = client_hello(OPEN)
            for data in (b"GET / HTTP/1.1\r\n\r\n", hello[:60], client_hello(None)):
                reader, writer = await asyncio.open_connection(HOST, port)
                writer.write(data)
                writer.write_eof()
                assert await reader.read() == b""
                writer.close()
            assert (censor.rejected, censor.unroutable) == (2, 1)
            slow_reader, slow_writer = await asyncio.open_connection(HOST, port)
            slow_writer.write(hello[:60])  # and nothing more: a slowloris hello
            assert await slow_reader.read() == b""
            slow_writer.close()
            assert censor.timeouts == 1
            assert await get(port, OPEN, lab.cert_file) == ("netvigil lab CA", BODY)
            assert censor.passed == 1
            assert site.requests == [(OPEN, "/")]
        finally:
            await shut(site, censor)

    run(scenario)
