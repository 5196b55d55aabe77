"""A programmable DNS server: the honest resolver, and the lying ones censors run.

One asyncio UDP server; each name maps to a behaviour (ooni.md §1.5, reliability.md §4.3
list what censors do): answer with addresses (genuine, a bogon, a blockpage address,
loopback), NXDOMAIN, SERVFAIL, REFUSED, silence, a malformed reply, or an injected answer
followed by the genuine one (the "second reply" of ooni/spec tq-002).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


@dataclass(frozen=True)
class Answer:
    """How the server answers one name. `addresses` may mix IPv4 and IPv6."""

    addresses: tuple[str, ...] = ()
    rcode: str = "NOERROR"  # or NXDOMAIN, SERVFAIL, REFUSED
    silent: bool = False
    malformed: bool = False
    injected_first: tuple[str, ...] = ()  # a forged answer sent before the genuine one


@dataclass
class DNSServer(asyncio.DatagramProtocol):
    zone: Mapping[str, Answer]
    transport: asyncio.DatagramTransport | None = None
    queries: list[str] = field(default_factory=list)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:  # a lab server ignores garbage, as resolvers do
            return
        if not query.question:
            return
        name = str(query.question[0].name).rstrip(".").lower()
        self.queries.append(name)
        answer = self.zone.get(name, Answer(rcode="NXDOMAIN"))
        assert self.transport is not None
        if answer.silent:
            return
        if answer.malformed:
            self.transport.sendto(data[:2] + b"\x81\x80\x00\x01\xff\xff", addr)
            return
        if answer.injected_first:
            self.transport.sendto(_reply(query, answer.injected_first, "NOERROR"), addr)
        self.transport.sendto(_reply(query, answer.addresses, answer.rcode), addr)

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])


def _reply(query: dns.message.Message, addresses: tuple[str, ...], rcode: str) -> bytes:
    reply = dns.message.make_response(query)
    reply.set_rcode(dns.rcode.from_text(rcode))
    question = query.question[0]
    wanted = dns.rdatatype.to_text(question.rdtype)
    matching = [a for a in addresses if (":" in a) == (wanted == "AAAA")]
    if matching and rcode == "NOERROR":
        reply.answer.append(dns.rrset.from_text_list(question.name, 60, "IN", wanted, matching))
    return reply.to_wire()


async def serve_dns(
    zone: Mapping[str, Answer], host: str = "127.0.0.1", port: int = 0
) -> DNSServer:
    """Start a server on UDP `port` of `host` (0: an ephemeral one, as tests use; the lab's
    resolver takes 53); close its `transport` to stop."""
    loop = asyncio.get_running_loop()
    server = DNSServer(zone)
    await loop.create_datagram_endpoint(lambda: server, local_addr=(host, port))
    return server
