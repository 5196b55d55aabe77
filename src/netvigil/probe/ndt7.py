"""The `ndt` nettest (ndt7, ts-022): a download then an upload against an ndt7 server.

What OONI's does (ooni/probe-cli internal/experiment/ndt7): a WebSocket on `/ndt/v7/download`
with the subprotocol `net.measurementlab.ndt.v7`; every binary message is counted and
discarded, every text message is the server's measurement; every 250 ms a client sample
(`AppInfo` {ElapsedTime µs, NumBytes}) is recorded. Then `/ndt/v7/upload`: binary messages of
random bytes, from 8 KiB doubling while under 1/16 of what was sent, up to 1 MiB. `failure`
is set only when a subtest cannot be opened; a subtest cut short keeps what it measured.

Ours runs the WebSocket (wsproto, sans-IO) over the Backend's TCP connection (and TLS for
`https`/`wss`), the probe's one narrow waist, and is bounded: `duration` seconds and
`max_bytes` bytes per subtest. Latency comes from the kernel: a TCP_INFO snapshot of our own
socket with each sample (Linux; nothing elsewhere). Our server cannot read its own TCP_INFO
(testhelper/ndt7.py), so the summary's RTTs and MSS are the client's during the download,
computed as OONI computes them from the server's (avg_rtt the last smoothed RTT, max_rtt
the largest, min_rtt the kernel's minimum), and the retransmit rate the client's during the
upload, where it is the sender. Speeds are bytes × 8 / elapsed, in kbit/s.

Endpoint `server`: the base URL of an ndt7 server (ours: `netvigil serve` or `th serve`).
OONI's default is M-Lab's locate service, which we keep as the default; the tests use ours.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import SplitResult, urlsplit

import msgspec
import wsproto
import wsproto.events as ws
import wsproto.utilities
from wsproto.connection import ConnectionState

from netvigil.addresses import join_host_port, parse_ip
from netvigil.failures import Failure, unknown
from netvigil.net.connect import Connection, connect_tcp, tls_context, tls_handshake
from netvigil.net.errors import map_failures
from netvigil.probe.nettest import Context
from netvigil.probe.tcpinfo import tcp_info
from netvigil.records.speed import (
    DOWNLOAD_PATH,
    SUBPROTOCOL,
    UPLOAD_PATH,
    AppInfo,
    Ndt7Message,
    NdtKeys,
    NdtServer,
    NdtSummary,
)

LOCATE = "https://locate.measurementlab.net/v2/nearest/ndt/ndt7"  # OONI's default
INTERVAL = 0.25  # seconds between samples (probe-cli param.go)
MIN_MESSAGE, MAX_MESSAGE = 1 << 13, 1 << 20
GRACE = 5.0  # seconds past `duration` a download may run (the spec's 15 s for 10)
READ = 1 << 16


class _Failed(Exception):
    """A subtest could not open (its df-007 failure string is the message)."""


@dataclass
class _Channel:
    """One WebSocket over one connection: wsproto's state and the streams."""

    connection: Connection
    socket: wsproto.WSConnection
    pending: list[ws.Event] = field(default_factory=list)  # read with the upgrade's answer

    def send(self, event: ws.Event) -> None:
        self.connection.writer.write(self.socket.send(event))

    async def events(self) -> list[ws.Event]:
        """The next events (an empty list once the peer has closed the stream)."""
        if self.pending:
            found, self.pending = self.pending, []
            return found
        while True:
            data = await self.connection.reader.read(READ)
            if not data and self.socket.state is ConnectionState.CONNECTING:
                raise EOFError("closed before the upgrade")  # map_failures: eof_error
            self.socket.receive_data(data or None)
            found = list(self.socket.events())
            if found or not data:
                return found


