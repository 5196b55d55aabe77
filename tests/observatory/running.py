"""`netvigil serve` as a real process for tests: start it, wait until it answers."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx
from starlette.testclient import TestClient

Stream = int | IO[bytes] | None


def wait_ready(url: str, seconds: float = 120.0) -> None:
    """Until the server answers over HTTP (it may first be loading a sample); the bound only
    ends a hung start, a loaded machine can take many seconds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/api/v1/test-helpers", timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def start_server(
    data: Path,
    port: int,
    *,
    stdin: Stream = subprocess.DEVNULL,
    stdout: Stream = subprocess.DEVNULL,
    stderr: Stream = subprocess.DEVNULL,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "netvigil", "serve", "--port", str(port)]
    return subprocess.Popen(
        [*command, "--data-dir", str(data)], stdin=stdin, stdout=stdout, stderr=stderr, env=env
    )


def wait_for(client: TestClient, path: str, count: int, seconds: float = 120.0) -> dict[str, Any]:
    """The answer of `path` once its `count` is reached: for a whole server, whose pipeline
    is another process, so polling is the only way to know it has written its rows. The
    bound only ends a hung run."""
    deadline = time.monotonic() + seconds
    while True:
        body: dict[str, Any] = client.get(path).json()
        if body["metadata"]["count"] >= count:
            return body
        assert time.monotonic() < deadline, f"hung: {body['metadata']['count']} of {count} rows"
        time.sleep(0.1)


def read_until(descriptor: int, wanted: bytes, seconds: float) -> bytes:
    """What a process printed on `descriptor` until `wanted` appears in it, it closes its
    end, or `seconds` pass (a bound that only ends a hung run); the caller checks for
    `wanted`."""
    seen = b""
    deadline = time.monotonic() + seconds
    while wanted not in seen and time.monotonic() < deadline:
        if select.select([descriptor], [], [], 0.2)[0]:
            try:
                chunk = os.read(descriptor, 4096)
            except OSError:  # a pty whose other end closed
                break
            if not chunk:
                break
            seen += chunk
    return seen
