"""A scripted network, as httpx ships MockTransport: a :class:`Backend` for tests and the lab.

:class:`FakeNetwork` answers from a script instead of the world:

- `names`: a hostname's addresses, or the exception its lookup raises; a name not in the
  script does not exist (`socket.gaierror` EAI_NONAME, what getaddrinfo says);
- `endpoints`: for an (ip, port), the handler that serves each connection, the exception
  `connect` raises (a refusal, an unreachable network, or any exception, to play a bug),
  or :data:`BLACKHOLE` (the SYN is dropped: only the caller's deadline ends the wait); an
  endpoint not in the script refuses, as a host with nothing listening;
- `udp`: for a server, a function from the query's bytes to the replies, or the exception
  the exchange raises; a server not in the script never answers.

It is honest where that is cheap: each connection is a `socket.socketpair()`, a kernel
stream with no address, wrapped in real asyncio StreamReader/StreamWriter pairs, so EOF,
back-pressure and even TLS (:func:`tls` wraps a handler) behave as over TCP, and
nothing leaves the process. Time is not simulated: a UDP reply's delay only decides
whether it is kept (the first within `timeout`, later ones within `linger` of the first),
as :class:`netvigil.net.backend.AsyncioBackend` would keep it, without waiting for it.
What was asked is kept in `resolved`, `connected` and `sent`, for tests to count.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Literal

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from netvigil.addresses import parse_ip
from netvigil.net.wire import open_tapped

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
Replier = Callable[[bytes], Sequence[tuple[float, bytes]]]
Blackhole = Literal["blackhole"]
BLACKHOLE: Blackhole = "blackhole"


class FakeNetwork:
    """A :class:`netvigil.net.backend.Backend` that answers from its script."""

    def __init__(
        self,
        *,
        names: Mapping[str, Sequence[str] | Exception] | None = None,
        endpoints: Mapping[tuple[str, int], Handler | Exception | Blackhole] | None = None,
        udp: Mapping[tuple[str, int], Replier | Exception] | None = None,
        system_engine: str = "getaddrinfo",
    ) -> None:
        self.names = dict(names or {})
        self.endpoints = dict(endpoints or {})
        self.udp = dict(udp or {})
        self.system_engine = system_engine
        self.resolved: list[str] = []
        self.connected: list[tuple[str, int]] = []
        self.sent: list[tuple[tuple[str, int], bytes]] = []
        self._serving: set[asyncio.Task[None]] = set()

    async def resolve(self, hostname: str) -> list[str]:
        self.resolved.append(hostname)
        if parse_ip(hostname.strip("[]")) is not None:
            return [hostname.strip("[]")]  # getaddrinfo returns an address literal as is
        script = self.names.get(hostname)
        if script is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if isinstance(script, Exception):
            raise script
        return list(script)

    async def connect(
        self, ip: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.connected.append((ip, port))
        script = self.endpoints.get((ip, port))
        if script is None:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        if isinstance(script, Exception):
            raise script
        if script == BLACKHOLE:
            await asyncio.Event().wait()  # never set: the SYN went nowhere
            raise AssertionError("unreachable")
        ours, theirs = socket.socketpair()
        loop = asyncio.get_running_loop()
        handler = script

        def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = loop.create_task(_serve(handler, reader, writer))
            self._serving.add(task)  # held until done: the loop keeps only weak references
            task.add_done_callback(self._serving.discard)

        await loop.connect_accepted_socket(
            lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader(), accepted), sock=theirs
        )
        return await open_tapped(ours)  # as the real backend's, tapped (net/wire.py)

    async def join(self) -> None:
        """Wait until every connection's handler has finished (close the client side first)."""
        while self._serving:
            await asyncio.gather(*self._serving)

    async def exchange_udp(
        self, server: tuple[str, int], payload: bytes, timeout: float, linger: float
    ) -> list[tuple[float, bytes]]:
        self.sent.append((server, payload))
        script = self.udp.get(server)
        if isinstance(script, Exception):
            raise script
        replies = sorted(script(payload)) if script is not None else []
        await asyncio.sleep(0)  # a real exchange always yields to the loop
        if not replies or replies[0][0] > timeout:
            return []
        first = replies[0][0]
        return [(after, data) for after, data in replies if after <= first + linger]


async def _serve(
    handler: Handler, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        await handler(reader, writer)
    except OSError:
        pass  # the client went away first, or refused our certificate: its side records it
    finally:
        writer.close()


def reply(raw: bytes) -> Handler:
    """A server that reads the request's head, writes `raw` and closes."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(raw)
        await writer.drain()

    return handler


def tls(context: ssl.SSLContext, then: Handler) -> Handler:
    """A TLS server (`context` holds its certificate) that hands the secured streams on."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await writer.start_tls(context)  # server side: the stream was accepted
        await then(reader, writer)

    return handler


def http_response(
    status: int = 200, body: bytes = b"", headers: Sequence[tuple[str, str]] = ()
) -> Handler:
    """A server answering every request with one canned HTTP/1.1 response."""
    head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", f"Content-Length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in headers]
    return reply("\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + body)


def dns_answers(*addresses: str, rcode: str = "NOERROR", after: float = 0.0) -> Replier:
    """A resolver's one reply: the `addresses` of the query's type, with `rcode`."""

    def answer(payload: bytes) -> list[tuple[float, bytes]]:
        query = dns.message.from_wire(payload)
        response = dns.message.make_response(query)
        response.set_rcode(dns.rcode.from_text(rcode))
        question = query.question[0]
        wanted = dns.rdatatype.to_text(question.rdtype)
        mine = [a for a in addresses if ("AAAA" if ":" in a else "A") == wanted]
        if mine:
            response.answer.append(dns.rrset.from_text_list(question.name, 60, "IN", wanted, mine))
        return [(after, response.to_wire())]

    return answer
