"""Collector throughput with fsync on, against the disk's own write+fsync rate.

In the same run, on the same disk:

  (a) baseline: append records of the size of a real measurement to a file, each followed
      by fsync, one after the other (what one durable write per submission costs);
  (b) ours: `netvigil serve` (a separate process) receives the same number of submissions
      from 32 concurrent clients over HTTP; each is acknowledged only once on disk.

Prints submissions/s for both; the last line is `ratio=<float>` = (b) / (a). Targets:
ratio ≥ 0.5 and (b) ≥ 200/s. Group commit is what lets (b) beat (a) under concurrency.

Usage: python bench/collector_bench.py [--count 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "ooni-measurements"


def disk_rate(folder: Path, record: bytes, count: int) -> float:
    path = folder / "baseline.jsonl"
    start = time.perf_counter()
    with open(path, "ab") as handle:
        for _ in range(count):
            handle.write(record)
            handle.flush()
            os.fsync(handle.fileno())
    return count / (time.perf_counter() - start)


async def submit_all(port: int, seed: dict[str, object], count: int, clients: int) -> float:
    """Submissions/s from `clients` keep-alive connections.

    The requests are encoded before the clock starts and the client speaks HTTP/1.1 over
    plain asyncio streams: a full HTTP client library would cost the client more CPU than
    the server spends, and the benchmark would measure the client.
    """
    report = httpx.post(
        f"http://127.0.0.1:{port}/report",
        json={"probe_cc": "IT", "probe_asn": "AS137", "test_name": "web_connectivity"},
    ).json()["report_id"]
    requests = []
    for n in range(count):
        body = json.dumps(
            {"format": "json", "content": {**seed, "annotations": {"sequence": str(n)}}}
        ).encode()
        head = (
            f"POST /report/{report} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        requests.append(head.encode() + body)
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while not queue.empty():
            writer.write(queue.get_nowait())
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return count / (time.perf_counter() - start)


def main(count: int, clients: int) -> float:
    seed = json.loads((CORPUS / "ooni-data-wc05-qa" / "successWithHTTPS.json").read_text())
    record = json.dumps(seed).encode() + b"\n"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        baseline = disk_rate(folder, record, count)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "netvigil",
                "serve",
                "--port",
                str(port),
                "--data-dir",
                str(folder / "observatory"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    httpx.get(f"{url}/api/v1/test-helpers", timeout=0.5)
                    break
                except httpx.HTTPError:
                    time.sleep(0.05)
            ours = asyncio.run(submit_all(port, seed, count, clients))
        finally:
            server.terminate()
            server.wait(10)
    print(f"record size {len(record)} bytes, {count} submissions, {clients} clients")
    print(f"(a) disk write+fsync: {baseline:8.0f} /s")
    print(f"(b) acknowledged submissions: {ours:8.0f} /s")
    print("targets: ratio >= 0.5 and (b) >= 200/s")
    return ours / baseline


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    print(f"ratio={main(args.count, args.clients):.2f}")
