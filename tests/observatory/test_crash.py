"""Crash test: the server is killed (SIGKILL) every few seconds while a client submits.

Every measurement the collector acknowledged must be in the archive afterwards, exactly
once; replays of acknowledged measurements (1–5 times, concurrently) must create no
duplicate. The run is bounded: 60 seconds of submissions, then a last clean start.
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from netvigil.observatory.archive import Archive
from tests.corpus import qa_files
from tests.observatory.running import start_server, wait_ready
from tests.probe.world import free_port

DURATION = 60.0
MARK = "NETVIGIL_TEST_MARK"


class Server:
    def __init__(self, data: Path) -> None:
        self.data, self.port = data, free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.marker = f"crash-test-{uuid.uuid4().hex}"

    def start(self) -> None:
        self.process = start_server(self.data, self.port, env={**os.environ, MARK: self.marker})
        wait_ready(self.url)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


def test_acknowledged_measurements_survive_kill_9_exactly_once(tmp_path: Path) -> None:
    server = Server(tmp_path / "observatory")
    server.start()
    report = httpx.post(
        f"{server.url}/report",
        json={"probe_cc": "IT", "probe_asn": "AS137", "test_name": "web_connectivity"},
    ).json()["report_id"]
    seeds = [json.loads(p.read_text()) for p in qa_files()]
    acked: dict[int, str] = {}
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
                timeout=5,
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
                assert acked.setdefault(n, uid) == uid
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
                assert all(r in (None, uid) for r in results), (n, uid, results)

    threads = [threading.Thread(target=client), threading.Thread(target=replayer)]
    for thread in threads:
        thread.start()
    deadline, kills = time.monotonic() + DURATION, 0
    rng = random.Random(1)
    while time.monotonic() < deadline:
        time.sleep(rng.uniform(1.0, 4.0))
        server.kill()
        kills += 1
        server.start()
    stop.set()
    for thread in threads:
        thread.join(30)
    server.kill()
    assert kills >= 10 and len(acked) > 100, (kills, len(acked))
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
        deadline, count = time.monotonic() + 120, -1
        while time.monotonic() < deadline and count != len(uids):
            time.sleep(0.5)
            count = httpx.get(f"{server.url}/api/v1/aggregation").json()["result"][
                "measurement_count"
            ]
        assert count == len(uids)
    finally:
        server.kill()
    # And no worker outlived its server.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and marked(server.marker):
        time.sleep(0.2)
    assert not marked(server.marker), "a pipeline worker outlived its killed server"


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