@dataclass
class _Samples:
    test: Literal["download", "upload"]
    clock: Callable[[], float]
    started: float
    messages: list[Ndt7Message]
    count: int = 0
    due: float = 0.0

    def sample(self, channel: _Channel, *, force: bool = False) -> None:
        now = self.clock()
        if now < self.due and not force:
            return
        self.due = now + INTERVAL
        elapsed = int((now - self.started) * 1e6)
        info = tcp_info(channel.connection.writer, elapsed)
        app = AppInfo(ElapsedTime=elapsed, NumBytes=self.count)
        self.messages.append(
            Ndt7Message(app_info=app, origin="client", test=self.test, tcp_info=info)
        )

    def server(self, text: str) -> None:
        try:
            message = msgspec.json.decode(text, type=Ndt7Message)
        except msgspec.DecodeError:
            return  # not a measurement: ignored, as the spec allows for other messages
        # Origin and Test are ours to say: a server's free text is never recorded.
        self.messages.append(msgspec.structs.replace(message, origin="server", test=self.test))

    def running(self, duration: float) -> bool:
        return self.clock() - self.started < duration

    def kbps(self) -> float:
        last = next((m for m in reversed(self.messages) if m.origin == "client"), None)
        if last is None or last.app_info is None or last.app_info.ElapsedTime <= 0:
            return 0.0
        return last.app_info.NumBytes * 8 / last.app_info.ElapsedTime * 1e3  # bit/µs → kbit/s


class Ndt7:
    """The nettest; `duration` seconds and `max_bytes` bytes bound each subtest."""

    name = "ndt"
    version = "0.10.1"  # probe-cli ndt7.go testVersion
    input: Literal["none", "required", "optional"] = "none"
    endpoint_help: Mapping[str, str] = {
        "server": f"base URL of an ndt7 server, http[s]:// or ws[s]:// (default {LOCATE})"
    }

    def __init__(self, *, duration: float = 10.0, max_bytes: int = 1 << 30) -> None:
        self.duration, self.max_bytes = duration, max_bytes

    async def measure(self, input: str | None, ctx: Context) -> NdtKeys:
        ctx.endpoints.check(self.endpoint_help)
        schemes = ("http", "https", "ws", "wss")
        (base,) = ctx.endpoints.urls("server", (LOCATE,), schemes)[:1]
        where = urlsplit(base)
        server = NdtServer(hostname=where.hostname or "")
        download: list[Ndt7Message] = []
        upload: list[Ndt7Message] = []
        failure = None
        if base == LOCATE:
            failure = unknown("the M-Lab locate service is not supported: give --endpoint server=")
        for test, messages in (("download", download), ("upload", upload)):
            if failure is not None:
                break
            failure = await self._subtest(ctx, where, test, messages)  # type: ignore[arg-type]
        return NdtKeys(
            download=download,
            failure=failure,
            protocol=7,
            server=server,
            summary=_summary(download, upload),
            upload=upload,
        )

    async def _subtest(
        self,
        ctx: Context,
        where: SplitResult,
        test: Literal["download", "upload"],
        messages: list[Ndt7Message],
    ) -> str | None:
        """Run one subtest, its samples into `messages`; the failure when it cannot open."""
        path = DOWNLOAD_PATH if test == "download" else UPLOAD_PATH
        channel: _Channel | None = None
        with map_failures() as caught:
            try:
                async with asyncio.timeout(ctx.settings.http_timeout):
                    channel = await _open(ctx, where, path)
            except _Failed as failed:
                return str(failed)
            except wsproto.utilities.RemoteProtocolError:
                return unknown("not a WebSocket upgrade (RemoteProtocolError)")
        if channel is None:
            return caught.failure or Failure.GENERIC_TIMEOUT
        samples = _Samples(test, ctx.clock, ctx.clock(), messages)
        with map_failures():  # a subtest cut short keeps its samples (probe-cli ndt7.go)
            try:
                async with asyncio.timeout(self.duration + GRACE):
                    if test == "download":
                        await self._receive(channel, samples)
                    else:
                        await self._send(channel, samples)
            except wsproto.utilities.ProtocolError:
                pass
        channel.connection.close()
        return None

    async def _receive(self, channel: _Channel, samples: _Samples) -> None:
        text: list[str] = []
        while samples.count < self.max_bytes:
            found = await channel.events()
            if not found:
                break  # the server closed the stream
            for event in found:
                if isinstance(event, ws.BytesMessage):
                    samples.count += len(event.data)
                elif isinstance(event, ws.TextMessage):
                    text.append(event.data)
                    if event.message_finished:
                        samples.server("".join(text))
                        text.clear()
                elif isinstance(event, ws.Ping):
                    channel.send(event.response())
                elif isinstance(event, ws.CloseConnection):
                    samples.sample(channel, force=True)
                    channel.send(event.response())
                    return
            samples.sample(channel)
            if not samples.running(self.duration):
                break  # our own bound, whatever the server's
        samples.sample(channel, force=True)
        channel.send(ws.CloseConnection(code=1000))

    async def _send(self, channel: _Channel, samples: _Samples) -> None:
        async def read() -> None:
            text: list[str] = []
            while found := await channel.events():
                for event in found:
                    if isinstance(event, ws.TextMessage):
                        text.append(event.data)
                        if event.message_finished:
                            samples.server("".join(text))
                            text.clear()
                    elif isinstance(event, ws.Ping):
                        channel.send(event.response())
                    elif isinstance(event, ws.CloseConnection):
                        return

        reader = asyncio.create_task(read())
        payload, size = os.urandom(MAX_MESSAGE), MIN_MESSAGE
        try:
            while samples.running(self.duration) and samples.count < self.max_bytes:
                if reader.done():
                    break  # the server closed: what was sent is the measurement
                chunk = min(size, self.max_bytes - samples.count)
                channel.send(ws.BytesMessage(data=payload[:chunk]))
                await channel.connection.writer.drain()
                samples.count += chunk
                samples.sample(channel)
                if size < MAX_MESSAGE and size < samples.count // 16:
                    size *= 2
            samples.sample(channel, force=True)
            if not reader.done():
                channel.send(ws.CloseConnection(code=1000))
                await channel.connection.writer.drain()
                await asyncio.wait_for(reader, GRACE)
        finally:
            reader.cancel()


