"""The ndt probe against our ndt7 server, on loopback: a run, a dead server, the slot limit.

The server is the app `netvigil serve` mounts (testhelper/ndt7.py) under uvicorn, as
netvigil.serving runs it, on 127.0.0.1 port 0; every endpoint is overridden to it. The runs
are bounded by bytes (4 MiB a subtest), so what the samples count is known in advance.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest
import wsproto
import wsproto.events as ws
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from netvigil import serving
from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import analyze
from netvigil.analysis.verdicts import Outcome
from netvigil.listening import listen
from netvigil.net.backend import AsyncioBackend
from netvigil.probe.ndt7 import Ndt7
from netvigil.probe.ndt7_locate import MAX_ANSWER
from netvigil.probe.nettest import Context, Endpoints, Settings
from netvigil.probe.recording import Trace
from netvigil.probe.report import Location, nettest_envelope
from netvigil.records import decode_measurement
from netvigil.records.speed import (
    DOWNLOAD_PATH,
    SUBPROTOCOL,
    UPLOAD_PATH,
    AppInfo,
    Ndt7Message,
    NdtKeys,
    NdtSummary,
    TCPInfo,
    summarise,
)
from netvigil.server import create_app
from netvigil.testhelper.app import create_app as create_helper
from netvigil.testhelper.measure import HelperSettings
from netvigil.testhelper.ndt7 import Slots, SpeedSettings, routes
from tests.probe.keyset import missing_or_different

BYTES = 4 << 20
DEADLINE = 30.0  # seconds: only ends a hung test

# ooni/spec nettests/ts-022-ndt.md, "Example output sample": its test_keys, trimmed by the
# spec itself to one message per list (the key set and types are what is checked).
TS022_KEYS: dict[str, Any] = {
    "download": [
        {
            "AppInfo": {"NumBytes": 1703936, "ElapsedTime": 250466},
            "Origin": "client",
            "Test": "download",
        }
    ],
    "failure": None,
    "protocol": 7,
    "server": {"hostname": "ndt-iupui-mlab1-mil02.measurement-lab.org"},
    "summary": {
        "avg_rtt": 44.282,
        "download": 86735.17865757788,
        "mss": 1460,
        "max_rtt": 80.154,
        "min_rtt": 23.172,
        "ping": 23.172,
        "retransmit_rate": 0.0002913916808191168,
        "upload": 19788.436651446274,
    },
    "upload": [
        {
            "AppInfo": {"NumBytes": 656384, "ElapsedTime": 250563},
            "Origin": "client",
            "Test": "upload",
        }
    ],
}


@asynccontextmanager
async def ndt7_server(slots: Slots, duration: float = 1.0) -> AsyncIterator[int]:
    app = Starlette(routes=routes(SpeedSettings(duration=duration, max_bytes=BYTES), slots))
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    task = asyncio.create_task(serving.serve_here(app, sock, lifespan="off"))
    try:
        await _until_listening(port)
        yield port
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _until_listening(port: int) -> None:
    for _ in range(200):  # bounded: uvicorn starts in milliseconds
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise AssertionError("the server never listened")


def context(port: int, settings: Settings | None = None) -> Context:
    return Context(
        backend=AsyncioBackend(),
        trace=Trace(),
        endpoints=Endpoints.parse([f"server=http://127.0.0.1:{port}/"]),
        settings=settings or Settings(connect_timeout=5, http_timeout=5),
    )


PROBE = Ndt7(duration=1.0, max_bytes=BYTES)


def run(work: Callable[[], Awaitable[Any]]) -> Any:
    async def bounded() -> Any:
        async with asyncio.timeout(DEADLINE):
            return await work()

    return asyncio.run(bounded())


def test_a_run_against_our_server_measures_both_ways_and_counts_its_samples() -> None:
    slots = Slots(limit=2)

    async def work() -> NdtKeys:
        async with ndt7_server(slots) as port:
            return await PROBE.measure(None, context(port))

    keys = run(work)
    assert keys.failure is None
    assert keys.summary is not None
    assert keys.summary.download > 0 and keys.summary.upload > 0
    assert (slots.served, slots.refused, slots.running) == (2, 0, 0)
    # Both subtests stop at 4 MiB: the client's last sample counts exactly that.
    down = [m for m in keys.download or [] if m.origin == "client" and m.app_info]
    up = [m for m in keys.upload or [] if m.origin == "client" and m.app_info]
    assert down and up
    assert [down[-1].app_info.NumBytes, up[-1].app_info.NumBytes] == [BYTES, BYTES]
    # The server's own measurements: at least its first and its last during the download.
    served = [m for m in keys.download or [] if m.origin == "server"]
    assert len(served) >= 2 and served[-1].app_info is not None
    assert served[-1].app_info.NumBytes == BYTES
    if hasattr(socket, "TCP_INFO"):  # Linux: the kernel's RTT of our own end
        assert keys.summary.min_rtt > 0


def test_our_measurement_has_every_key_of_the_spec_example_and_reads_as_ok() -> None:
    async def work() -> NdtKeys:
        async with ndt7_server(Slots(limit=2)) as port:
            return await PROBE.measure(None, context(port))

    keys = run(work)
    ours = msgspec.to_builtins(keys)
    assert missing_or_different(TS022_KEYS, ours) == []
    started = dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC)
    measurement = nettest_envelope(
        "ndt",
        PROBE.version,
        None,
        keys,
        location=Location(probe_cc="IT", probe_asn="AS30722", probe_network_name="Vodafone"),
        report="20261201T200000Z_ndt_IT_30722_n1_abc",
        started=started,
        test_started=started,
        runtime=2.0,
    )
    verdict = analyze(decode_measurement(msgspec.json.encode(measurement)), FingerprintDB([], []))
    assert (verdict.outcome, verdict.rule) == (Outcome.OK, "ndt.completed")


async def _dead_server(answer: Callable[[asyncio.StreamWriter], Awaitable[None]]) -> int:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")  # the whole upgrade request, so a close is a FIN
        await answer(writer)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return int(server.sockets[0].getsockname()[1])


def test_a_server_that_closes_at_once_is_a_failure_and_insufficient() -> None:
    async def close(writer: asyncio.StreamWriter) -> None:
        writer.close()

    async def work() -> NdtKeys:
        return await PROBE.measure(None, context(await _dead_server(close)))

    keys = run(work)
    assert (keys.failure, keys.download, keys.upload) == ("eof_error", [], [])


def test_a_blackholed_endpoint_times_out() -> None:
    async def never(writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(DEADLINE)

    async def work() -> NdtKeys:
        port = await _dead_server(never)
        return await PROBE.measure(None, context(port, Settings(http_timeout=0.5)))

    assert run(work).failure == "generic_timeout_error"


def test_a_closed_port_is_refused() -> None:
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now

    async def work() -> NdtKeys:
        return await PROBE.measure(None, context(port))

    assert run(work).failure == "connection_refused"


async def _hold_a_slot(port: int) -> asyncio.StreamWriter:
    """An ndt7 download opened and never read: the server stalls on it, holding its slot."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    client = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    host = f"127.0.0.1:{port}"
    writer.write(
        client.send(ws.Request(host=host, target=DOWNLOAD_PATH, subprotocols=[SUBPROTOCOL]))
    )
    while True:
        client.receive_data(await reader.read(1 << 12))
        if any(isinstance(e, ws.AcceptConnection) for e in client.events()):
            return writer


