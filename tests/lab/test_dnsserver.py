"""The lab's DNS server over TCP on loopback, beside its UDP side on the same port: the
same answers, one message per length prefix, several on one connection, and garbage or a
flood bounded (RFC 7766)."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable
from typing import TypeVar

import dns.asyncquery
import dns.message
import dns.rcode
import pytest

from netvigil.lab import dnsserver
from netvigil.lab.dnsserver import Answer, DNSServer, serve_dns

T = TypeVar("T")
HOST = "127.0.0.1"
ZONE = {
    "site.lab.test": Answer(addresses=("10.77.2.10",)),
    "fail.lab.test": Answer(rcode="SERVFAIL"),
    "forged.lab.test": Answer(addresses=("10.77.2.11",), injected_first=("10.10.34.35",)),
}


def run(work: Callable[[DNSServer], Awaitable[T]]) -> T:
    async def bounded() -> T:
        server = await serve_dns(ZONE, HOST, 0, tcp=True)
        try:
            async with asyncio.timeout(30):
                return await work(server)
        finally:
            server.close()

    return asyncio.run(bounded())


def addresses(reply: dns.message.Message) -> list[str]:
    return sorted(r.address for rrset in reply.answer for r in rrset)


def test_tcp_answers_as_udp_does_on_the_same_port() -> None:
    async def scenario(server: DNSServer) -> None:
        ask = dns.message.make_query
        for name, expected in [("site.lab.test", ["10.77.2.10"]), ("nowhere.lab.test", [])]:
            over_udp = await dns.asyncquery.udp(ask(name, "A"), HOST, 5, server.port)
            over_tcp = await dns.asyncquery.tcp(ask(name, "A"), HOST, 5, server.port)
            assert addresses(over_udp) == addresses(over_tcp) == expected
            assert over_udp.rcode() == over_tcp.rcode()
        failed = await dns.asyncquery.tcp(ask("fail.lab.test", "A"), HOST, 5, server.port)
        assert failed.rcode() == dns.rcode.SERVFAIL
        # One reply over TCP for an injection: the forged one, as the censor's proxy gives.
        forged = await dns.asyncquery.tcp(ask("forged.lab.test", "A"), HOST, 5, server.port)
        assert addresses(forged) == ["10.10.34.35"]
        assert server.tcp_queries == 4

    run(scenario)


def test_several_queries_on_one_connection() -> None:
    async def scenario(server: DNSServer) -> None:
        reader, writer = await asyncio.open_connection(HOST, server.port)
        try:
            for _ in range(3):
                wire = dns.message.make_query("site.lab.test", "A").to_wire()
                writer.write(struct.pack("!H", len(wire)) + wire)
                (size,) = struct.unpack("!H", await reader.readexactly(2))
                reply = dns.message.from_wire(await reader.readexactly(size))
                assert addresses(reply) == ["10.77.2.10"]
        finally:
            writer.close()
        assert server.tcp_queries == 3

    run(scenario)


def test_garbage_closes_its_connection_and_others_are_served() -> None:
    async def scenario(server: DNSServer) -> None:
        reader, writer = await asyncio.open_connection(HOST, server.port)
        writer.write(b"\x00\x05hello")
        assert await reader.read() == b""  # closed, no answer
        writer.close()
        cut_reader, cut_writer = await asyncio.open_connection(HOST, server.port)
        cut_writer.write(b"\x00\xff\x01")  # a length, then too few bytes, then EOF
        cut_writer.write_eof()
        assert await cut_reader.read() == b""
        cut_writer.close()
        ask = dns.message.make_query("site.lab.test", "A")
        reply = await dns.asyncquery.tcp(ask, HOST, 5, server.port)
        assert addresses(reply) == ["10.77.2.10"]
        assert server.tcp_queries == 1

    run(scenario)


def test_connections_past_the_cap_are_closed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(server: DNSServer) -> None:
        held = [await asyncio.open_connection(HOST, server.port) for _ in range(2)]
        # Each held connection is counted once the server runs its handler: wait for both.
        for _ in range(1000):
            if server.tcp_open == 2:
                break
            await asyncio.sleep(0)
        assert server.tcp_open == 2
        reader, writer = await asyncio.open_connection(HOST, server.port)
        assert await reader.read() == b""  # refused by closing
        writer.close()
        for _, w in held:
            w.close()

    monkeypatch.setattr(dnsserver, "TCP_CONNECTIONS", 2)
    run(scenario)
