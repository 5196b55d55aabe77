"""The bytes a connection writes and reads, seen while someone listens (df-008 events).

OONI's network events (`write`, `read` with their byte counts and failures) come from a
wrapped socket in Go; ours from a tap on the asyncio transport. A TLS handshake runs inside
asyncio's SSL protocol, out of our reach (net/tls_chain.py), so the tap sits below it: the
stream's writer is given a :class:`Tap` in place of its transport, and `start_tls` builds
its SSL protocol on the tap, which then sees every record TLS writes (`write`) and, through
the protocol it puts between the real transport and the SSL protocol, every chunk the
socket read (`read`), the peer's end of stream (`read` failing with `eof_error`) and the
error that ended the connection (`read` failing with, say, `connection_reset`: the read
that met the RST). A censor's forged RST after the ClientHello is then a `write` of the
hello's size and a `read` reset, as on the wire (lab/capture.py checks both agree).

Nothing is kept unless a listener is set (`tap.listen(callback)`, `tap.listen(None)`), so
the tap costs a branch per write otherwise. `open_tapped` is `asyncio.open_connection` with
the tap put in (the same three objects: StreamReader, StreamReaderProtocol, StreamWriter).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterable
from typing import Any

from netvigil.failures import Failure
from netvigil.net.errors import NETWORK_ERRORS, failure_of

__all__ = ["Listener", "Tap", "open_tapped", "tap_of"]

# (operation, num_bytes, failure): "write" or "read"; num_bytes None with a failure.
Listener = Callable[[str, int | None, str | None], None]


class Tap(asyncio.Transport):
    """A transport that is another one, telling a listener what goes through it."""

    _start_tls_compatible = True  # what loop.start_tls checks before it accepts a transport

    def __init__(self, inner: asyncio.Transport) -> None:
        super().__init__()
        self.inner = inner
        self.listener: Listener | None = None
        self._protocol: asyncio.BaseProtocol | None = None

    def listen(self, listener: Listener | None) -> None:
        self.listener = listener

    def tell(self, operation: str, num_bytes: int | None, failure: str | None = None) -> None:
        if self.listener is not None:
            self.listener(operation, num_bytes, failure)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.tell("write", len(data))
        self.inner.write(data)

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in list_of_data:
            self.write(data)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        # start_tls installs its SSL protocol here: ours goes between it and the socket.
        self._protocol = protocol
        self.inner.set_protocol(_Heard(protocol, self))

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._protocol if self._protocol is not None else self.inner.get_protocol()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.inner.get_extra_info(name, default)

    def is_closing(self) -> bool:
        return self.inner.is_closing()

    def close(self) -> None:
        self.inner.close()

    def abort(self) -> None:
        self.inner.abort()

    def is_reading(self) -> bool:
        return self.inner.is_reading()

    def pause_reading(self) -> None:
        self.inner.pause_reading()

    def resume_reading(self) -> None:
        self.inner.resume_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.inner.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return self.inner.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self.inner.get_write_buffer_limits()

    def _force_close(self, exc: BaseException | None) -> None:
        # Not public, but asyncio's SSL protocol calls it on the transport below it when the
        # handshake fails (sslproto.py `_fatal_error`); every selector transport has it.
        force_close = getattr(self.inner, "_force_close", None)
        if force_close is None:
            self.inner.abort()
        else:
            force_close(exc)

    def write_eof(self) -> None:
        self.inner.write_eof()

    def can_write_eof(self) -> bool:
        return self.inner.can_write_eof()


class _Heard(asyncio.BufferedProtocol):
    """The real transport's protocol once a tap's protocol is set: the reads, then `inner`."""

    def __init__(self, inner: asyncio.BaseProtocol, tap: Tap) -> None:
        self.inner, self.tap = inner, tap
        self._buffer = bytearray(1 << 16)  # only for an inner protocol that is not buffered
        self._ended = False  # the stream's end was told: one read fails, not two

    def get_buffer(self, sizehint: int) -> Any:
        if isinstance(self.inner, asyncio.BufferedProtocol):
            return self.inner.get_buffer(sizehint)
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.tap.tell("read", nbytes)
        if isinstance(self.inner, asyncio.BufferedProtocol):
            self.inner.buffer_updated(nbytes)
        elif isinstance(self.inner, asyncio.Protocol):
            self.inner.data_received(bytes(self._buffer[:nbytes]))

    def eof_received(self) -> bool | None:
        self._ended = True
        self.tap.tell("read", None, Failure.EOF)
        if isinstance(self.inner, asyncio.Protocol | asyncio.BufferedProtocol):
            return self.inner.eof_received()
        return None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        # A read that failed (the RST, a broken link); after an EOF, `exc` is what the SSL
        # protocol made of it (it closes with ConnectionResetError), not another read.
        if isinstance(exc, NETWORK_ERRORS) and not self._ended:
            self._ended = True
            self.tap.tell("read", None, failure_of(exc))
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


async def open_tapped(
    where: tuple[str, int] | socket.socket,
    *,
    limit: int = 1 << 16,
    local_addr: tuple[str, int] | None = None,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """`asyncio.open_connection` to (host, port), or over a connected socket, whose writer
    writes through a :class:`Tap`."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=limit, loop=loop)
    protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    if isinstance(where, socket.socket):
        transport, _ = await loop.create_connection(lambda: protocol, sock=where)
    else:
        host, port = where
        transport, _ = await loop.create_connection(
            lambda: protocol, host, port, local_addr=local_addr
        )
    return reader, asyncio.StreamWriter(Tap(transport), protocol, reader, loop)


def tap_of(writer: asyncio.StreamWriter) -> Tap | None:
    """The writer's tap (None for a writer made elsewhere, or once TLS runs over it)."""
    transport = writer.transport
    return transport if isinstance(transport, Tap) else None