def test_the_slot_limit_refuses_one_client_beyond_it_and_counts_it() -> None:
    slots = Slots(limit=2)

    async def work() -> tuple[NdtKeys, NdtKeys]:
        async with ndt7_server(slots, duration=20.0) as port:
            holders = [await _hold_a_slot(port) for _ in range(slots.limit)]
            refused = await PROBE.measure(None, context(port))
            for holder in holders:
                holder.transport.abort()
            for _ in range(200):  # bounded: the server notices the resets at its next write
                if slots.running == 0:
                    break
                await asyncio.sleep(0.05)
            return refused, await PROBE.measure(None, context(port))

    refused, after = run(work)
    assert refused.failure == "http_unexpected_status_code"
    assert after.failure is None
    assert (slots.refused, slots.running) == (1, 0)


def test_the_summary_is_computed_as_ooni_computes_it_by_hand() -> None:
    def client(test: str, count: int, elapsed: int, **tcp: int) -> Ndt7Message:
        return Ndt7Message(
            app_info=AppInfo(ElapsedTime=elapsed, NumBytes=count),
            origin="client",
            test=test,
            tcp_info=TCPInfo(ElapsedTime=elapsed, **tcp),
        )

    download = [
        client("download", 1_000_000, 500_000, RTT=30_000, MinRTT=20_000, AdvMSS=1460),
        client("download", 2_500_000, 1_000_000, RTT=50_000, MinRTT=20_000, AdvMSS=1460),
        client("download", 5_000_000, 2_000_000, RTT=40_000, MinRTT=19_000, AdvMSS=1448),
    ]
    upload = [client("upload", 1_000_000, 1_000_000, BytesSent=1_000_000, BytesRetrans=2_500)]
    assert summarise(download, upload) == NdtSummary(
        avg_rtt=40.0,  # the last smoothed RTT, ms
        download=20_000.0,  # 5,000,000 B × 8 / 2 s = 20,000 kbit/s
        mss=1448,
        max_rtt=50.0,
        min_rtt=19.0,
        ping=19.0,
        retransmit_rate=0.0025,
        upload=8_000.0,  # 1,000,000 B × 8 / 1 s
    )


