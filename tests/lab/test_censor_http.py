"""The censor's blockpage injector on loopback, with a lab web server as the real site.

A blocked Host gets exactly the rule's page and the site sees nothing; a reset Host gets a
TCP RST after its head; other hosts get the site's own answer, its resets included. Hostile
input (a 1 MB head, a slowloris, a connection flood, a head cut short) is bounded and
counted, and the box goes on serving others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from netvigil.analysis.httpdiff import uncommon_headers_shared
from netvigil.lab.censor_conn import Limits
from netvigil.lab.censor_http import CensorHTTP, blockpage
from netvigil.lab.rules import HTTPBlockpage, HTTPHostReset, Rule
from netvigil.lab.webserver import Behaviour, WebServer, serve_web

T = TypeVar("T")
HOST = "127.0.0.1"
PAGE = Behaviour(body=b"<html><body>the real site</body></html>")
PAGE_RULE = HTTPBlockpage(host="blocked.lab.test", status=403, body="<h1>Blocked by order</h1>")
RULES: list[Rule] = [PAGE_RULE, HTTPHostReset(host="reset.lab.test")]
SITES = ("open.lab.test", "blocked.lab.test", "reset.lab.test")


def run(work: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(30):
            return await work()

    return asyncio.run(bounded())


def route(host: str, path: str, client: str) -> Behaviour:
    return Behaviour(kind="reset") if path == "/reset" else PAGE


async def censored(limits: Limits | None = None) -> tuple[WebServer, CensorHTTP, int]:
    site = await serve_web(route)
    censor = CensorHTTP(RULES, dict.fromkeys(SITES, (HOST, site.port)), limits)
    return site, censor, await censor.start()


async def shut(site: WebServer, censor: CensorHTTP) -> None:
    await censor.close()
    assert site.server is not None
    site.server.close()


def names(response: bytes) -> frozenset[str]:
    """The header names of a raw response."""
    head = response.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
    return frozenset(line.split(":", 1)[0] for line in head)


def request(host: str, path: str = "/") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()


async def exchange(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(data)
    try:
        return await reader.read()
    finally:
        writer.close()


async def closed(port: int, data: bytes) -> bool:
    """Whether the box closed without a byte of answer. A close with unread input left is
    sent by the kernel as a RST, so a reset counts as closed here."""
    try:
        return await exchange(port, data) == b""
    except ConnectionResetError:
        return True


async def fetch(port: int, data: bytes) -> bytes:
    """One response read by its Content-Length: the lab site keeps connections alive."""
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(data)
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        return head + await reader.readexactly(length)
    finally:
        writer.close()


def test_blockpage_reset_and_proxy_each_as_the_rule_says() -> None:
    async def scenario() -> None:
        site, censor, port = await censored()
        try:
            page = await exchange(port, request("Blocked.Lab.Test:80"))
            assert page == blockpage(PAGE_RULE)
            assert page.startswith(b"HTTP/1.1 403 Forbidden\r\n")
            with pytest.raises(ConnectionResetError):
                await exchange(port, request("reset.lab.test"))
            real = await fetch(port, request("open.lab.test"))
            assert real.startswith(b"HTTP/1.1 200 OK\r\n")
            assert real.endswith(PAGE.body)
            # The page shares no header name outside OONI's common ones with the site, so
            # `headers_match` cannot hide the diff (Content-Length would be one).
            assert uncommon_headers_shared(names(page), names(real)) == frozenset()
            # The site's own reset reaches the client as a reset, through the box.
            with pytest.raises(ConnectionResetError):
                await exchange(port, request("open.lab.test", "/reset"))
            assert site.requests == [("open.lab.test", "/"), ("open.lab.test", "/reset")]
            assert (censor.blockpages, censor.reset_count, censor.proxied) == (1, 1, 2)
        finally:
            await shut(site, censor)

    run(scenario)


def test_unknown_host_and_cut_head_are_closed() -> None:
    async def scenario() -> None:
        site, censor, port = await censored()
        try:
            assert await closed(port, request("elsewhere.lab.test"))
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(b"GET / HTTP/1.1\r\nHost: open")
            writer.write_eof()  # the head ends before its blank line
            assert await reader.read() == b""
            writer.close()
            assert (censor.unroutable, censor.rejected) == (1, 1)
            assert site.requests == []
        finally:
            await shut(site, censor)

    run(scenario)


def test_huge_head_slowloris_and_flood_are_bounded() -> None:
    async def scenario() -> None:
        site, censor, port = await censored(Limits(head_timeout=2.0, max_connections=2))
        try:
            huge = b"GET / HTTP/1.1\r\nHost: open.lab.test\r\nX-Pad: " + b"a" * (1 << 20)
            assert await closed(port, huge + b"\r\n\r\n")
            assert censor.rejected == 1
            # Two slowloris clients fill the slots; a third is refused at once.
            slow = [await asyncio.open_connection(HOST, port) for _ in range(2)]
            for _, writer in slow:
                writer.write(b"GET / HTTP/1.1\r\nHo")
                await writer.drain()
            while censor.connections < 3:  # both slow ones accepted (counted, not timed)
                await asyncio.sleep(0.01)
            assert await closed(port, b"")
            assert censor.refused == 1
            for reader, writer in slow:
                assert await reader.read() == b""  # each cut at its head deadline
                writer.close()
            assert censor.timeouts == 2
            real = await fetch(port, request("open.lab.test"))
            assert real.endswith(PAGE.body)
            assert censor.proxied == 1
            assert site.requests == [("open.lab.test", "/")]
        finally:
            await shut(site, censor)

    run(scenario)
