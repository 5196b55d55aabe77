"""`netvigil probe run` and `netvigil th serve` as a person runs them, end to end on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netvigil.cli import app
from netvigil.lab.webserver import Behaviour, WebServer, serve_web
from tests.probe.world import free_port

runner = CliRunner()
CLIENT = "127.0.0.77"  # the probe's address, as the test helper would see it


@pytest.fixture
def site() -> Iterator[WebServer]:
    """A web server on loopback, run by an event loop in a background thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(
        serve_web(lambda host, path, client: Behaviour()), loop
    ).result(10)
    yield server
    assert server.server is not None
    loop.call_soon_threadsafe(server.server.close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def _wait(port: int) -> None:
    import socket

    for _ in range(200):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("server did not start")


def test_probe_measures_through_our_test_helper_which_keeps_no_trace(
    site: WebServer, tmp_path: Path
) -> None:
    helper_home = tmp_path / "helper"
    helper_home.mkdir()
    port = free_port()
    env = {**os.environ, "HOME": str(helper_home), "NETVIGIL_HOME": str(helper_home)}
    helper = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "netvigil",
            "th",
            "serve",
            "--port",
            str(port),
            "--allow-private-targets",
        ],
        cwd=helper_home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait(port)
        out = tmp_path / "out.jsonl"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "netvigil",
                "probe",
                "run",
                "--input",
                f"http://127.0.0.1:{site.port}/",
                "--th",
                f"http://127.0.0.1:{port}/",
                "--accept-risks",
                "--data-dir",
                str(tmp_path / "data"),
                "--output",
                str(out),
                "--source-address",
                CLIENT,
                "--probe-ip",
                "203.0.113.9",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    finally:
        helper.terminate()
        logs, _ = helper.communicate(timeout=10)
    (measurement,) = [json.loads(line) for line in out.read_text().splitlines()]
    keys = measurement["test_keys"]
    assert keys["control_failure"] is None and keys["control"]["http_request"]["status_code"] == 200
    assert (keys["blocking"], keys["accessible"]) == (False, True)
    assert measurement["probe_ip"] == "127.0.0.1"
    # The helper saw the probe connect from 127.0.0.77: no log line and no file keeps it.
    assert CLIENT not in logs.decode()
    for path in helper_home.rglob("*"):
        if path.is_file():
            assert CLIENT.encode() not in path.read_bytes(), path


def test_no_consent_measures_nothing(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["probe", "run", "--input", "http://127.0.0.1:1/", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 3
    assert "consent" in result.stderr and result.stderr.count("\n") == 1
    results = tmp_path / "results"
    assert not results.exists() or not any(results.iterdir())


def test_bad_inputs_are_one_line_errors(tmp_path: Path) -> None:
    base = ["probe", "run", "--accept-risks", "--data-dir", str(tmp_path / "d")]
    missing = runner.invoke(app, [*base, "--input-file", str(tmp_path / "nope.txt")])
    assert missing.exit_code == 1 and missing.stderr.count("\n") == 1
    category = runner.invoke(app, [*base, "--country", "IT", "--category", "NOPE"])
    assert category.exit_code == 1 and "NOPE" in category.stderr
    assert "Traceback" not in missing.output + category.output


def test_malformed_urls_are_skipped_and_unreachable_helper_is_recorded(
    site: WebServer, tmp_path: Path
) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_text(f"htp://broken\nhttp://127.0.0.1:{site.port}/\n")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app,
        [
            "probe",
            "run",
            "--accept-risks",
            "--data-dir",
            str(tmp_path / "d"),
            "--input-file",
            str(listing),
            "--th",
            "http://127.0.0.1:1/",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "skipped:" in result.stderr and "htp://broken" in result.stderr
    (measurement,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert measurement["test_keys"]["control_failure"] == "connection_refused"
    assert measurement["test_keys"]["blocking"] is None  # no control: no verdict
