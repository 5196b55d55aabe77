"""The forging DNS proxy's wire work: a forged reply, one question to the upstream, and
DNS over TCP.

A forged reply answers the query's own id and question (dns.message.make_response), so the
client cannot tell it from the resolver's by form; only the rule's addresses of the asked
family (A or AAAA) go in, and none with an error rcode.

Upstream questions go out on a fresh connected UDP socket each, as OONI's resolver does
(reliability.md §4.2), so replies cannot be confused across queries: the first datagram
from the upstream with the query's id is the answer, anything else on the socket is ignored,
and an ICMP error or `timeout` seconds of silence mean no answer. The query and reply bytes
pass untouched, so the client sees exactly what the real resolver said.

DNS over TCP frames each message with a two-byte length (RFC 1035 §4.2.2; RFC 7766). A
connection may carry many queries; it is closed when idle for `head_timeout` (RFC 7766 §6.2.3
lets a server close idle connections) and lives at most `deadline`, so a slowloris client
holds one slot for a bounded time only (lab/censor_conn.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from netvigil.lab.censor_conn import Limits, StreamService

__all__ = ["TCPFraming", "ask_upstream", "forged_reply"]

Answerer = Callable[[bytes], Awaitable[bytes | None]]


def forged_reply(query: dns.message.Message, rcode: str, addresses: tuple[str, ...]) -> bytes:
    """A reply to `query` with `rcode` and the `addresses` of the asked family (A or AAAA)."""
    reply = dns.message.make_response(query)
    reply.set_rcode(dns.rcode.from_text(rcode))
    question = query.question[0]
    wanted = dns.rdatatype.to_text(question.rdtype)
    matching = [a for a in addresses if (":" in a) == (wanted == "AAAA")]
    if rcode == "NOERROR" and wanted in ("A", "AAAA") and matching:
        reply.answer.append(dns.rrset.from_text_list(question.name, 60, "IN", wanted, matching))
    return reply.to_wire()


class _OneReply(asyncio.DatagramProtocol):
    def __init__(self, reply: asyncio.Future[bytes | None], query_id: bytes) -> None:
        self.reply = reply
        self.query_id = query_id

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if data[:2] == self.query_id and not self.reply.done():
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.reply.done():  # ICMP port unreachable: nobody is listening there
            self.reply.set_result(None)


async def ask_upstream(wire: bytes, upstream: tuple[str, int], timeout: float) -> bytes | None:
    """The upstream's reply to `wire` (bytes as received), or None."""
    loop = asyncio.get_running_loop()
    reply: asyncio.Future[bytes | None] = loop.create_future()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _OneReply(reply, wire[:2]), remote_addr=upstream
    )
    try:
        transport.sendto(wire)
        async with asyncio.timeout(timeout):
            return await reply
    except TimeoutError:
        return None
    finally:
        transport.close()


class TCPFraming(StreamService):
    """Length-framed DNS messages; `answer` gives each reply, or None to close."""

    def __init__(self, answer: Answerer, limits: Limits | None = None) -> None:
        super().__init__(limits or Limits(head_timeout=5.0, deadline=60.0, max_connections=64))
        self.answer = answer

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                async with asyncio.timeout(self.limits.head_timeout):
                    size = await reader.readexactly(2)
                    wire = await reader.readexactly(int.from_bytes(size, "big"))
            except asyncio.IncompleteReadError:
                return  # the client closed, between messages or inside one
            reply = await self.answer(wire)
            if reply is None:
                return
            writer.write(len(reply).to_bytes(2, "big") + reply)
            await writer.drain()
