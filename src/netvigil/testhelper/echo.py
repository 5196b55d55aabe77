"""The middlebox nettests' helpers: a JSON echo of request heads and a TCP echo.

- **http-return-json-headers** (ts-006's helper; oonib testhelpers/http_helpers.py
  `SimpleHTTPChannel`): reads a request line and headers, answers `HTTP/1.1 200 OK`, a blank
  line and `{"request_headers": [[name, value], ...], "request_line": ..., "headers_dict":
  {name: [value, ...]}}` with names spelled exactly as they arrived, then closes. As oonib:
  a value is stripped, a line starting with a space or tab continues the previous header
  (joined with "\\n"), a line with no colon is skipped, at most 500 headers. Unlike it, a
  bare "\\n" also ends a line, so a request whose line endings were rewritten is still read.
  Bytes are read as ISO-8859-1, so every byte that arrived is in the answer.
- **tcp-echo** (ts-007's helper): sends back every byte it receives.

Both are plain asyncio servers, not ASGI: an HTTP server (h11) would normalise the very
names the test looks at. They are public servers, so every connection is bounded — bytes
(`max_bytes`), silence (`idle`) and life (`lifetime`) — and admitted only while a slot is
free: `slots` in all, `per_peer` for one address, so one client cannot hold them all. A
connection that finds no slot is reset, which the nettests read as "no answer", never as
tampering. The peer's address is used only to count its open connections, is forgotten
when they close, and is never logged or written anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

MAX_HEADERS = 500  # oonib SimpleHTTPChannel.maxHeaders
_OK = b"HTTP/1.1 200 OK\r\n\r\n"


@dataclass(frozen=True)
class EchoLimits:
    max_bytes: int = 1 << 16  # echoed per connection; the JSON echo's request head
    idle: float = 2.0  # seconds without a byte before the connection is closed
    lifetime: float = 10.0  # seconds a connection may last
    slots: int = 256  # connections served at once
    per_peer: int = 8  # of them from one address (hirl opens five at once)


class Slots:
    """Open connections, in all and per address (counts only, for open connections)."""

    def __init__(self, limits: EchoLimits) -> None:
        self.limits = limits
        self.open: dict[str, int] = {}
        self.total = 0

    def take(self, peer: str) -> bool:
        held = self.open.get(peer, 0)
        if self.total >= self.limits.slots or held >= self.limits.per_peer:
            return False
        self.open[peer] = held + 1
        self.total += 1
        return True

    def give(self, peer: str) -> None:
        self.total -= 1
        left = self.open.pop(peer) - 1
        if left:
            self.open[peer] = left


def _peer(writer: asyncio.StreamWriter) -> str:
    name = writer.get_extra_info("peername")
    return str(name[0]) if isinstance(name, tuple) and name else ""


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0): the client sees a refusal, not an empty echo."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _echo(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limits: EchoLimits
) -> None:
    left = limits.max_bytes
    while left > 0:
        async with asyncio.timeout(limits.idle):
            chunk = await reader.read(min(left, 4096))
        if not chunk:
            return
        left -= len(chunk)
        writer.write(chunk)
        await writer.drain()


def parse_head(head: bytes) -> dict[str, object]:
    """The JSON echo's answer for a request head (the bytes before the blank line)."""
    lines = [line.removesuffix("\r") for line in head.decode("iso-8859-1").split("\n")]
    request_line, fields = (lines[0], lines[1:]) if lines else ("", [])
    headers: list[list[str]] = []
    current: str | None = None
    for line in [*fields, ""]:
        if line[:1] in (" ", "\t") and current is not None:
            current += "\n" + line  # rfc2616 folding, as oonib joins it
            continue
        if current is not None:
            name, sep, value = current.partition(":")
            if sep and len(headers) < MAX_HEADERS:
                headers.append([name, value.strip()])
        current = line or None
    by_name: dict[str, list[str]] = {}
    for name, value in headers:
        by_name.setdefault(name, []).append(value)
    return {"request_headers": headers, "request_line": request_line, "headers_dict": by_name}


def _end_of_head(buffer: bytes) -> int:
    """Where the head ends (before its blank line), or -1 while it has not arrived."""
    ends = [i for i in (buffer.find(b"\r\n\r\n"), buffer.find(b"\n\n")) if i >= 0]
    if ends:
        return min(ends)
    return 0 if buffer.startswith((b"\r\n", b"\n")) else -1


async def _json_headers(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limits: EchoLimits
) -> None:
    buffer = b""
    while (end := _end_of_head(buffer)) < 0:
        if len(buffer) >= limits.max_bytes:
            return  # a head this long is no request the nettest sends
        async with asyncio.timeout(limits.idle):
            chunk = await reader.read(4096)
        if not chunk:
            return
        buffer += chunk
    answer = json.dumps(parse_head(buffer[:end]))
    writer.write(_OK + answer.encode("ascii"))
    await writer.drain()


def _serving(
    work: Callable[[asyncio.StreamReader, asyncio.StreamWriter, EchoLimits], Awaitable[None]],
    limits: EchoLimits,
    tasks: set[asyncio.Task[None]],
) -> Handler:
    slots = Slots(limits)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _peer(writer)
        if not slots.take(peer):
            _reset(writer)
            return
        task = asyncio.current_task()
        assert task is not None  # asyncio runs each connection's handler as a task
        tasks.add(task)  # cancelled when the server stops
        try:
            async with asyncio.timeout(limits.lifetime):
                await work(reader, writer, limits)
        except (OSError, TimeoutError):
            pass  # the client went away, or took too long: nothing to answer, nothing kept
        finally:
            slots.give(peer)
            tasks.discard(task)
            writer.close()

    return handle


async def _serve(
    sock: socket.socket,
    work: Callable[[asyncio.StreamReader, asyncio.StreamWriter, EchoLimits], Awaitable[None]],
    limits: EchoLimits,
) -> None:
    tasks: set[asyncio.Task[None]] = set()
    server = await asyncio.start_server(_serving(work, limits, tasks), sock=sock)
    try:
        async with server:
            await server.serve_forever()
    finally:
        for task in list(tasks):
            task.cancel()


async def serve_json_headers(sock: socket.socket, limits: EchoLimits = EchoLimits()) -> None:
    """The http-return-json-headers helper on a listening socket, until cancelled."""
    await _serve(sock, _json_headers, limits)


async def serve_tcp_echo(sock: socket.socket, limits: EchoLimits = EchoLimits()) -> None:
    """The tcp-echo helper on a listening socket, until cancelled."""
    await _serve(sock, _echo, limits)
