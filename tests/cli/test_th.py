"""`netvigil th serve`: bad input is one line before anything listens; it says where it is."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
from typer.testing import CliRunner

from netvigil.cli.main import app
from tests.observatory.running import read_until
from tests.probe.world import free_port


def test_a_bad_geoip_database_is_one_line(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.mmdb"
    garbage.write_bytes(b"not a database")
    result = CliRunner().invoke(app, ["th", "serve", "--port", "1", "--geoip-db", str(garbage)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --geoip-db: cannot read garbage.mmdb")


def _helper(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "netvigil", "th", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_it_prints_its_url_once_listening() -> None:
    port = free_port()
    helper = _helper(port)
    try:
        assert helper.stderr is not None
        line = read_until(helper.stderr.fileno(), b"\n", 60).decode()
        assert line == f"netvigil test helper on http://127.0.0.1:{port}/\n"
        hello = httpx.get(line.split(" on ")[1].strip(), timeout=10)
        assert hello.json() == {"message": "Hello OONItarian!"}
    finally:
        helper.terminate()
        helper.communicate(timeout=10)


def test_a_busy_port_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        helper = _helper(port)
        out, err = helper.communicate(timeout=60)
    assert helper.returncode == 1 and out == b""
    assert err.decode().splitlines() == [
        f"error: 127.0.0.1:{port} is already in use (another server?): stop it or choose "
        "another --port"
    ]
