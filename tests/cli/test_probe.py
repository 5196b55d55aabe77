"""`netvigil probe run` and `netvigil th serve` as a person runs them, end to end on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from netvigil.cli.main import app
from netvigil.lab.dnsserver import DNSServer
from netvigil.lab.webserver import Behaviour, Router, WebServer, serve_web
from tests.cli.loopback_dns import running_dns, system_resolver
from tests.probe.world import free_port

runner = CliRunner()
CLIENT = "127.0.0.77"  # the probe's address, as the test helper would see it
HANG = Behaviour(kind="hang")
GIVE_UP = 120.0  # seconds: bounds that only end a hung run, never a speed expectation


def running_site(router: Router, host: str = "127.0.0.1") -> Iterator[WebServer]:
    """A web server on loopback, run by an event loop in a background thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(serve_web(router, host), loop).result(10)
    yield server

    async def shutdown() -> None:
        assert server.server is not None
        server.server.close()
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


@pytest.fixture
def site() -> Iterator[WebServer]:
    yield from running_site(
        lambda host, path, client: HANG if path.startswith("/hang") else Behaviour()
    )


@pytest.fixture
def system_dns() -> Iterator[DNSServer]:
    """A system resolver on loopback that knows no name (a run's whoami gets NXDOMAIN)."""
    with running_dns({}) as server:
        yield server


@pytest.fixture
def other_site() -> Iterator[WebServer]:
    """A plain site on another loopback address: its own host, so its own politeness slots."""
    yield from running_site(lambda host, path, client: Behaviour(), host="127.0.0.2")


@pytest.fixture
def watched_site() -> Iterator[tuple[WebServer, list[str]]]:
    """The site, noting the path of every request it receives."""
    paths: list[str] = []

    def route(host: str, path: str, client: str) -> Behaviour:
        paths.append(path)
        return HANG if path.startswith("/hang") else Behaviour()

    for server in running_site(route):
        yield server, paths


def _wait(port: int) -> None:
    import socket

    deadline = time.monotonic() + GIVE_UP
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("server did not start")


