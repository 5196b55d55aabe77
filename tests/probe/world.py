"""A small world on loopback for probe tests: sites, resolvers, a censor, a test helper.

The probe sends from 127.0.0.2 and the test helper from 127.0.0.1, so the web servers can
play the censored path for the probe and the open Internet for the helper (a middlebox on
the probe's side). The probe's resolver may lie while the helper's is honest. Nothing here
sends a packet outside 127.0.0.0/8: the probe's backend refuses any other destination, as a
network that drops it would (the bogon scenarios' "blackhole").
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from netvigil.addresses import parse_ip
from netvigil.lab.ca import TestCA
from netvigil.lab.dnsserver import Answer, DNSServer, serve_dns
from netvigil.lab.webserver import Behaviour, WebServer, serve_web, server_tls_context
from netvigil.listening import listen
from netvigil.net.backend import StubResolverBackend
from netvigil.serving import serve_here
from netvigil.testhelper.app import create_app
from netvigil.testhelper.measure import HelperSettings

PROBE = "127.0.0.2"
HELPER = "127.0.0.1"
SITE = "127.0.0.1"


class LoopbackBackend(StubResolverBackend):
    """A test network of loopback only (the helper's, and under CensoredBackend the probe's).
    A probe's control request names the
    addresses its resolver gave, a censor's bogon among them (dnsBlockingBOGON's 10.10.34.35);
    a connect anywhere else is a black hole here, so no packet leaves the machine."""

    async def connect(
        self, ip: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        address = parse_ip(ip)
        if address is None or not address.is_loopback:
            await asyncio.sleep(3600)  # never answered; the helper's deadline ends it
        return await super().connect(ip, port)


class CensoredBackend(LoopbackBackend):
    """The probe's network: loopback only; listed endpoints are black holes (SYN dropped), and
    `diverted` ones reach another server instead (a transparent TLS-intercepting proxy)."""

    def __init__(
        self,
        nameserver: tuple[str, int],
        blackholes: set[tuple[str, int]],
        diverted: dict[tuple[str, int], tuple[str, int]] | None = None,
    ) -> None:
        super().__init__(nameserver, source=PROBE, timeout=2.0)
        self.blackholes = blackholes
        self.diverted = diverted or {}

    async def connect(
        self, ip: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if (ip, port) in self.blackholes:
            await asyncio.sleep(3600)  # never answered; the probe's deadline ends it
        return await super().connect(*self.diverted.get((ip, port), (ip, port)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HELPER, 0))
        return int(sock.getsockname()[1])


@dataclass
class World:
    ca: TestCA
    honest: DNSServer
    lying: DNSServer
    http: WebServer
    https: WebServer
    helper_url: str
    blackholes: set[tuple[str, int]] = field(default_factory=set)
    diverted: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)

    def probe_backend(self) -> CensoredBackend:
        return CensoredBackend((HELPER, self.lying.port), self.blackholes, self.diverted)


@contextlib.asynccontextmanager
async def world(
    folder: Path,
    *,
    honest_zone: dict[str, Answer],
    probe_zone: dict[str, Answer],
    site: Behaviour,
    censored: Behaviour | None = None,
    tls_censor: Behaviour | None = None,
    certificate: str = "valid",
    interceptor: str | None = None,
) -> AsyncIterator[World]:
    """Start everything; `censored` is what the probe gets instead of `site`; with
    `interceptor` (a CA's name), the probe's HTTPS goes to a proxy presenting that CA's
    certificate for the site's names, while the helper reaches the site itself."""
    ca = TestCA(folder, now=dt.datetime.now(dt.UTC))

    def router(host: str, path: str, client: str) -> Behaviour:
        return censored if censored is not None and client == PROBE else site

    names = sorted({*honest_zone, *probe_zone, "www.example.com", "second.example.com"})
    issuer = ca
    if certificate == "unknown_ca":  # a CA the probe and the helper do not trust
        (folder / "other").mkdir(exist_ok=True)
        issuer = TestCA(folder / "other", now=ca.now)
    leaf = issuer.issue(
        *(["other.test"] if certificate == "wrong_name" else names),
        expired=certificate == "expired",
    )
    tls = server_tls_context(str(leaf.cert_file), str(leaf.key_file))
    honest = await serve_dns(honest_zone, HELPER)
    lying = await serve_dns(probe_zone, HELPER)
    http = await serve_web(router, SITE)
    https = await serve_web(
        router,
        SITE,
        tls=tls,
        on_connect=(lambda client: tls_censor if client == PROBE else None),
    )
    servers = [http, https]
    diverted: dict[tuple[str, int], tuple[str, int]] = {}
    if interceptor is not None:
        (folder / "interceptor").mkdir(exist_ok=True)
        forged = TestCA(folder / "interceptor", now=ca.now, name=interceptor).issue(*names)
        proxy = await serve_web(
            router, SITE, tls=server_tls_context(str(forged.cert_file), str(forged.key_file))
        )
        servers.append(proxy)
        diverted[(SITE, https.port)] = (SITE, proxy.port)
    port = free_port()
    helper_app = create_app(
        LoopbackBackend((HELPER, honest.port), timeout=2.0),
        HelperSettings(
            allow_private=True, ca_file=str(ca.cert_file), endpoint_timeout=3, http_timeout=5
        ),
    )
    helper = asyncio.create_task(serve_here(helper_app, listen(HELPER, port), lifespan="off"))
    await _wait_listening(port)
    try:
        yield World(ca, honest, lying, http, https, f"http://{HELPER}:{port}/", diverted=diverted)
    finally:
        helper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await helper
        for web in servers:
            assert web.server is not None
            web.server.close()
        for dns_server in (honest, lying):
            assert dns_server.transport is not None
            dns_server.transport.close()


async def _wait_listening(port: int) -> None:
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection(HELPER, port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise RuntimeError("the test helper did not start")


def client_context(ca: TestCA) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca.cert_file))