def test_th_serve_hosts_the_ndt7_routes_and_serve_mounts_them_at_the_root(tmp_path: Path) -> None:
    helper = create_helper(AsyncioBackend(), HelperSettings())  # `th serve`'s app, as it runs

    async def work() -> NdtKeys:
        sock = listen("127.0.0.1", 0)
        port = sock.getsockname()[1]
        task = asyncio.create_task(serving.serve_here(helper, sock, lifespan="off"))
        try:
            await _until_listening(port)
            return await PROBE.measure(None, context(port))
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    keys = run(work)
    assert keys.failure is None and keys.summary is not None and keys.summary.upload > 0
    served = create_app(tmp_path)  # `netvigil serve`'s app, built, not started
    sockets = {r.path for r in served.routes if isinstance(r, WebSocketRoute)}
    assert sockets == {DOWNLOAD_PATH, UPLOAD_PATH}


def test_a_hostile_servers_text_is_never_recorded() -> None:
    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept(subprotocol=SUBPROTOCOL)
        await websocket.send_text("x" * (1 << 20))  # past the text limit: dropped
        await websocket.send_text("your address is 192.0.2.7")  # not a measurement: ignored
        measurement = {"AppInfo": {"NumBytes": 5, "ElapsedTime": 1}, "Origin": "192.0.2.7"}
        await websocket.send_text(json.dumps(measurement))  # kept, its Origin ours to say
        await websocket.send_bytes(bytes(1000))
        await websocket.close()

    app = Starlette(routes=[WebSocketRoute(p, endpoint) for p in (DOWNLOAD_PATH, UPLOAD_PATH)])

    async def work() -> NdtKeys:
        sock = listen("127.0.0.1", 0)
        port = sock.getsockname()[1]
        task = asyncio.create_task(serving.serve_here(app, sock, lifespan="off"))
        try:
            await _until_listening(port)
            return await PROBE.measure(None, context(port))
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    keys = run(work)
    encoded = msgspec.json.encode(keys)
    assert b"192.0.2.7" not in encoded and b"xxxx" not in encoded
    served = [m for m in keys.download or [] if m.origin == "server"]
    assert [(m.test, m.app_info) for m in served] == [
        ("download", AppInfo(NumBytes=5, ElapsedTime=1))
    ]
    counted = [
        m.app_info.NumBytes for m in keys.download or [] if m.app_info and m.origin == "client"
    ]
    assert counted[-1] == 1000


# --- M-Lab's locate service (probe/ndt7_locate.py), hosted on loopback ---