def test_probe_measures_through_our_test_helper_which_keeps_no_trace(
    site: WebServer, system_dns: DNSServer, tmp_path: Path
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
                *system_resolver(system_dns),  # the run's whoami stays on loopback
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
    assert not results.exists()  # nothing measured, not even an empty result


def _run_probe(tmp_path: Path, *extra: str) -> Any:
    return runner.invoke(
        app,
        [
            "probe",
            "run",
            "--accept-risks",
            "--data-dir",
            str(tmp_path / "d"),
            "--th",
            "http://127.0.0.1:1/",
            *extra,
        ],
    )


def test_the_run_says_where_results_went_their_ids_and_how_to_upload(
    site: WebServer, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    url = f"http://127.0.0.1:{site.port}/"
    result = _run_probe(tmp_path, "--input", url, "--output", str(out))
    assert result.exit_code == 0, result.output
    (measurement,) = [json.loads(line) for line in out.read_text().splitlines()]
    (saved,) = (tmp_path / "d" / "results").glob("*.jsonl")
    assert saved.read_text() == out.read_text()
    lines = result.stderr.splitlines()
    assert f"saved 1 measurement(s) to {saved} and {out}" in lines
    assert (
        f"result id: {saved.stem} (see `netvigil probe show {saved.stem}`); report id: "
        f"{measurement['report_id']} (a collector gives its own ids on upload)"
    ) in lines
    assert (
        "not uploaded: submit them with "
        f"`netvigil probe upload --collector URL --data-dir {tmp_path / 'd'}`"
    ) in lines


def test_json_lines_carry_our_verdict_beside_each_measurement(
    site: WebServer, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    urls = [f"http://127.0.0.1:{site.port}/", f"http://127.0.0.1:{site.port}/b"]
    result = _run_probe(
        tmp_path,
        "--input",
        urls[0],
        "--input",
        urls[1],
        "--output",
        str(out),
        "--probe-ip",
        "127.0.0.1",
        "--json",
    )
    assert result.exit_code == 0, result.output
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [set(p) for p in printed] == [{"measurement", "verdict"}] * 2
    assert [p["measurement"] for p in printed] == written
    for line in printed:
        verdict = line["verdict"]
        assert verdict["input"] == line["measurement"]["input"]
        assert verdict["report_id"] == line["measurement"]["report_id"]
        assert {layer["layer"] for layer in verdict["layers"]} == {"dns", "tcp", "tls", "http"}
        witnesses = [w["ref"] for layer in verdict["layers"] for w in layer["witnesses"]]
        assert f"127.0.0.1:{site.port}" in " ".join(witnesses)  # about this measurement
    assert "saved 2 measurement(s)" in result.stderr  # the run's report stays off stdout


BAD_RUN_OPTIONS = [
    (["--resolver", "not:a:port"], "error: --resolver: expected IP[:PORT]"),
    (["--resolver", "1.1.1.1:0"], "error: --resolver: expected IP[:PORT]"),
    (["--resolver", "dns.example:53"], "error: --resolver: expected IP[:PORT]"),
    (["--max-runtime", "-5"], "error: --max-runtime: expected a number of seconds above 0"),
    (["--max-runtime", "0"], "error: --max-runtime: expected a number of seconds above 0"),
    (["--geoip-db", "{garbage}"], "error: --geoip-db: cannot read garbage.mmdb"),
    (["--ca-file", "{missing}"], "error: --ca-file: cannot read"),
    (["--ca-file", "{text}"], "error: --ca-file: {text} holds no PEM certificate"),
    (  # the address lookup is the first use of the CA file
        ["--ca-file", "{text}", "--probe-services", "http://127.0.0.1:1/"],
        "error: --ca-file: {text} holds no PEM certificate",
    ),
]


@pytest.mark.parametrize(("options", "wanted"), BAD_RUN_OPTIONS)
def test_options_a_run_would_trip_over_later_are_one_line_errors(
    tmp_path: Path, options: list[str], wanted: str
) -> None:
    names = {
        "garbage": tmp_path / "garbage.mmdb",
        "missing": tmp_path / "missing.pem",
        "text": tmp_path / "notes.pem",
    }
    names["garbage"].write_bytes(b"not a database")
    names["text"].write_text("these are not certificates\n")
    options = [o.format(**names) for o in options]
    result = _run_probe(tmp_path, "--input", "http://127.0.0.1:1/", *options)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # an exit, not an exception
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(wanted.format(**names))
    assert not (tmp_path / "d").exists()  # nothing measured, nothing created


@pytest.mark.parametrize(
    ("name", "content", "wanted"),
    [
        ("missing.pem", None, "error: --ca-file: cannot read"),
        (
            "broken.pem",
            "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n",
            "error: --ca-file: {path} holds no PEM certificate",
        ),
    ],
)
def test_upload_with_a_bad_ca_file_is_one_line(
    tmp_path: Path, name: str, content: str | None, wanted: str
) -> None:
    ca = tmp_path / name
    if content is not None:
        ca.write_text(content)
    result = runner.invoke(
        app,
        [
            "probe",
            "upload",
            "--collector",
            "https://127.0.0.1:1/",
            "--data-dir",
            str(tmp_path / "d"),
            "--ca-file",
            str(ca),
        ],
    )
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # an exit, not an exception
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(wanted.format(path=ca))


def test_bad_inputs_are_one_line_errors(tmp_path: Path) -> None:
    base = ["probe", "run", "--accept-risks", "--data-dir", str(tmp_path / "d")]
    missing = runner.invoke(app, [*base, "--input-file", str(tmp_path / "nope.txt")])
    assert missing.exit_code == 1 and missing.stderr.count("\n") == 1
    category = runner.invoke(app, [*base, "--country", "IT", "--category", "NOPE"])
    assert category.exit_code == 1 and "NOPE" in category.stderr
    assert "Traceback" not in missing.output + category.output
    for flag in ("--upload", "--probe-services"):
        bad = runner.invoke(app, [*base, "--input", "http://127.0.0.1:1/", flag, "notaurl"])
        assert bad.exit_code == 1 and bad.stderr.strip().splitlines() == [
            f"error: {flag}: expected an http:// or https:// URL, got 'notaurl'"
        ]


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


def test_list_and_show_results(site: WebServer, tmp_path: Path) -> None:
    data = tmp_path / "d"
    for _ in range(2):
        done = runner.invoke(
            app,
            [
                "probe",
                "run",
                "--accept-risks",
                "--data-dir",
                str(data),
                "--input",
                f"http://127.0.0.1:{site.port}/",
                "--th",
                "http://127.0.0.1:1/",
            ],
        )
        assert done.exit_code == 0, done.output  # both within a second, most likely: two ids
    listed = [
        json.loads(line)
        for line in runner.invoke(
            app, ["probe", "list", "--data-dir", str(data)]
        ).stdout.splitlines()
    ]
    assert len(listed) == 2 and all(r["measurements"] == 1 for r in listed)
    shown = runner.invoke(app, ["probe", "show", listed[0]["id"], "--data-dir", str(data)])
    (measurement,) = [json.loads(line) for line in shown.stdout.splitlines()]
    assert measurement["input"] == f"http://127.0.0.1:{site.port}/"
    missing = runner.invoke(app, ["probe", "show", "nope", "--data-dir", str(data)])
    assert missing.exit_code == 1 and "no result" in missing.stderr


# The probe as a terminal starts it, with Ctrl-C's default meaning. A test run started in the
# background of a script without job control (CI, `cmd &`) inherits SIGINT ignored, and so
# would the probe: Python installs its KeyboardInterrupt handler only over the default.
AS_AT_A_TERMINAL = (
    sys.executable,
    "-c",
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'netvigil'; runpy.run_module('netvigil', run_name='__main__')",
)


def test_ctrl_c_ends_cleanly_and_keeps_what_was_measured(
    watched_site: tuple[WebServer, list[str]], other_site: WebServer, tmp_path: Path
) -> None:
    site, paths = watched_site
    out = tmp_path / "out.jsonl"
    # The fast URL is on another host: the two hanging fetches hold both of their host's
    # slots (probe/steps.py), and a fast URL queued behind them would end with them.
    fast = f"http://127.0.0.2:{other_site.port}/"
    slow = f"http://127.0.0.1:{site.port}/hang"
    probe = subprocess.Popen(
        [
            *AS_AT_A_TERMINAL,
            "probe",
            "run",
            "--accept-risks",
            "--data-dir",
            str(tmp_path / "d"),
            "--output",
            str(out),
            "--th",
            "http://127.0.0.1:1/",
            "--input",
            fast,
            "--input",
            slow,
            "--input",
            slow + "?2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Interrupt once the fast URL's measurement is on disk and both slow requests are
    # waiting at the site (they end only by the probe's 15 s HTTP deadline).
    deadline = time.monotonic() + GIVE_UP
    while not (
        out.exists()
        and out.read_text().count("\n") >= 1
        and sum(path.startswith("/hang") for path in paths) >= 2
    ):
        assert probe.poll() is None, probe.communicate()[1]
        assert time.monotonic() < deadline, "hung: the fast measurement or the slow requests"
        time.sleep(0.02)
    probe.send_signal(signal.SIGINT)
    _, stderr = probe.communicate(timeout=GIVE_UP)
    assert probe.returncode == 130, stderr
    assert "interrupted: kept 1 measurement" in stderr and "Traceback" not in stderr
    (kept,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert kept["input"] == fast


def test_max_runtime_stops_starting_work(site: WebServer, tmp_path: Path) -> None:
    from netvigil.net.backend import AsyncioBackend
    from netvigil.probe.runner import RunConfig, run
    from netvigil.probe.webconnectivity import Settings

    urls = [f"http://127.0.0.1:{site.port}/hang"] * 3 + [f"http://127.0.0.1:{site.port}/"]
    config = RunConfig(settings=Settings(http_timeout=30), parallelism=1, max_runtime=1.0)
    kept: list[object] = []
    summary = asyncio.run(run(urls, AsyncioBackend(), config, kept.append))
    assert summary.timed_out and summary.measured == len(kept) == 0
    assert summary.skipped == 4


def test_no_control_is_insufficient_in_the_summary_and_warned_about(
    site: WebServer, tmp_path: Path
) -> None:
    # A test helper that is down (nothing listens on its port): the site itself answers.
    down = f"http://127.0.0.1:{free_port()}/"
    urls = [f"http://127.0.0.1:{site.port}/", f"http://127.0.0.1:{site.port}/other"]
    out = tmp_path / "out.jsonl"
    command = [
        sys.executable, "-m", "netvigil", "probe", "run", "--accept-risks",
        "--data-dir", str(tmp_path / "d"), "--th", down, "--output", str(out),
        "--input", urls[0], "--input", urls[1],
    ]  # fmt: skip
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    measurements = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(measurements) == 2
    assert all(m["test_keys"]["control_failure"] == "connection_refused" for m in measurements)
    assert all(m["test_keys"]["requests"][0]["response"]["code"] == 200 for m in measurements)
    warnings = [line for line in done.stderr.splitlines() if "no control" in line]
    assert warnings == [
        "warning: no control for 2 of 2 URL(s): the test helper did not answer "
        "(connection_refused), so their outcome is insufficient; check --th"
    ]
    rows = [line for line in done.stdout.splitlines() if "127.0.0.1" in line]
    assert len(rows) == 2
    for row in rows:
        cells = [cell.strip() for cell in row.split("│")]
        assert "insufficient: no control" in cells, row
        assert "ok" not in cells, row
    # --json prints the measurements, and the warning still goes to stderr.
    quiet = subprocess.run(
        [*command, "--json"], capture_output=True, text=True, timeout=120, env=env
    )
    assert quiet.returncode == 0, quiet.stderr
    assert sum("warning: no control for 2 of 2" in line for line in quiet.stderr.splitlines()) == 1


def test_with_a_control_there_is_no_warning() -> None:
    from netvigil.probe.control import missing_control_warning
    from netvigil.records import WebMeasurement, decode_any
    from tests.corpus import QA

    ok, failed = (
        decode_any((QA / f"{name}.json").read_bytes())
        for name in ("successWithHTTP", "controlFailureWithSuccessfulHTTPSWebsite")
    )
    assert isinstance(ok, WebMeasurement) and isinstance(failed, WebMeasurement)
    assert missing_control_warning([ok, ok]) is None
    assert missing_control_warning([ok, failed]) == (
        "no control for 1 of 2 URL(s): the test helper did not answer (connection_reset), "
        "so their outcome is insufficient; check --th"
    )
