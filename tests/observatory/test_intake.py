"""Slow clients: 300 uploads trickling their bodies hold nothing the others need.

A real `netvigil serve`; real sockets on loopback. The tricklers send their headers and then
a byte a second; 100 more trickle their headers instead (slowloris); normal probes keep
submitting meanwhile. Bounded: 400 tricklers, 30 s.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx

from tests.corpus import qa_files
from tests.observatory.running import start_server, wait_ready
from tests.probe.world import free_port

TRICKLERS = 300
HEAD_TRICKLERS = 100
DURATION = 30.0  # seconds of trickling; the body deadline is 20 s (intake.BODY_TIMEOUT)
# and the head deadline 10 s (serving.HEAD_TIMEOUT)


async def _trickle(port: int, report: str, stop: asyncio.Event, ends: Counter[str]) -> None:
    """One slow upload after another until `stop`; how each ended goes into `ends`."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            ends["refused"] += 1
            await asyncio.sleep(1)
            continue
        writer.write(
            f"POST /report/{report} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
            "application/json\r\nContent-Length: 100000\r\n\r\n{".encode()
        )
        try:
            while not stop.is_set():
                writer.write(b" ")
                await writer.drain()
                try:
                    answer = await asyncio.wait_for(reader.read(200), timeout=1.0)
                except TimeoutError:
                    continue  # still reading our body: one more byte
                ends[answer.split(b" ")[1].decode() if answer else "closed"] += 1
                break
        except OSError:  # ConnectionResetError included
            ends["reset"] += 1
        finally:
            writer.close()


async def _trickle_head(port: int, stop: asyncio.Event, ends: Counter[str]) -> None:
    """Connections whose request head never ends: a header byte a second."""
    while not stop.is_set():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /report/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        try:
            while not stop.is_set():
                writer.write(b"a")
                await writer.drain()
                try:
                    answer = await asyncio.wait_for(reader.read(200), timeout=1.0)
                except TimeoutError:
                    continue
                ends["closed" if not answer else "answered"] += 1
                break
        except OSError:
            ends["reset"] += 1
        finally:
            writer.close()


async def _normal(url: str, report: str, stop: asyncio.Event, statuses: Counter[int]) -> None:
    seed = json.loads(qa_files()[0].read_text())
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        n = 0
        while not stop.is_set():
            n += 1
            content = {**seed, "annotations": {"sequence": str(n)}}
            answer = await client.post(
                f"/report/{report}", json={"format": "json", "content": content}
            )
            statuses[answer.status_code] += 1
            await asyncio.sleep(0.1)


def test_trickling_uploads_hold_no_slot_get_408_and_log_no_traceback(tmp_path: Path) -> None:
    data, port = tmp_path / "observatory", free_port()
    server = start_server(data, port, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    ends: Counter[str] = Counter()
    heads: Counter[str] = Counter()
    statuses: Counter[int] = Counter()

    async def attack(report: str) -> None:
        stop = asyncio.Event()
        tricklers = [
            asyncio.create_task(_trickle(port, report, stop, ends)) for _ in range(TRICKLERS)
        ]
        tricklers += [
            asyncio.create_task(_trickle_head(port, stop, heads)) for _ in range(HEAD_TRICKLERS)
        ]
        await asyncio.sleep(2)  # every trickler has sent its headers and holds its request
        normal = asyncio.create_task(_normal(url, report, stop, statuses))
        await asyncio.sleep(DURATION - 2)
        stop.set()
        await asyncio.gather(normal, *tricklers)

    try:
        wait_ready(url)
        report = httpx.post(
            f"{url}/report",
            json={"probe_cc": "IT", "probe_asn": "AS137", "test_name": "web_connectivity"},
        ).json()["report_id"]
        started = time.monotonic()
        asyncio.run(attack(report))
        assert time.monotonic() - started < DURATION + 30  # bounded, whatever happens
    finally:
        server.terminate()
        logs = server.communicate(timeout=30)[0].decode()
    assert statuses[200] >= 20 and set(statuses) == {200}, statuses  # no 503, no 5xx at all
    assert ends["408"] >= TRICKLERS, ends  # every first trickle was cut off (20 s < 30 s)
    assert set(ends) <= {"408", "closed", "reset"}, ends  # never a slot, never a 503
    assert heads["closed"] + heads["reset"] >= HEAD_TRICKLERS and not heads["answered"], heads
    assert "Traceback" not in logs, logs[-3000:]
    assert len(logs.splitlines()) <= 3, logs[-3000:]  # the start-up line; no line per client
