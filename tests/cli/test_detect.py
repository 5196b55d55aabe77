"""`netvigil detect`: events as JSON lines or a table, and one error line for each bad input."""

from __future__ import annotations

import datetime as dt
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
from typer.testing import CliRunner

from netvigil.cli.main import app
from netvigil.datadir import DataDir
from netvigil.detect.engine import detect
from netvigil.detect.ioda_signals import read_ioda
from netvigil.observatory.tables import write_rows
from tests.corpus import CORPUS
from tests.observatory.events import CHANGE, blocking_rows

runner = CliRunner()
IRAN = CORPUS / "shutdowns" / "series" / "ioda-iran-2025-12-01_2026-01-29.csv"
HEADER = "entity,signal,time,value\n"
JAN1 = 1767225600  # 2026-01-01T00:00:00Z
BINS = 14 * 144  # two weeks of 10-minute bins


def _events(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines()]


def _ongoing(tmp_path: Path) -> Path:
    """Two weeks of active probing at 100, the last two hours (12 bins) at 5: still down."""
    rows = [
        f"country:IR,active_probing,{JAN1 + 600 * i},{5 if i >= BINS - 12 else 100}\n"
        for i in range(BINS)
    ]
    path = tmp_path / "ongoing.csv"
    path.write_text(HEADER + "".join(rows))
    return path


