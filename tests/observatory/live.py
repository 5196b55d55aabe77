"""A real `netvigil serve` for black-box tests: the demo data, an organisation, a member and
an API key, all made through the CLI as an operator would, on a temporary data folder."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.observatory.running import wait_ready
from tests.probe.world import free_port


@dataclass(frozen=True)
class Live:
    url: str
    key: str  # a member's API key (read and write), sent as `Authorization: Bearer KEY`
    log: Path  # the server's stderr

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def cli(*args: str, data: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "netvigil", *args, "--data-dir", str(data)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@contextmanager
def live_server(folder: Path) -> Iterator[Live]:
    """The server on loopback, stopped (and its log closed) on exit."""
    data = folder / "observatory"
    cli("incidents", "org", "Org A", data=data)
    member = cli("incidents", "member", "alice", "--org", "Org A", "--role", "member", data=data)
    key = cli("incidents", "key", member.rsplit(": ", 1)[1], "--scopes", "read,write", data=data)
    assert key.startswith("nvk_")
    port, log = free_port(), folder / "server.log"
    with log.open("wb") as errors:
        command = [sys.executable, "-m", "netvigil", "serve", "--demo", "--port", str(port)]
        server = subprocess.Popen(
            [*command, "--data-dir", str(data)],
            stdin=subprocess.DEVNULL,
            stdout=errors,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, seconds=120)
            yield Live(url=url, key=key, log=log)
        finally:
            server.terminate()
            server.wait(timeout=30)
