"""`netvigil probe daemon` as a person runs it: options refused in one line, consent first."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from netvigil.cli.main import app

runner = CliRunner()


def daemon(tmp_path: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(
        app, ["probe", "daemon", "--data-dir", str(tmp_path / "d"), *extra], env={"COLUMNS": "400"}
    )
    return result.exit_code, result.stderr


SERVER = ["--server", "http://127.0.0.1:1"]
ABOVE_0 = "expected a number of seconds above 0, got"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--server", "ftp://x/"], "--server: expected an http:// or https:// URL, got 'ftp://x/'"),
        ([*SERVER, "--heartbeat", "0"], f"--heartbeat: {ABOVE_0} 0"),
        ([*SERVER, "--cadence", "nan"], f"--cadence: {ABOVE_0} nan"),
        ([*SERVER, "--gateway", "h:port"], "not HOST[:PORT]: 'h:port'"),
        ([*SERVER, "--max-runtime", "-1"], f"--max-runtime: {ABOVE_0} -1"),
        # the lab's clock (hidden options: only a lab run passes them)
        ([*SERVER, "--clock-speed", "0"], "--clock-speed: expected 1 to 1000, got 0"),
        ([*SERVER, "--clock-epoch", "nan"], "--clock-epoch: expected Unix seconds, got nan"),
    ],
)
def test_bad_options_are_one_line_before_anything_is_written(
    tmp_path: Path, options: list[str], message: str
) -> None:
    code, stderr = daemon(tmp_path, *options, "--input", "http://127.0.0.1:1/")
    assert (code, stderr) == (1, f"error: {message}\n")
    assert not (tmp_path / "d").exists()


def test_no_consent_measures_and_sends_nothing(tmp_path: Path) -> None:
    code, stderr = daemon(
        tmp_path,
        "--server",
        "http://127.0.0.1:1",
        "--gateway",
        "127.0.0.1",
        "--input",
        "http://127.0.0.1:1/",
    )
    assert code == 3 and "informed consent is needed" in stderr and stderr.count("\n") == 1
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == []


def test_nothing_to_measure_is_one_line(tmp_path: Path) -> None:
    code, stderr = daemon(
        tmp_path, "--server", "http://127.0.0.1:1", "--gateway", "127.0.0.1", "--accept-risks"
    )
    assert (code, stderr) == (
        1,
        "error: nothing to measure: give --input, --input-file, --test-list or --country\n",
    )


def test_without_its_address_it_waits_for_the_server_and_measures_nothing(tmp_path: Path) -> None:
    code, stderr = daemon(
        tmp_path,
        *("--server", "http://127.0.0.1:1", "--gateway", "127.0.0.1", "--accept-risks"),
        *("--input", "http://127.0.0.1:1/", "--heartbeat", "0.2", "--max-runtime", "1"),
    )
    *waiting, last = stderr.splitlines()
    assert code == 1
    assert last == "error: max runtime reached before the server told this probe its address"
    assert waiting and all(
        line.startswith("waiting: cannot learn this probe's address from http://127.0.0.1:1: ")
        for line in waiting
    ), waiting
    assert not (tmp_path / "d" / "results").exists()
