"""`netvigil serve` on an empty data folder: it asks only on a terminal, else one hint line."""

from __future__ import annotations

import os
import pty
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.observatory.running import read_until, start_server, wait_ready
from tests.probe.world import free_port

PROMPT = b"Load a sample of real OONI measurements?"


def _count(port: int) -> int:
    body = httpx.get(f"http://127.0.0.1:{port}/api/v1/measurements", timeout=5).json()
    return int(body["metadata"]["count"])


def test_without_a_terminal_it_starts_empty_with_one_hint(tmp_path: Path) -> None:
    port = free_port()
    server = start_server(tmp_path, port, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_ready(f"http://127.0.0.1:{port}")
        assert _count(port) == 0
    finally:
        server.terminate()
        out, err = server.communicate(timeout=10)
    assert PROMPT not in out + err
    hints = [line for line in err.decode().splitlines() if "empty data folder" in line]
    assert len(hints) == 1 and "--demo" in hints[0]


def test_on_a_terminal_it_asks_and_loads_the_sample(tmp_path: Path) -> None:
    port = free_port()
    parent, child = pty.openpty()
    server = start_server(tmp_path, port, stdin=child, stdout=child, stderr=child)
    os.close(child)
    try:
        assert PROMPT in read_until(parent, PROMPT, 60)
        os.write(parent, b"y\n")
        wait_ready(f"http://127.0.0.1:{port}")
        assert _count(port) == 27  # samples/SOURCES.md: 15 web_connectivity, 12 apps and tools
        seen = read_until(parent, b"observatory on", 10)
        assert b"loaded 27 sample measurements" in seen
        assert b"real OONI measurements" in seen and b"CC BY-NC-SA 4.0" in seen
    finally:
        server.terminate()
        server.wait(timeout=10)
        os.close(parent)


def test_a_folder_with_data_is_not_asked_about(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "archive").mkdir()
    parent, child = pty.openpty()
    server = start_server(tmp_path, port, stdin=child, stdout=child, stderr=child)
    os.close(child)
    try:
        wait_ready(f"http://127.0.0.1:{port}")
        seen = read_until(parent, b"observatory on", 10)
        assert PROMPT not in seen and b"observatory on" in seen
    finally:
        server.terminate()
        server.wait(timeout=10)
        os.close(parent)


def test_a_busy_port_is_one_line_and_nothing_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = start_server(tmp_path / "d", port, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = server.communicate(timeout=60)
    assert server.returncode == 1
    assert out == b"" and err.decode().splitlines() == [
        f"error: 127.0.0.1:{port} is already in use (another server?): stop it or choose "
        "another --port"
    ]
    assert not (tmp_path / "d").exists()


def test_it_says_observatory_on_once_it_listens(tmp_path: Path) -> None:
    port = free_port()
    server = start_server(tmp_path, port, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert server.stderr is not None
        seen = read_until(server.stderr.fileno(), b"observatory on", 60)
        assert f"netvigil observatory on http://127.0.0.1:{port}/".encode() in seen
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            pass  # already listening when it said so
    finally:
        server.terminate()
        server.communicate(timeout=10)


def _serve_refused(tmp_path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """`netvigil serve` as a process: were the option accepted, the server would start."""
    command = [sys.executable, "-m", "netvigil", "serve", "--port", str(free_port())]
    return subprocess.run(
        [*command, *options, "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "value", ["not-a-url", "ftp://example.org/", "http://", "https://example.org:99999/"]
)
def test_a_public_url_that_is_not_one_is_one_line(tmp_path: Path, value: str) -> None:
    done = _serve_refused(tmp_path, "--public-url", value)
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        "error: --public-url: expected an http:// or https:// URL such as "
        f"https://observatory.example.org/, got {value!r}"
    ]
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize(
    ("database", "message"),
    [
        ("nosuch://x", "Can't load plugin: sqlalchemy.dialects:nosuch"),
        ("not a url", "Could not parse SQLAlchemy URL from given URL string"),
        ("mysql://u@127.0.0.1:1/x", "No module named 'MySQLdb'"),  # a driver not installed
    ],
)
def test_an_incident_database_that_cannot_be_opened_is_one_line(
    tmp_path: Path, database: str, message: str
) -> None:
    done = _serve_refused(tmp_path, "--database", database)
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        "empty data folder: submit measurements, `netvigil ingest FILES`, or restart with "
        "--demo for sample data",
        f"error: cannot start: {message}",
    ]
