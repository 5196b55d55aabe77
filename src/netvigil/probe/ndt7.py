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

Endpoints: `server`, an ndt7 server's base URL (ours: `netvigil serve` or `th serve`); without
it, the one M-Lab's locate service names (`locate`, OONI's default; probe/ndt7_locate.py). A
failed locate is the measurement's `failure`, and nothing else is measured.
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

from netvigil.failures import Failure, unknown
from netvigil.net.errors import map_failures
from netvigil.probe.ndt7_locate import LOCATE, LocateFailed, locate, target_of
from netvigil.probe.nettest import Context, Endpoints
from netvigil.probe.tcpinfo import tcp_info
from netvigil.probe.websocket import Channel, OpenFailed, open_channel
from netvigil.records.speed import (
    DOWNLOAD_PATH,
    SUBPROTOCOL,
    UPLOAD_PATH,
    AppInfo,
    Ndt7Message,
    NdtKeys,
    NdtServer,
    summarise,
)

INTERVAL = 0.25  # seconds between samples (probe-cli param.go)
MIN_MESSAGE, MAX_MESSAGE = 1 << 13, 1 << 20
MAX_TEXT = 1 << 17  # a measurement message is small; the spec's smallest message limit
GRACE = 5.0  # seconds past `duration` a download may run (the spec's 15 s for 10)


@dataclass
class _Samples:
    test: Literal["download", "upload"]
    clock: Callable[[], float]
    started: float
    messages: list[Ndt7Message]
    count: int = 0
    due: float = 0.0
    text: list[str] = field(default_factory=list)  # a text message's frames so far

    def sample(self, channel: Channel, *, force: bool = False) -> None:
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

    def control(self, channel: Channel, event: ws.Event) -> None:
        """A text message (the server's measurement, once whole) or a ping."""
        if isinstance(event, ws.TextMessage):
            self.text.append(event.data)
            if event.message_finished:
                whole = "".join(self.text)
                self.text.clear()
                if len(whole) <= MAX_TEXT:  # a hostile server's endless text is not kept
                    self.server(whole)
            elif sum(map(len, self.text)) > MAX_TEXT:
                self.text = [" " * (MAX_TEXT + 1)]  # over the limit: dropped when it ends
        elif isinstance(event, ws.Ping):
            channel.send(event.response())

    def server(self, text: str) -> None:
        try:
            message = msgspec.json.decode(text, type=Ndt7Message)
        except msgspec.DecodeError:
            return  # not a measurement: ignored, as the spec allows for other messages
        # Origin and Test are ours to say: a server's free text is never recorded.
        self.messages.append(msgspec.structs.replace(message, origin="server", test=self.test))

    def running(self, duration: float) -> bool:
        return self.clock() - self.started < duration


class Ndt7:
    """The nettest; `duration` seconds and `max_bytes` bytes bound each subtest."""

    name = "ndt"
    version = "0.10.1"  # probe-cli ndt7.go testVersion
    input: Literal["none", "required", "optional"] = "none"
    endpoint_help: Mapping[str, str] = {
        "server": "base URL of an ndt7 server, http[s]:// or ws[s]:// (default: the one "
        "the locate service names)",
        "locate": f"M-Lab's locate v2 URL for ndt7 (default {LOCATE})",
    }

    def __init__(self, *, duration: float = 10.0, max_bytes: int = 1 << 30) -> None:
        self.duration, self.max_bytes = duration, max_bytes

    def endpoints(self, endpoints: Endpoints) -> tuple[str | None, str]:
        """The server's base URL (None: ask the locate service) and the locate URL."""
        endpoints.check(self.endpoint_help)
        given = endpoints.urls("server", (), ("http", "https", "ws", "wss"))[:1]
        (locate_url,) = endpoints.urls("locate", (LOCATE,))[:1]
        return (given[0] if given else None), locate_url

    def check_endpoints(self, endpoints: Endpoints) -> None:
        self.endpoints(endpoints)

    async def measure(self, input: str | None, ctx: Context) -> NdtKeys:
        given, locate_url = self.endpoints(ctx.endpoints)
        if given is not None:
            where = urlsplit(given)
            server = NdtServer(hostname=where.hostname or "")
            base = where.path.rstrip("/")
            targets = [(where, base + DOWNLOAD_PATH), (where, base + UPLOAD_PATH)]
        else:
            try:
                found = await locate(ctx, locate_url)
            except LocateFailed as failed:
                return NdtKeys(failure=str(failed), protocol=7, server=NdtServer())
            server = found.server
            targets = [target_of(found.download), target_of(found.upload)]
        download: list[Ndt7Message] = []
        upload: list[Ndt7Message] = []
        failure = await self._subtest(ctx, *targets[0], "download", download)
        if failure is None:
            failure = await self._subtest(ctx, *targets[1], "upload", upload)
        return NdtKeys(
            download=download,
            failure=failure,
            protocol=7,
            server=server,
            summary=summarise(download, upload),
            upload=upload,
        )

    async def _subtest(
        self,
        ctx: Context,
        where: SplitResult,
        path: str,
        test: Literal["download", "upload"],
        messages: list[Ndt7Message],
    ) -> str | None:
        """Run one subtest on `path` (with the locate token's query), its samples into
        `messages`; the failure when it cannot open."""
        channel: Channel | None = None
        with map_failures() as caught:
            try:
                async with asyncio.timeout(ctx.settings.http_timeout):
                    channel = await open_channel(ctx, where, path, SUBPROTOCOL)
            except OpenFailed as failed:
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

    async def _receive(self, channel: Channel, samples: _Samples) -> None:
        while samples.count < self.max_bytes:
            found = await channel.events()
            if not found:
                break  # the server closed the stream
            for event in found:
                if isinstance(event, ws.BytesMessage):
                    samples.count += len(event.data)
                elif isinstance(event, ws.CloseConnection):
                    samples.sample(channel, force=True)
                    channel.send(event.response())
                    return
                samples.control(channel, event)
            samples.sample(channel)
            if not samples.running(self.duration):
                break  # our own bound, whatever the server's
        samples.sample(channel, force=True)
        channel.send(ws.CloseConnection(code=1000))

    async def _send(self, channel: Channel, samples: _Samples) -> None:
        async def read() -> None:
            while found := await channel.events():
                for event in found:
                    if isinstance(event, ws.CloseConnection):
                        return
                    samples.control(channel, event)

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


NDT7 = Ndt7()
