"""The censor's forging DNS proxy on loopback, with the lab DNS server as the real resolver.

Each technique gives the client exactly what its rule says, counted at both ends: a
DNSAnswer name never reaches the upstream; an injection gives two replies with one id, the
forged one first; other names are relayed byte for byte. Hostile input (garbage datagrams,
garbage and slow TCP, a flood of questions to a silent upstream) is bounded and counted, and
the proxy keeps answering.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import dns.asyncquery
import dns.message
import dns.rcode
import pytest

from netvigil.lab.censor_conn import Limits
from netvigil.lab.censor_dns import CensorDNS
from netvigil.lab.dnsserver import Answer, DNSServer, serve_dns
from netvigil.lab.rules import DNSAnswer, DNSInjection, Rule

T = TypeVar("T")
HOST = "127.0.0.1"
REAL = "192.0.2.80"  # the real answer (documentation range; data, never contacted)
BOGON = "10.10.34.35"
ZONE = {
    "open.lab.test": Answer(addresses=(REAL,)),
    "blocked.lab.test": Answer(addresses=(REAL,)),
    "injected.lab.test": Answer(addresses=(REAL,)),
    "silent.lab.test": Answer(silent=True),
}


def run(work: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(30):
            return await work()

    return asyncio.run(bounded())


async def censored(
    rules: list[Rule], **options: float | int | Limits
) -> tuple[DNSServer, CensorDNS, int]:
    upstream = await serve_dns(ZONE)
    censor = CensorDNS(rules, (HOST, upstream.port), **options)  # type: ignore[arg-type]
    return upstream, censor, await censor.start()


def addresses(reply: dns.message.Message) -> list[str]:
    return [item.to_text() for rrset in reply.answer for item in rrset]


@pytest.mark.parametrize("rcode", ["NXDOMAIN", "SERVFAIL", "REFUSED"])
def test_dns_answer_rcode_is_forged_and_upstream_never_asked(rcode: str) -> None:
    async def scenario() -> None:
        rule = DNSAnswer(domain="blocked.lab.test", rcode=rcode)  # type: ignore[arg-type]
        upstream, censor, port = await censored([rule])
        try:
            query = dns.message.make_query("blocked.lab.test", "A")
            reply = await dns.asyncquery.udp(query, HOST, port=port, timeout=5)
            assert dns.rcode.to_text(reply.rcode()) == rcode
            assert reply.id == query.id
            assert upstream.queries == []
            assert (censor.counts.forged, censor.counts.asked) == (1, 0)
        finally:
            await censor.close()
            assert upstream.transport is not None
            upstream.transport.close()

    run(scenario)


def test_dns_answer_addresses_and_other_names_relayed() -> None:
    async def scenario() -> None:
        rules: list[Rule] = [DNSAnswer(domain="Blocked.Lab.Test.", addresses=(BOGON, "::1"))]
        upstream, censor, port = await censored(rules)
        try:
            forged = await dns.asyncquery.udp(
                dns.message.make_query("blocked.lab.test", "A"), HOST, port=port, timeout=5
            )
            assert addresses(forged) == [BOGON]
            forged6 = await dns.asyncquery.udp(
                dns.message.make_query("blocked.lab.test", "AAAA"), HOST, port=port, timeout=5
            )
            assert addresses(forged6) == ["::1"]
            real = await dns.asyncquery.udp(
                dns.message.make_query("open.lab.test", "A"), HOST, port=port, timeout=5
            )
            assert addresses(real) == [REAL]
            assert upstream.queries == ["open.lab.test"]
            assert (censor.counts.forged, censor.counts.relayed, censor.counts.asked) == (2, 1, 1)
        finally:
            await censor.close()
            assert upstream.transport is not None
            upstream.transport.close()

    run(scenario)


class _Inbox(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.replies.put_nowait(data)


def test_dns_injection_gives_two_replies_forged_first() -> None:
    async def scenario() -> None:
        rule = DNSInjection(domain="injected.lab.test", addresses=(BOGON,), delay=0.2)
        upstream, censor, port = await censored([rule])
        loop = asyncio.get_running_loop()
        inbox = _Inbox()
        transport, _ = await loop.create_datagram_endpoint(lambda: inbox, remote_addr=(HOST, port))
        try:
            query = dns.message.make_query("injected.lab.test", "A")
            transport.sendto(query.to_wire())
            first = dns.message.from_wire(await inbox.replies.get())
            second = dns.message.from_wire(await inbox.replies.get())
            assert first.id == second.id == query.id
            assert addresses(first) == [BOGON]
            assert addresses(second) == [REAL]
            assert upstream.queries == ["injected.lab.test"]
            assert (censor.counts.forged, censor.counts.relayed) == (1, 1)
        finally:
            transport.close()
            await censor.close()
            assert upstream.transport is not None
            upstream.transport.close()

    run(scenario)


def test_tcp_forged_injected_and_relayed() -> None:
    async def scenario() -> None:
        rules: list[Rule] = [
            DNSAnswer(domain="blocked.lab.test", rcode="NXDOMAIN"),
            DNSInjection(domain="injected.lab.test", addresses=(BOGON,)),
        ]
        upstream, censor, port = await censored(rules)
        try:
            ask = dns.message.make_query
            blocked = await dns.asyncquery.tcp(ask("blocked.lab.test", "A"), HOST, 5, port)
            injected = await dns.asyncquery.tcp(ask("injected.lab.test", "A"), HOST, 5, port)
            real = await dns.asyncquery.tcp(ask("open.lab.test", "A"), HOST, 5, port)
            assert blocked.rcode() == dns.rcode.NXDOMAIN
            assert addresses(injected) == [BOGON]  # on TCP the forged segment wins alone
            assert addresses(real) == [REAL]
            assert upstream.queries == ["open.lab.test"]
            assert (censor.counts.forged, censor.counts.relayed) == (2, 1)
        finally:
            await censor.close()
            assert upstream.transport is not None
            upstream.transport.close()

    run(scenario)


def test_hostile_input_is_bounded_and_the_proxy_keeps_serving() -> None:
    async def scenario() -> None:
        rules: list[Rule] = [DNSAnswer(domain="blocked.lab.test", rcode="NXDOMAIN")]
        upstream, censor, port = await censored(
            rules, max_pending=4, upstream_timeout=30.0, tcp_limits=Limits(head_timeout=0.2)
        )
        loop = asyncio.get_running_loop()
        inbox = _Inbox()
        udp, _ = await loop.create_datagram_endpoint(lambda: inbox, remote_addr=(HOST, port))
        try:
            response = dns.message.make_response(dns.message.make_query("open.lab.test", "A"))
            for garbage in (
                b"\x00",
                b"\x00\x01garbage" * 50,
                bytes(range(256)),
                response.to_wire(),
            ):
                udp.sendto(garbage)
            # Ten questions to a silent upstream: four are held, six dropped.
            for _ in range(10):
                udp.sendto(dns.message.make_query("silent.lab.test", "A").to_wire())
            forged = await dns.asyncquery.udp(
                dns.message.make_query("blocked.lab.test", "A"), HOST, port=port, timeout=5
            )
            assert forged.rcode() == dns.rcode.NXDOMAIN  # served while the upstream is full
            assert censor.counts.garbage == 4
            assert (censor.counts.asked, censor.counts.dropped) == (4, 6)
            assert inbox.replies.empty()

            garbage_reader, garbage_writer = await asyncio.open_connection(HOST, port)
            garbage_writer.write(b"\x00\x05hello")  # framed, but not DNS: closed
            assert await garbage_reader.read() == b""
            slow_reader, slow_writer = await asyncio.open_connection(HOST, port)
            slow_writer.write(b"\x00")  # half a length, then nothing: a slowloris
            assert await slow_reader.read() == b""
            assert censor.tcp.timeouts == 1
            assert censor.counts.garbage == 5
            for writer in (garbage_writer, slow_writer):
                writer.close()
        finally:
            udp.close()
            await censor.close()
            assert upstream.transport is not None
            upstream.transport.close()

    run(scenario)