@asynccontextmanager
async def locate_server(status: int, body: bytes, seen: list[bytes]) -> AsyncIterator[int]:
    """A tiny locate service: each request's head goes into `seen`, every answer is the same."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()


def answer(port: int, scheme: str = "ws", machine: str = "mlab1-lga03.mlab-oti.example") -> bytes:
    base = f"{scheme}://127.0.0.1:{port}"
    urls = {
        f"{scheme}://{DOWNLOAD_PATH}": f"{base}{DOWNLOAD_PATH}?access_token=d0wn",
        f"{scheme}://{UPLOAD_PATH}": f"{base}{UPLOAD_PATH}?access_token=up",
    }
    return json.dumps({"results": [{"machine": machine, "urls": urls}]}).encode()


def located(locate_port: int, settings: Settings | None = None) -> Context:
    return Context(
        backend=AsyncioBackend(),
        trace=Trace(),
        endpoints=Endpoints.parse([f"locate=http://127.0.0.1:{locate_port}/v2/nearest/ndt/ndt7"]),
        settings=settings or Settings(connect_timeout=5, http_timeout=5),
    )


def test_without_a_server_the_locate_service_names_one_and_both_subtests_run() -> None:
    seen: list[bytes] = []

    async def work() -> NdtKeys:
        async with (
            ndt7_server(Slots(2)) as ndt_port,
            locate_server(200, answer(ndt_port), seen) as port,
        ):
            return await PROBE.measure(None, located(port))

    keys = run(work)
    assert keys.failure is None
    assert keys.server is not None
    assert (keys.server.hostname, keys.server.site) == ("127.0.0.1", "lga03")
    assert keys.download and keys.upload  # both subtests measured, against the located server
    assert len(seen) == 1 and seen[0].startswith(b"GET /v2/nearest/ndt/ndt7 HTTP/1.1\r\n")


def test_the_located_token_is_sent_with_each_upgrade() -> None:
    upgrades: list[bytes] = []

    async def work() -> NdtKeys:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            upgrades.append(await reader.readuntil(b"\r\n\r\n"))
            writer.close()

        ndt = await asyncio.start_server(handle, "127.0.0.1", 0)
        ndt_port = int(ndt.sockets[0].getsockname()[1])
        async with locate_server(200, answer(ndt_port), []) as port:
            return await PROBE.measure(None, located(port))

    keys = run(work)
    assert keys.failure == "eof_error"  # the fake server closes: the download never opens
    assert len(upgrades) == 1
    assert upgrades[0].startswith(b"GET /ndt/v7/download?access_token=d0wn HTTP/1.1\r\n")


def closed_port() -> int:
    sock = listen("127.0.0.1", 0)
    port = int(sock.getsockname()[1])
    sock.close()  # nothing listens there now
    return port


def test_secure_urls_are_preferred_to_plain_ones() -> None:
    seen_plain: list[bytes] = []

    async def work() -> NdtKeys:
        async with locate_server(200, b"", seen_plain) as plain:
            both = json.loads(answer(closed_port(), "wss"))
            both["results"][0]["urls"].update(json.loads(answer(plain, "ws"))["results"][0]["urls"])
            async with locate_server(200, json.dumps(both).encode(), []) as port:
                return await PROBE.measure(None, located(port))

    keys = run(work)
    # The wss URLs' port has no listener: refused there, and the plain server never asked.
    assert keys.failure == "connection_refused"
    assert seen_plain == []


@pytest.mark.parametrize(
    ("status", "body", "failure"),
    [
        (500, b"{}", "http_unexpected_status_code"),
        (
            200,
            b"<html>not json</html>",
            "unknown_failure: the locate answer is not a locate answer",
        ),
        (200, b'{"results": []}', "unknown_failure: the locate service named no ndt7 server"),
        (
            200,
            b'{"results": [{"urls": {"wss:///ndt/v7/download": "wss://x/"}}]}',
            "unknown_failure: the locate service named no ndt7 server",
        ),
        (200, b'{"results": "many"}', "unknown_failure: the locate answer is not a locate answer"),
        (
            200,
            b" " * (MAX_ANSWER + 1),
            "unknown_failure: the locate answer is larger than a locate answer can be",
        ),
    ],
)
def test_a_locate_answer_that_names_no_server_is_the_failure(
    status: int, body: bytes, failure: str
) -> None:
    async def work() -> NdtKeys:
        async with locate_server(status, body, []) as port:
            return await PROBE.measure(None, located(port))

    keys = run(work)
    assert keys.failure == failure
    assert (keys.download, keys.upload) == (None, None)  # nothing else was measured


def test_a_dead_locate_service_is_the_failure() -> None:
    async def work() -> NdtKeys:
        return await PROBE.measure(None, located(closed_port()))

    assert run(work).failure == "connection_refused"
