"""The lab's STUN server: Binding requests answered with the sender's XOR-MAPPED-ADDRESS.

What the `stunreachability` nettest needs of a STUN server (ts-025; RFC 5389 §7.3.1, §15.2):
a Binding success response with the same transaction id and an XOR-MAPPED-ADDRESS of the
address the request came from. Hand-written over the wire functions of net/stun.py (the
probe's own, which already build and read these messages): no STUN server is in the lock
or the project's dependencies, and aioice's or aiortc's would bring a whole ICE stack for
one 32-byte reply.

Anything that is not a Binding request with the magic cookie (garbage, a response, another
protocol) gets no answer, as a real server drops it; both are counted.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import cast

from netvigil.net import stun

__all__ = ["STUNServer", "serve_stun"]


@dataclass
class STUNServer(asyncio.DatagramProtocol):
    transport: asyncio.DatagramTransport | None = None
    answered: int = 0
    ignored: int = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        transaction = stun.transaction_of(data)
        if transaction is None:
            self.ignored += 1
            return
        assert self.transport is not None
        self.answered += 1
        # The mapped address is where the request came from: inside the lab, the client's
        # own (no NAT on the path, docs/design/011-lab.md "Topology").
        self.transport.sendto(stun.binding_response(transaction, addr[:2]), addr)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])


async def serve_stun(host: str = "127.0.0.1", port: int = 0) -> STUNServer:
    """Start a server on UDP `port` of an IPv4 `host` (binding_response writes IPv4)."""
    loop = asyncio.get_running_loop()
    server = STUNServer()
    await loop.create_datagram_endpoint(lambda: server, local_addr=(host, port))
    return server
