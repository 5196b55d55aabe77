"""A programmable DNS server: the honest resolver, and the lying ones censors run.

One asyncio UDP server, and with `tcp=True` a TCP one on the same port, as a real resolver
answers both (RFC 7766; the censor DNATs TCP 53 too); each name maps to a behaviour
(ooni.md §1.5, reliability.md §4.3 list what censors do): answer with addresses (genuine,
a bogon, a blockpage address, loopback), NXDOMAIN, SERVFAIL, REFUSED, silence, a malformed
reply, or an injected answer followed by the genuine one (the "second reply" of ooni/spec
tq-002). Over TCP an injection gives the injected answer only: an injected segment takes
the real one's sequence numbers, as in the censor's proxy (lab/censor_dns.py).

TCP is bounded for hostile peers: a message is two length bytes and at most 65535 more,
a connection idle for `TCP_IDLE` seconds is closed (RFC 7766 §6.2.3), past
`TCP_CONNECTIONS` a new one is closed at once, and garbage closes its connection.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

TCP_IDLE = 5.0
TCP_CONNECTIONS = 64
_LENGTH = struct.Struct("!H")  # RFC 1035 §4.2.2: each TCP message after its two-byte length


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
    tcp: asyncio.Server | None = None
    queries: list[str] = field(default_factory=list)
    tcp_queries: int = 0  # of `queries`, those asked over TCP
    tcp_open: int = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        for reply in self.replies(data):
            self.transport.sendto(reply, addr)

    def replies(self, data: bytes) -> list[bytes]:
        """What the server sends for one query, in order (none: silence or garbage)."""
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:  # a lab server ignores garbage, as resolvers do
            return []
        if not query.question:
            return []
        name = str(query.question[0].name).rstrip(".").lower()
        self.queries.append(name)
        answer = self.zone.get(name, Answer(rcode="NXDOMAIN"))
        if answer.silent:
            return []
        if answer.malformed:
            return [data[:2] + b"\x81\x80\x00\x01\xff\xff"]
        genuine = _reply(query, answer.addresses, answer.rcode)
        if answer.injected_first:
            return [_reply(query, answer.injected_first, "NOERROR"), genuine]
        return [genuine]

    async def serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.tcp_open >= TCP_CONNECTIONS:
            writer.close()
            return
        self.tcp_open += 1
        try:
            while True:
                async with asyncio.timeout(TCP_IDLE):
                    (size,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
                    data = await reader.readexactly(size)
                replies = self.replies(data)
                if not replies:  # garbage or silence: nothing more on this connection
                    return
                self.tcp_queries += 1
                writer.write(_LENGTH.pack(len(replies[0])) + replies[0])
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass  # idle, closed half-way or reset: the peer's business
        except asyncio.CancelledError:
            # Only the loop's end cancels a handler; end quietly, since on 3.11 the
            # start_server done-callback calls task.exception() and logs a cancelled task.
            pass
        finally:
            self.tcp_open -= 1
            writer.close()

    def close(self) -> None:
        """Stop both sides (open TCP connections end when the loop does)."""
        if self.transport is not None:
            self.transport.close()
        if self.tcp is not None:
            self.tcp.close()

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
    zone: Mapping[str, Answer], host: str = "127.0.0.1", port: int = 0, *, tcp: bool = False
) -> DNSServer:
    """Start a server on UDP `port` of `host` (0: an ephemeral one, as tests use; the lab's
    resolver takes 53) and, with `tcp`, on the same TCP port; :meth:`DNSServer.close` (or
    closing its `transport`, for UDP alone) stops it."""
    loop = asyncio.get_running_loop()
    server = DNSServer(zone)
    await loop.create_datagram_endpoint(lambda: server, local_addr=(host, port))
    if tcp:
        try:
            server.tcp = await asyncio.start_server(server.serve_tcp, host, server.port)
        except OSError:
            server.close()
            raise
    return server
