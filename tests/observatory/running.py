"""`netvigil serve` as a real process for tests: start it, wait until it answers."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

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
