"""Resolvers and a STUN server on loopback, honest or censored, for the resolver nettests.

- Do53 over UDP: the lab's own server (netvigil.lab.dnsserver);
- Do53 over TCP and DoT: one framed-DNS server (RFC 1035 §4.2.2, RFC 7858), TLS-wrapped
  with a lab-CA certificate for DoT;
- DoH: a tiny HTTPS server (asyncio + h11, as the probe's own HTTP) answering POSTs of
  application/dns-message;
- STUN: a UDP responder that answers Binding requests (netvigil.net.stun).

Each stream server has a behaviour: "honest", "lying" (a bogon for every name), "reset"
(RST right after accepting: what an SNI- or IP-filtering middlebox does), "silent" (accept,
read, never answer), "forbidden" (DoH: HTTP 403). Nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import cast

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import h11

from netvigil.net import stun

LIE = "10.10.34.35"  # a sinkhole address (a bogon)
HOST = "127.0.0.1"


def answer(wire: bytes, zone: Mapping[str, str], behaviour: str) -> bytes:
    query = dns.message.from_wire(wire)
    reply = dns.message.make_response(query)
    question = query.question[0]
    name = str(question.name).rstrip(".").lower()
    address = LIE if behaviour == "lying" else zone.get(name)
    wanted = dns.rdatatype.to_text(question.rdtype)
    if address is None:
        reply.set_rcode(dns.rcode.NXDOMAIN)
    elif wanted == "A":
        reply.answer.append(dns.rrset.from_text_list(question.name, 60, "IN", "A", [address]))
    return reply.to_wire()


def _track(handlers: set[asyncio.Task[None]]) -> None:
    task = asyncio.current_task()
    assert task is not None
    handlers.add(task)
    task.add_done_callback(handlers.discard)


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass
class StreamDNS:
    """Framed DNS over TCP, or over TLS when `tls` is given."""

    zone: Mapping[str, str]
    behaviour: str = "honest"
    tls: ssl.SSLContext | None = None
    accepted: int = 0
    server: asyncio.Server | None = None
    handlers: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> int:
        # TLS is started by hand, so that "reset" can cut the connection before the handshake.
        self.server = await asyncio.start_server(self._serve, HOST, 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        _track(self.handlers)
        if self.behaviour == "reset":
            _reset(writer)
            return
        with contextlib.suppress(
            OSError, EOFError, ssl.SSLError, TimeoutError, asyncio.CancelledError
        ):
            async with asyncio.timeout(10):
                if self.tls is not None:
                    await writer.start_tls(self.tls)
                (size,) = struct.unpack("!H", await reader.readexactly(2))
                wire = await reader.readexactly(size)
                if self.behaviour == "silent":
                    await reader.read()  # until the client gives up
                    return
                reply = answer(wire, self.zone, self.behaviour)
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        writer.close()


@dataclass
class DoHServer:
    zone: Mapping[str, str]
    tls: ssl.SSLContext
    behaviour: str = "honest"
    posts: list[tuple[str, str]] = field(default_factory=list)  # (Host, target)
    server: asyncio.Server | None = None
    handlers: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, HOST, 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _track(self.handlers)
        if self.behaviour == "reset":
            _reset(writer)
            return
        with contextlib.suppress(
            OSError, EOFError, ssl.SSLError, TimeoutError, h11.ProtocolError, asyncio.CancelledError
        ):
            async with asyncio.timeout(10):
                await writer.start_tls(self.tls)
                connection = h11.Connection(h11.SERVER)
                body, target, host = b"", "", ""
                while True:
                    event = connection.next_event()
                    if event is h11.NEED_DATA:
                        connection.receive_data(await reader.read(65536))
                    elif isinstance(event, h11.Request):
                        target = event.target.decode()
                        host = dict(event.headers).get(b"host", b"").decode()
                    elif isinstance(event, h11.Data):
                        body += bytes(event.data)
                    else:
                        break
                self.posts.append((host, target))
                status, kind, data = 200, "application/dns-message", b""
                if self.behaviour == "forbidden":
                    status, kind, data = 403, "text/html", b"<h1>blocked</h1>"
                else:
                    data = answer(body, self.zone, self.behaviour)
                headers = [("Content-Type", kind), ("Content-Length", str(len(data)))]
                writer.write(connection.send(h11.Response(status_code=status, headers=headers)))
                writer.write(connection.send(h11.Data(data=data)) or b"")
                writer.write(connection.send(h11.EndOfMessage()) or b"")
                await writer.drain()
        writer.close()


@dataclass
class STUNServer(asyncio.DatagramProtocol):
    behaviour: str = "honest"  # or "silent", "garbage"
    requests: int = 0
    transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        tid = stun.transaction_of(data)
        if tid is None:
            return
        self.requests += 1
        assert self.transport is not None
        if self.behaviour == "honest":
            self.transport.sendto(stun.binding_response(tid, addr), addr)
        elif self.behaviour == "garbage":
            self.transport.sendto(b"HTTP/1.1 400 Bad Request\r\n\r\n", addr)

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])


@contextlib.asynccontextmanager
async def stun_server(behaviour: str = "honest") -> AsyncIterator[STUNServer]:
    loop = asyncio.get_running_loop()
    server = STUNServer(behaviour)
    await loop.create_datagram_endpoint(lambda: server, local_addr=(HOST, 0))
    try:
        yield server
    finally:
        assert server.transport is not None
        server.transport.close()


@contextlib.asynccontextmanager
async def running(server: StreamDNS | DoHServer) -> AsyncIterator[int]:
    port = await server.start()
    try:
        yield port
    finally:
        assert server.server is not None
        server.server.close()
        for task in list(server.handlers):
            task.cancel()
        await asyncio.gather(*server.handlers, return_exceptions=True)
