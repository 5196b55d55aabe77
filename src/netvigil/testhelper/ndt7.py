"""Our ndt7 server: `/ndt/v7/download` and `/ndt/v7/upload`, as Starlette WebSocket routes.

The protocol is M-Lab's (m-lab/ndt-server spec/ndt7-protocol.md): a WebSocket upgrade with
the subprotocol `net.measurementlab.ndt.v7` (400 without it), then, strictly half duplex for
binary messages, the sender fills the channel with random binary messages and, every 250 ms
at most, a textual JSON measurement message (`AppInfo` {ElapsedTime µs, NumBytes}, `Origin`,
`Test`); when the time is up the sender closes with a Close frame. During the upload the
server, as the spec allows, sends the client what it received, the receiver's view of the
upload speed.

Bounded where M-Lab's is not: a test lasts at most `duration` seconds (the spec's 10 s by
default; the tests use about one) *and* at most `max_bytes` bytes, and at most `slots` tests
run at once: beyond that the upgrade is refused with 503, a `Retry-After` and the reason, so
one client cannot starve the others (uvicorn's connection limit still bounds sockets). The
random payload is drawn once per server: only its size matters to the measurement.

TCPInfo: M-Lab's server reads its socket's TCP_INFO; ASGI does not hand an app its socket, so
ours sends AppInfo only (TCPInfo is optional, ts-022) and the client reads the kernel's view
of its own end (probe/ndt7.py). Nothing here reads, logs or stores the client's address
(uvicorn's WebSocket protocol logs it at INFO on accept: netvigil.serving runs at WARNING).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import msgspec
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from uvicorn.protocols.utils import ClientDisconnected

from netvigil.records.speed import (
    DOWNLOAD_PATH,
    SUBPROTOCOL,
    UPLOAD_PATH,
    AppInfo,
    Ndt7Message,
)

MIN_MESSAGE = 1 << 13  # the first binary message; doubled while under 1/16 of what was sent
MAX_MESSAGE = 1 << 20  # probe-cli ndt7 param.go's largest scaled message
GRACE = 5.0  # seconds past `duration` a receiver waits (the spec's 15 s for its 10)


@dataclass(frozen=True)
class SpeedSettings:
    duration: float = 10.0  # seconds a subtest lasts (ndt7-protocol.md)
    max_bytes: int = 1 << 30  # and the most it moves
    slots: int = 4  # tests at once
    interval: float = 0.25  # between measurement messages (the spec's floor)


@dataclass
class Slots:
    """How many tests run; `refused` counts the upgrades turned away."""

    limit: int
    running: int = 0
    refused: int = 0
    served: int = 0

    def take(self) -> bool:
        if self.running >= self.limit:
            self.refused += 1
            return False
        self.running += 1
        return True

    def give_back(self) -> None:
        self.running -= 1
        self.served += 1


def _measurement(test: str, started: float, now: float, count: int) -> str:
    message = Ndt7Message(
        app_info=AppInfo(ElapsedTime=int((now - started) * 1e6), NumBytes=count),
        origin="server",
        test=test,
    )
    return msgspec.json.encode(message).decode()


def routes(settings: SpeedSettings | None = None, slots: Slots | None = None) -> list[BaseRoute]:
    """The two ndt7 routes over one pool of `settings.slots` slots."""
    config = settings or SpeedSettings()
    pool = slots or Slots(limit=config.slots)
    payload = os.urandom(MAX_MESSAGE)

    def guarded(
        test: Callable[[WebSocket, SpeedSettings, bytes], Awaitable[None]],
    ) -> Callable[[WebSocket], Awaitable[None]]:
        async def endpoint(websocket: WebSocket) -> None:
            if SUBPROTOCOL not in websocket.scope.get("subprotocols", []):
                reason = f"the ndt7 subprotocol {SUBPROTOCOL} is required"
                await websocket.send_denial_response(JSONResponse({"error": reason}, 400))
                return
            if not pool.take():
                reason = f"all {pool.limit} speed-test slots are in use; try again later"
                refusal = JSONResponse({"error": reason}, 503, headers={"Retry-After": "10"})
                await websocket.send_denial_response(refusal)
                return
            try:
                await websocket.accept(subprotocol=SUBPROTOCOL)
                await test(websocket, config, payload)
                await websocket.close(1000)
            except (WebSocketDisconnect, ClientDisconnected, RuntimeError):
                pass  # the client went away (RuntimeError: Starlette's "already closed")
            finally:
                pool.give_back()

        return endpoint

    return [
        WebSocketRoute(DOWNLOAD_PATH, guarded(_download)),
        WebSocketRoute(UPLOAD_PATH, guarded(_upload)),
    ]


async def _download(websocket: WebSocket, settings: SpeedSettings, payload: bytes) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    sent, size, due = 0, MIN_MESSAGE, started
    while (now := loop.time()) - started < settings.duration and sent < settings.max_bytes:
        if now >= due:
            await websocket.send_text(_measurement("download", started, now, sent))
            due = now + settings.interval
        chunk = min(size, settings.max_bytes - sent)
        await websocket.send_bytes(payload[:chunk])
        sent += chunk
        if size < MAX_MESSAGE and size < sent // 16:
            size *= 2
    await websocket.send_text(_measurement("download", started, loop.time(), sent))


async def _upload(websocket: WebSocket, settings: SpeedSettings, payload: bytes) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    received, due = 0, started + settings.interval
    deadline = started + settings.duration + GRACE
    while received < settings.max_bytes:
        try:
            async with asyncio.timeout_at(min(deadline, due)):
                message = await websocket.receive()
        except TimeoutError:
            if loop.time() >= deadline:
                return
            message = None
        now = loop.time()
        if message is not None:
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            received += len(message.get("bytes") or b"")
            if now - started >= settings.duration:
                return
        if now >= due:
            await websocket.send_text(_measurement("upload", started, now, received))
            due = now + settings.interval
