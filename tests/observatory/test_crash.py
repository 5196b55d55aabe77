"""Crash test: the server is killed (SIGKILL) again and again while a client submits.

Every measurement the collector acknowledged must be in the archive afterwards, exactly
once; replays of acknowledged measurements (1–5 times, concurrently) must create no
duplicate. The test counts events, not seconds: a fixed number of kill cycles, each after
a random number of acknowledged submissions, or none (killed as soon as it answers, while
the pipeline catches up). Its time bounds only end a hung run; a slow machine passes.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from netvigil.observatory.archive import Archive
from tests.corpus import qa_files
from tests.observatory.running import start_server, wait_ready
from tests.probe.world import free_port

KILLS = 12  # kill -9 cycles (at least 10)
ACKS_PER_CYCLE = (5, 20)  # acknowledged submissions between a start and its kill
RIGHT_AWAY = 4  # every 4th cycle kills it as soon as it answers, while the pipeline catches up
HANG = 300.0  # seconds: a bound that only ends a hung run, never a speed expectation
MARK = "NETVIGIL_TEST_MARK"


class Server:
    def __init__(self, data: Path) -> None:
        self.data, self.port = data, free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.marker = f"crash-test-{uuid.uuid4().hex}"

    def start(self) -> None:
        self.process = start_server(self.data, self.port, env={**os.environ, MARK: self.marker})
        wait_ready(self.url, seconds=HANG)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


def wait_until(condition: Callable[[], bool], what: str, every: float = 0.02) -> None:
    deadline = time.monotonic() + HANG
    while not condition():
        assert time.monotonic() < deadline, f"hung: {what}"
        time.sleep(every)


def test_acknowledged_measurements_survive_kill_9_exactly_once(tmp_path: Path) -> None:
    server = Server(tmp_path / "observatory")
    server.start()
    report = httpx.post(
        f"{server.url}/report",
        json={"probe_cc": "IT", "probe_asn": "AS137", "test_name": "web_connectivity"},
    ).json()["report_id"]
    seeds = [json.loads(p.read_text()) for p in qa_files()]
    acked: dict[int, str] = {}
    errors: list[str] = []  # a failed check in a thread, reported by the test
    lock = threading.Lock()
    stop = threading.Event()

    def content(n: int) -> dict[str, object]:
        body = dict(seeds[n % len(seeds)])
        body["annotations"] = {**body.get("annotations", {}), "sequence": str(n)}
        return body

    def send(n: int) -> str | None:
        try:
            response = httpx.post(
                f"{server.url}/report/{report}",
                json={"format": "json", "content": content(n)},
                timeout=30,
            )
        except httpx.HTTPError:
            return None
        return str(response.json()["measurement_uid"]) if response.status_code == 200 else None

    def client() -> None:
        n = 0
        while not stop.is_set():
            uid = send(n)
            if uid is None:
                time.sleep(0.05)  # the server is down: retry the same measurement
                continue
            with lock:
                if acked.setdefault(n, uid) != uid:
                    errors.append(f"measurement {n} got uid {uid}, then {acked[n]}")
            n += 1

    def replayer() -> None:
        rng = random.Random(7)
        with ThreadPoolExecutor(4) as pool:
            while not stop.is_set():
                with lock:
                    done = list(acked.items())
                if not done:
                    time.sleep(0.1)
                    continue
                n, uid = rng.choice(done)
                results = list(pool.map(send, [n] * rng.randint(1, 5)))
                if not all(r in (None, uid) for r in results):
                    errors.append(f"replays of {n} ({uid}) answered {results}")

    def acknowledged(count: int) -> Callable[[], bool]:
        return lambda: len(acked) >= count

    threads = [threading.Thread(target=client), threading.Thread(target=replayer)]
    for thread in threads:
        thread.start()
    rng = random.Random(1)
    kills = wanted = 0
    try:
        for cycle in range(KILLS):
            more = 0 if cycle % RIGHT_AWAY == 0 else rng.randint(*ACKS_PER_CYCLE)
            wanted = len(acked) + more
            wait_until(acknowledged(wanted), f"{wanted} acknowledged submissions")
            server.kill()
            kills += 1
            server.start()
    finally:
        stop.set()
        for thread in threads:
            thread.join(HANG)
        server.kill()
    assert not any(thread.is_alive() for thread in threads), "a client thread hung"
    assert not errors, errors[:5]
    assert kills == KILLS and len(acked) >= wanted > 100, (kills, len(acked))
    stored = list(Archive(tmp_path / "observatory" / "archive").all())
    keys = Counter(s.key for s in stored)
    assert max(keys.values()) == 1, "a measurement was stored twice"
    uids = {s.uid for s in stored}
    missing = [n for n, uid in acked.items() if uid not in uids]
    assert not missing, f"acknowledged but lost: {missing[:10]}"
    assert os.listdir(tmp_path / "observatory" / "archive")

    # The pipeline was killed as often, in its worker process, mid-step or mid-compaction:
    # once restarted it still ends with one row per stored measurement.
    server.start()
    try:

        def one_row_each() -> bool:
            body = httpx.get(f"{server.url}/api/v1/aggregation", timeout=30).json()
            return bool(body["result"]["measurement_count"] == len(uids))

        wait_until(one_row_each, f"one table row per stored measurement ({len(uids)})", 0.5)
    finally:
        server.kill()
    # And no worker outlived its server.
    wait_until(lambda: not marked(server.marker), "a worker outlived its killed server", 0.2)


def marked(marker: str) -> list[int]:
    """Processes carrying the marker in their environment (the server and its workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found
