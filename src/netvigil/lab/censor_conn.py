"""The censor's TCP connections, bounded: the lifecycle its HTTP and TLS servers share.

A middlebox that inspects and proxies must not fall to the hostile peers the lab also plays
(reliability.md §4.2: every step under an overall deadline, every buffer capped): a slowloris
dripping a request head, a 1 MB head, a ClientHello that never ends. So each connection
decides within `head_timeout` on at most `head_limit` bytes, lives at most `deadline` (OONI's
300 s per-read fallback, ooni/probe#1609, is the same idea: a parked connection dies), and
past `max_connections` at once a new connection is closed at once, so one flood cannot starve
the rest. The relay phase is long on purpose: a proxied site that hangs must still look like a
hanging site to the probe, not like the censor's deadline.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct

import msgspec

__all__ = ["Limits", "StreamService", "host_of", "read_head", "relay", "reset"]

# What a peer can make a connection fail with; each is counted, none is a traceback.
_PEER_FAULTS = (ConnectionError, OSError, ssl.SSLError, EOFError, asyncio.IncompleteReadError)


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    head_timeout: float = 5.0  # to read a request head or a ClientHello
    head_limit: int = 16 * 1024  # h11's cap on an incomplete head (reliability.md §4.2)
    deadline: float = 300.0  # a whole connection, relay included
    max_connections: int = 128


class StreamService:
    """A TCP server: :meth:`start` returns its port, :meth:`close` ends it and every connection.

    Subclasses implement :meth:`serve`; the counters here are what every service shares."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.connections = 0  # accepted and served
        self.refused = 0  # closed at once: `max_connections` were open
        self.timeouts = 0  # a head too slow, or the deadline
        self.rejected = 0  # a head too large or malformed
        self.faults = 0  # the peer reset or broke the connection
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        # `limit` bounds readuntil(): a head longer than head_limit is a LimitOverrunError.
        self._server = await asyncio.start_server(
            self._handle, host, port, limit=self.limits.head_limit
        )
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._tasks) >= self.limits.max_connections:
            self.refused += 1
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            async with asyncio.timeout(self.limits.deadline):
                await self.serve(reader, writer)
        except TimeoutError:
            self.timeouts += 1
        except asyncio.LimitOverrunError:
            self.rejected += 1
        except _PEER_FAULTS:
            self.faults += 1
        except asyncio.CancelledError:
            # Only close() cancels a handler (a deadline arrives as TimeoutError above). The
            # task ends quietly: on 3.11 start_server's done-callback calls task.exception(),
            # which raises on a cancelled task and logs a spurious error.
            pass
        finally:
            self._tasks.discard(task)
            writer.close()


async def read_head(reader: asyncio.StreamReader) -> bytes | None:
    """An HTTP request head up to its blank line; None if the peer closed first.

    A head over the reader's limit raises LimitOverrunError (counted as rejected)."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None


def host_of(head: bytes) -> str:
    """The Host header's name, lower case, without a port ("" if there is none)."""
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "host":
            host = value.strip().lower()
            return host if host.endswith("]") else host.rsplit(":", 1)[0]
    return ""


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST: SO_LINGER 0 makes close() drop the queue and send RST, not FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
    except ConnectionResetError:
        reset(sink)  # a reset from one side is passed on as one, as a router would
        return
    if sink.can_write_eof():
        sink.write_eof()  # half-close: the other direction may still carry the answer
    else:
        sink.close()  # TLS cannot half-close


async def relay(
    a_reader: asyncio.StreamReader,
    a_writer: asyncio.StreamWriter,
    b_reader: asyncio.StreamReader,
    b_writer: asyncio.StreamWriter,
) -> None:
    """Copy bytes both ways until both directions have ended; then close both."""
    try:
        await asyncio.gather(_pipe(a_reader, b_writer), _pipe(b_reader, a_writer))
    finally:
        a_writer.close()
        b_writer.close()
