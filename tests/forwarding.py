"""A TCP forwarder owned by a test: the probe's path to its server, which the test can cut.

Cut, it stops listening and drops the connections it carried, so the probe's packets meet
a closed port (a refusal, at once: the test does not wait for timeouts); resumed, it
listens on the same port again. A gateway that answers is a listener that closes what it
accepts.
"""

from __future__ import annotations

import asyncio
import contextlib

CHUNK = 1 << 16


class Forwarder:
    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target = port, target
        self.server: asyncio.Server | None = None
        self.carried: set[asyncio.StreamWriter] = set()
        self.cuts = 0

    async def open(self) -> None:
        self.server = await asyncio.start_server(
            self._carry, "127.0.0.1", self.port, reuse_address=True
        )

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.carried):
            writer.transport.abort()
        await self.server.wait_closed()
        self.server = None
        self.cuts += 1

    async def _carry(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            far_reader, far_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.carried |= {writer, far_writer}
        try:
            await asyncio.gather(_copy(reader, far_writer), _copy(far_reader, writer))
        finally:
            self.carried -= {writer, far_writer}
            for end in (writer, far_writer):
                end.transport.abort()


async def _copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await source.read(CHUNK):
            sink.write(data)
            await sink.drain()
        if sink.can_write_eof():
            sink.write_eof()


async def answering(port: int) -> asyncio.Server:
    """A first hop that is up: it accepts and closes."""

    async def close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    return await asyncio.start_server(close, "127.0.0.1", port, reuse_address=True)