async def _open(ctx: Context, where: SplitResult, path: str) -> _Channel:
    """TCP (and TLS) to the server, then the upgrade; _Failed when a step failed (a name
    that does not resolve raises the resolver's error, map_failures names it)."""
    host, secure = where.hostname or "", where.scheme in ("https", "wss")
    port = where.port or (443 if secure else 80)
    ips = [host] if parse_ip(host) else await ctx.backend.resolve(host)
    connection, record = await connect_tcp(
        ctx.backend, ips[0], port, timeout=ctx.settings.connect_timeout, clock=ctx.clock
    )
    if connection is None:
        raise _Failed(record.status.failure or Failure.GENERIC_TIMEOUT)
    if secure:
        context = tls_context(ctx.settings.ca_file)
        connection, handshake = await tls_handshake(
            connection, host, context, timeout=ctx.settings.tls_timeout, clock=ctx.clock
        )
        if connection is None:
            raise _Failed(handshake.failure or Failure.SSL_FAILED_HANDSHAKE)
    channel = _Channel(connection, wsproto.WSConnection(wsproto.ConnectionType.CLIENT))
    authority = host if where.port is None else join_host_port(host, port)
    channel.send(ws.Request(host=authority, target=path, subprotocols=[SUBPROTOCOL]))
    while True:
        found = await channel.events()
        for n, event in enumerate(found):
            if isinstance(event, ws.AcceptConnection):
                if event.subprotocol != SUBPROTOCOL:
                    connection.close()
                    raise _Failed(unknown("the server did not select the ndt7 subprotocol"))
                channel.pending = found[n + 1 :]
                return channel
            if isinstance(event, ws.RejectConnection):
                connection.close()
                raise _Failed(Failure.HTTP_UNEXPECTED_STATUS_CODE)


def _summary(download: list[Ndt7Message], upload: list[Ndt7Message]) -> NdtSummary:
    down = _Samples("download", lambda: 0.0, 0.0, download)
    up = _Samples("upload", lambda: 0.0, 0.0, upload)
    infos = [m.tcp_info for m in download if m.origin == "client" and m.tcp_info is not None]
    rtts = [i.RTT / 1e3 for i in infos if i.RTT]
    last = infos[-1] if infos else None
    sent = [m.tcp_info for m in upload if m.origin == "client" and m.tcp_info is not None]
    final = sent[-1] if sent else None
    min_rtt = (last.MinRTT or 0) / 1e3 if last else 0.0
    retransmit = 0.0
    if final is not None and final.BytesSent:
        retransmit = (final.BytesRetrans or 0) / final.BytesSent
    return NdtSummary(
        avg_rtt=rtts[-1] if rtts else 0.0,
        download=down.kbps(),
        mss=(last.AdvMSS or 0) if last else 0,
        max_rtt=max(rtts, default=0.0),
        min_rtt=min_rtt,
        ping=min_rtt,
        retransmit_rate=retransmit,
        upload=up.kbps(),
    )


NDT7 = Ndt7()