def test_iran_export_gives_a_national_outage_at_the_drop_with_its_signals() -> None:
    result = runner.invoke(app, ["detect", "--ioda", str(IRAN), "--entity", "country:IR"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    events = _events(result.stdout)  # piped: JSON lines without --json
    # The command prints what the detector finds on the same series, nothing else.
    expected = detect(read_ioda(IRAN, "country:IR"))
    assert events == [json.loads(msgspec.json.encode(e)) for e in expected]
    assert all(
        {"entity", "kind", "start", "end", "confidence", "cause", "signals"} <= set(e)
        for e in events
    )
    # Active probing falls from 90 at 16:00 to 6.6 at 17:00 UTC on 2026-01-08: an event of
    # the country starts within an hour of the drop, an outage of unknown cause (outside
    # signals cannot tell a cut from a power failure).
    drop = [
        e
        for e in events
        if e["entity"] == "country:IR"
        and abs(
            dt.datetime.fromisoformat(e["start"]) - dt.datetime(2026, 1, 8, 16, 30, tzinfo=dt.UTC)
        )
        <= dt.timedelta(hours=1)
    ]
    assert [(e["kind"], e["cause"]) for e in drop] == [("outage", "unknown")]
    assert "active_probing" in {f["signal"] for f in drop[0]["signals"]}


def test_an_event_still_open_at_the_end_of_the_data_is_ongoing(tmp_path: Path) -> None:
    result = runner.invoke(app, ["detect", "--series", str(_ongoing(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    (event,) = _events(result.stdout)
    assert (event["entity"], event["kind"], event["cause"]) == ("country:IR", "outage", "unknown")
    # The drop: bin 2004 of 10 minutes after 2026-01-01, 13 days 22 hours.
    assert event["start"] == "2026-01-14T22:00:00Z" and event["end"] is None
    assert [f["signal"] for f in event["signals"]] == ["active_probing"]


def test_since_and_until_keep_the_events_overlapping_the_window(tmp_path: Path) -> None:
    path = str(_ongoing(tmp_path))
    start = dt.datetime(2026, 1, 14, 22, tzinfo=dt.UTC)
    before = int(start.timestamp()) - 1

    def count(*window: str) -> int:
        result = runner.invoke(app, ["detect", "--series", path, *window])
        assert result.exit_code == 0, result.output
        return len(_events(result.stdout))

    assert count("--until", str(before)) == 0  # the window ends a second before the start
    assert count("--until", "2026-01-14T22:00:00Z") == 1
    assert count("--since", "2030-01-01T00:00:00+01:00") == 1  # ongoing: overlaps any future
    assert count("--since", "2026-01-01T00:00:00Z", "--until", "2026-01-14T21:59:59Z") == 0


def test_gaps_and_exact_duplicates_are_read_as_documented(tmp_path: Path) -> None:
    path = tmp_path / "gaps.csv"
    rows = [f"asn:58224,bgp,{JAN1 + 300 * i},{'' if i % 7 == 0 else 50}\n" for i in range(400)]
    path.write_text(HEADER + "".join(rows) + rows[10] + rows[11])  # two rows again
    result = runner.invoke(app, ["detect", "--series", str(path)])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")  # steady: no event


def test_the_table_for_people_at_a_terminal(tmp_path: Path) -> None:
    """A real process with its stdout on a pseudo-terminal: the table, not JSON."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    command = [sys.executable, "-m", "netvigil", "detect", "--series", str(_ongoing(tmp_path))]
    with subprocess.Popen(command, stdout=follower, stderr=subprocess.PIPE, env=env) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the process closed its side
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=120) == 0
        assert process.stderr is not None and process.stderr.read() == b""
    os.close(leader)
    # Rich still writes bold and italic where NO_COLOR asks for no colour: drop the escapes.
    lines = re.sub(r"\x1b\[[0-9;]*m", "", b"".join(chunks).decode()).splitlines()
    assert "Events (times in UTC)" in lines[0]
    assert lines[1].split() == ["entity", "kind", "start", "end", "conf.", "cause", "signals"]
    assert lines[3].split()[:4] == ["country:IR", "outage", "2026-01-14", "ongoing"]
    assert lines[3].split()[-2:] == ["unknown", "active_probing"]
    assert lines[4].split() == ["warning", "22:00"]
    assert not any(line.startswith("{") for line in lines)


def _csv(tmp_path: Path, body: str | bytes, name: str = "bad.csv") -> str:
    path = tmp_path / name
    path.write_bytes(body if isinstance(body, bytes) else (HEADER + body).encode())
    return str(path)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (f'country:IR,bgp,"{JAN1}"x,1\n', ":2: malformed CSV: ',' expected after '\"'"),
        (
            f"city:Paris,bgp,{JAN1},1\n",
            ":2: unknown entity 'city:Paris': expected country:CC, region:CC-NAME or asn:N",
        ),
        (
            f"country:IR,bgp,{JAN1},1\ncountry:IR,bgp,{JAN1 + 60},1\ncountry:IR,bgp,{JAN1},2\n",
            ":4: country:IR bgp at 2026-01-01T00:00:00Z: value 2.0 here, 1.0 on line 2",
        ),
        (
            "country:IR,bgp,2026-01-01T00:00:00,1\n",
            ":2: time '2026-01-01T00:00:00' has no UTC offset: add Z or +HH:MM",
        ),
        (
            f"country:IR,bgp,{JAN1},NaN\n",
            ":2: value 'NaN' is not a finite number (leave it empty for a gap)",
        ),
        (
            f"country:IR,bgp,{JAN1},-inf\n",
            ":2: value '-inf' is not a finite number (leave it empty for a gap)",
        ),
        (
            "asn:3,x,0,1\nasn:3,x,60,1\nasn:3,x,1899999960,1\n",
            ":4: asn:3 x spans 31,666,667 "
            "bins of 60 s from 1970-01-01T00:00:00Z to 2030-03-17T17:46:00Z, more than the "
            "5,000,000 bins per series",
        ),
        (
            f"asn:3,x,{JAN1},1\nasn:3,x,{JAN1 + 600},1\nasn:3,x,{JAN1 + 1000},1\n",
            ":3: asn:3 x "
            "at 2026-01-01T00:10:00Z is off the 400 s grid that starts at 2026-01-01T00:00:00Z",
        ),
        (b"time,value\n1,2\n", ":1: header 'time,value', expected 'entity,signal,time,value'"),
        (b"", ":1: empty file, expected the header entity,signal,time,value"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00\xb7\x00\xff\xfe", ":1: not UTF-8 text"),
    ],
)
def test_bad_series_files_are_one_error_line_and_nothing_else(
    tmp_path: Path, body: str | bytes, reason: str
) -> None:
    path = _csv(tmp_path, body)
    result = runner.invoke(app, ["detect", "--series", path])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"error: {path}{reason}\n"
    assert isinstance(result.exception, SystemExit)  # an exit, not a traceback


def test_bad_options_and_combinations_are_one_error_line(tmp_path: Path) -> None:
    good = _csv(tmp_path, f"asn:3,x,{JAN1},1\nasn:3,x,{JAN1 + 60},1\n", "good.csv")
    again = _csv(tmp_path, f"asn:3,x,{JAN1 + 120},1\nasn:3,x,{JAN1 + 180},1\n", "again.csv")
    missing = str(tmp_path / "missing.csv")
    cases = {
        ("--series", good, "--entity", "country:IR"): "--entity names what an --ioda file is "
        "about; a --series CSV names its own",
        ("--ioda", str(IRAN)): f"{IRAN}: an IODA dashboard export does not name its entity",
        ("--ioda", str(IRAN), "--entity", "Iran"): "--entity: unknown entity 'Iran': expected "
        "country:CC, region:CC-NAME or asn:N",
        ("--series", good, "--since", "yesterday"): "--since: time 'yesterday' is neither ISO "
        "8601 nor Unix seconds",
        ("--series", good, "--until", "2026-01-01"): "--until: time '2026-01-01' has no UTC "
        "offset: add Z or +HH:MM",
        (
            "--series",
            good,
            "--since",
            "2026-02-01T00:00:00Z",
            "--until",
            "2026-01-01T00:00:00Z",
        ): "--since is after --until",
        ("--series", good, "--series", again): f"{again}: asn:3 x is also in {good}",
        ("--series", missing): f"{missing}: cannot read: No such file or directory",
        ("--ioda", good, "--entity", "asn:3"): f"{good}: neither an IODA /signals/raw response "
        "nor a dashboard export",
    }
    for args, message in cases.items():
        result = runner.invoke(app, ["detect", *args])
        assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"error: {message}\n")


def test_usage_errors_are_typers() -> None:
    result = runner.invoke(app, ["detect", "--bogus"])
    assert result.exit_code == 2 and "No such option: --bogus" in result.stderr
    assert "Traceback" not in result.output


def test_an_ioda_response_of_regions_takes_their_country_from_entity(tmp_path: Path) -> None:
    region = {
        "entityType": "region",
        "entityCode": "4437",
        "datasource": "ping-slash24",
        "subtype": "",
        "from": JAN1,
        "step": 600,
        "values": [100, None, 100, 100],
    }
    path = tmp_path / "regions.json"
    path.write_text(json.dumps({"type": "signals", "error": None, "data": [[region]]}))
    steady = runner.invoke(app, ["detect", "--ioda", str(path), "--entity", "country:IR"])
    assert (steady.exit_code, steady.stdout, steady.stderr) == (0, "", "")
    unknown = runner.invoke(app, ["detect", "--ioda", str(path)])
    assert (unknown.exit_code, unknown.stdout) == (1, "")
    assert unknown.stderr == (
        f"error: {path}: ping-slash24 of '4437': IODA region '4437' does not say its country: "
        "give region:CC-4437 or country:CC\n"
    )


def test_the_observatorys_own_data_folder_is_read(tmp_path: Path) -> None:
    """No --series: the data folder's tables, as the server's detection reads them. A
    blocking change there (twitter.com reset on AS20294 from hour 24) is one event."""
    write_rows(DataDir(root=tmp_path).tables, blocking_rows())
    until = (CHANGE + dt.timedelta(hours=40)).isoformat()
    result = runner.invoke(app, ["detect", "--data-dir", str(tmp_path), "--until", until])
    assert (result.exit_code, result.stderr) == (0, "")
    (line,) = result.stdout.splitlines()
    event = json.loads(line)
    assert (event["entity"], event["kind"], event["country"], event["target"]) == (
        "asn:20294",
        "blocking_change",
        "UG",
        "twitter.com by tcp_reset",
    )
    assert event["end"] is None  # still blocked at the end of the data


def test_an_empty_data_folder_has_no_events(tmp_path: Path) -> None:
    result = runner.invoke(app, ["detect", "--data-dir", str(tmp_path)])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def test_a_data_folder_that_is_not_there_is_an_error_not_a_clean_bill(tmp_path: Path) -> None:
    typo = tmp_path / "typo"
    result = runner.invoke(app, ["detect", "--data-dir", str(typo)])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"error: --data-dir: no data folder at {typo}\n"
    assert not typo.exists()


@pytest.mark.parametrize(
    ("time", "value", "reason"),
    [
        ("253402300740", "1", "time '253402300740' is outside 1970-01-01 to 9999-12-30"),
        ("9999-12-31T23:59:00Z", "1", "time '9999-12-31T23:59:00Z' is outside 1970-01-01 to "
         "9999-12-30"),
        ("-60", "1", "time '-60' is neither ISO 8601 nor Unix seconds"),
        ("60", "-50", "value '-50' is outside 0 to 1e15"),
        ("60", "1e300", "value '1e300' is outside 0 to 1e15"),
    ],
)  # fmt: skip
def test_times_and_values_out_of_range_are_one_line(
    tmp_path: Path, time: str, value: str, reason: str
) -> None:
    path = _csv(tmp_path, f"country:XX,bgp,0,1\ncountry:XX,bgp,{time},{value}\n")
    result = runner.invoke(app, ["detect", "--series", path])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"error: {path}:3: {reason}\n"


def test_a_since_out_of_range_is_one_line(tmp_path: Path) -> None:
    path = _csv(tmp_path, "country:XX,bgp,0,1\ncountry:XX,bgp,60,1\n")
    result = runner.invoke(
        app, ["detect", "--series", path, "--since", "0001-01-01T00:00:00+05:30"]
    )
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith("error: --since: time '0001-01-01T00:00:00+05:30' ")
