"""Programmable web servers: real sites, blockpages, and hostile or broken peers.

A tiny asyncio HTTP/1.1 server (plain or TLS) whose behaviour is chosen per request by a
routing function of (Host, path). Behaviours reproduce what censors and broken networks
do (reliability.md §4.2–4.3; the netem QA scenarios in ooni.md §11): reset after the
request, never answer, close without a response, drip one byte every few seconds, an
endless body, a gzip bomb, a flood of headers, garbage, redirects and redirect loops, and a
TLS-level reset on the ClientHello (the SNI-based blocking of tls* scenarios).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache


@dataclass(frozen=True)
class Behaviour:
    kind: str = "page"  # page, redirect, reset, hang, eof, drip, endless, gzip_bomb,
    # header_flood, garbage; before TLS (on_connect): reset_on_hello, hang
    status: int = 200
    body: bytes = b"<html><head><title>Default Web Page</title></head><body>ok</body></html>"
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "text/html; charset=utf-8"),)
    location: str = ""
    delay: float = 0.0  # before answering (the benchmark's fixed latency)
    # False: no Content-Length, the body ends when the connection closes (as many
    # injected blockpages do; their headers then differ from the site's).
    length: bool = True
    interval: float = 5.0  # between dripped bytes


# (Host header, path, client address) -> behaviour. The client address lets one server act
# as the site for the test helper and as a censored path for the probe.
Router = Callable[[str, str, str], Behaviour]
# client address -> a behaviour before any TLS or HTTP byte (e.g. "reset_on_hello"), or None.
ConnectionRule = Callable[[str], Behaviour | None]


@cache
def _bomb() -> bytes:
    # 64 MiB of zeros compress to ~64 KiB; a client that inflates without a bound pays all.
    # Compressed a MiB at a time so the lab itself never holds the 64 MiB.
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    return b"".join(packer.compress(zeros) for _ in range(64)) + packer.flush()


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, str] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    path = parts[1] if len(parts) > 1 else "/"
    host = next(
        (ln.split(":", 1)[1].strip() for ln in lines[1:] if ln.lower().startswith("host:")), ""
    )
    return host.rsplit(":", 1)[0] if not host.endswith("]") else host, path


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:  # SO_LINGER 0: close() sends a RST instead of a FIN
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _response(b: Behaviour, extra: tuple[tuple[str, str], ...] = ()) -> bytes:
    reason = {
        200: "OK",
        301: "Moved",
        302: "Found",
        307: "Temporary",
        308: "Permanent",
        404: "Not Found",
    }
    lines = [f"HTTP/1.1 {b.status} {reason.get(b.status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in (*b.headers, *extra)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass
class WebServer:
    router: Router
    tls: ssl.SSLContext | None = None
    on_connect: ConnectionRule | None = None
    requests: list[tuple[str, str]] = field(default_factory=list)
    server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = str(writer.get_extra_info("peername")[0])
        try:
            rule = self.on_connect(client) if self.on_connect else None
            if rule is not None and rule.kind == "reset_on_hello":
                await reader.read(1)  # the ClientHello's first byte: the SNI has been seen
                return _reset(writer)
            if rule is not None and rule.kind == "hang":
                await reader.read()
                return
            if self.tls is not None and self.on_connect is not None:
                await writer.start_tls(self.tls)  # after the rule saw the connection
            await self._serve(reader, writer, client)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
            pass
        except asyncio.CancelledError:
            # Only the loop's end cancels a handler (asyncio.run cancels what is left when
            # lab_serve is stopped: a kept-alive connection, a start_tls handshake under
            # way). The task ends quietly:
            # on 3.11 start_server's done-callback calls task.exception(), which raises on a
            # cancelled task and prints a spurious traceback (as in lab/censor_conn.py).
            pass
        finally:
            writer.close()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, client: str
    ) -> None:
        while True:
            head = await _read_head(reader)
            if head is None:
                return
            self.requests.append(head)
            b = self.router(*head, client)
            if b.delay:
                await asyncio.sleep(b.delay)
            if b.kind == "reset":
                return _reset(writer)
            if b.kind == "eof":
                return
            if b.kind == "hang":
                await reader.read()  # until the client gives up
                return
            if b.kind == "garbage":
                writer.write(b"\x16\x03\x01 this is not HTTP \xff\xfe\r\n\r\n")
                return await writer.drain()
            await self._answer(b, writer)
            if (b.kind != "page" and b.kind != "redirect") or not b.length:
                return

    async def _answer(self, b: Behaviour, writer: asyncio.StreamWriter) -> None:
        if b.kind == "redirect":
            writer.write(_response(b, (("Location", b.location), ("Content-Length", "0"))))
        elif b.kind == "drip":
            for byte in _response(b, (("Content-Length", str(len(b.body))),)) + b.body:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(b.interval)
        elif b.kind == "endless":
            writer.write(_response(b))
            chunk = b"x" * 65536
            while True:  # until the client hangs up
                writer.write(chunk)
                await writer.drain()
        elif b.kind == "gzip_bomb":
            bomb = _bomb()
            extra = (("Content-Encoding", "gzip"), ("Content-Length", str(len(bomb))))
            writer.write(_response(b, extra) + bomb)
        elif b.kind == "header_flood":
            writer.write(b"HTTP/1.1 200 OK\r\n")
            for i in range(100_000):
                writer.write(b"X-Flood-%d: %d\r\n" % (i, i))
                if i % 1000 == 0:
                    await writer.drain()
            writer.write(b"\r\n")
        elif not b.length:
            writer.write(_response(b, (("Connection", "close"),)) + b.body)
            await writer.drain()
            writer.close()
            return
        else:
            writer.write(_response(b, (("Content-Length", str(len(b.body))),)) + b.body)
        await writer.drain()

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])


async def serve_web(
    router: Router,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    tls: ssl.SSLContext | None = None,
    on_connect: ConnectionRule | None = None,
) -> WebServer:
    """Start a server; TLS, when given, is set up per connection after `on_connect`.

    Without `on_connect` the server's own TLS does the handshake before the handler runs:
    with start_tls a client closing right after its handshake can be read as a plain-TCP
    half-close first, which asyncio logs as a warning ("returning true from eof_received()
    has no effect when using ssl"), and a failed or stalled handshake is closed quietly."""
    web = WebServer(router, tls, on_connect)
    server_tls = tls if on_connect is None else None
    web.server = await asyncio.start_server(web.handle, host, port, ssl=server_tls)
    return web


def server_tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context
