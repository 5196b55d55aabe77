"""Rows never say more than the analysis knows: unanalysed and error rows are never ok."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from starlette.testclient import TestClient

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.observatory.archive import Stored
from netvigil.observatory.rows import row_of
from netvigil.observatory.tables import connect, write_rows
from tests.corpus import MEASUREMENTS
from tests.observatory.apps import observatory, open_report, submit

OTHER = MEASUREMENTS / "ooni-backend-fastpath-other"  # real measurements of other nettests
NOT_WEB = sorted(
    path
    for path in OTHER.glob("*.json")
    if isinstance(m := json.loads(path.read_text()), dict)
    and m.get("probe_cc")
    and m.get("test_name") != "web_connectivity"
)
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


TESTS = {json.loads(path.read_text())["test_name"] for path in NOT_WEB}


@pytest.fixture(scope="module")
def unanalysed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An observatory that received only real measurements of nettests we do not analyse."""
    assert len(NOT_WEB) >= 20, NOT_WEB  # the corpus holds enough other nettests
    with observatory(tmp_path_factory.mktemp("observatory")) as running:
        client = running.client
        for path in NOT_WEB:
            content = json.loads(path.read_text())
            report = open_report(
                client, content["probe_cc"], content["probe_asn"], content["test_name"]
            )
            answer = submit(client, report, content)
            assert answer.status_code == 200, (path.name, answer.text)
        assert running.analyse() == len(NOT_WEB)
        yield client


def test_unanalysed_measurements_count_as_neither_ok_nor_anomaly(unanalysed: TestClient) -> None:
    total = unanalysed.get("/api/v1/aggregation").json()["result"]
    assert total["measurement_count"] == len(NOT_WEB)
    assert total["unanalysed_count"] == len(NOT_WEB)
    assert total["ok_count"] == total["anomaly_count"] == total["error_count"] == 0
    assert total["failure_count"] == len(NOT_WEB)  # no verdict, as OONI's msm_failure
    cells = unanalysed.get("/api/v1/aggregation?axis_x=test_name").json()["result"]
    assert {c["test_name"] for c in cells} == TESTS and all(c["ok_count"] == 0 for c in cells)
    assert all(c["unanalysed_count"] == c["measurement_count"] for c in cells)


def test_unanalysed_rows_say_so(unanalysed: TestClient) -> None:
    rows = unanalysed.get("/api/v1/measurements?limit=100").json()["results"]
    assert len(rows) == len(NOT_WEB)
    assert all(r["scores"]["outcome"] == "unanalysed" for r in rows)
    assert all(r["failure"] and not r["anomaly"] and not r["confirmed"] for r in rows)
    analysis = unanalysed.get("/api/v1/analysis?outcome=unanalysed&limit=100").json()["results"]
    assert {r["test_name"] for r in analysis} == TESTS
    assert len(analysis) == len(NOT_WEB)
    assert not unanalysed.get("/api/v1/analysis?outcome=ok").json()["results"]
    csv = unanalysed.get("/api/v1/aggregation?axis_x=outcome&format=CSV").text
    assert csv.splitlines()[1].startswith("unanalysed,") and "unanalysed_count" in csv


def test_rows_written_before_read_unanalysed_as_no_verdict(tmp_path: Path) -> None:
    """Old Parquet files hold unanalysed rows with failure = false: they read as failure."""
    content = json.loads((OTHER / "signal_022.json").read_text())
    stored = Stored(
        uid="old",
        key="k",
        received="",
        report_id=None,
        measurement=msgspec.Raw(json.dumps(content).encode()),
    )
    row = row_of(stored, FingerprintDB.load(), NOW)
    assert row.outcome == "unanalysed" and row.failure
    write_rows(tmp_path, [msgspec.structs.replace(row, failure=False)])  # as an older netvigil did
    db = connect(tmp_path)
    assert db.execute("SELECT failure, error FROM analysis").fetchall() == [(True, None)]


@pytest.mark.parametrize(
    ("change", "said", "cc", "test"),
    [
        ({"probe_network_name": 137}, "$.probe_network_name", "IT", "web_connectivity"),
        ({"probe_cc": "../x"}, "probe_cc", "ZZ", "web_connectivity"),
        ({"probe_asn": "AS" + "9" * 30}, "probe_asn", "IT", "web_connectivity"),
        ({"test_name": "Web Connectivity"}, "test_name", "IT", "unknown"),
        (
            {"test_keys": {"tcp_connect": [{"ip": 1}]}},
            "$.test_keys.tcp_connect[0].ip",
            "IT",
            "web_connectivity",
        ),
    ],
)
def test_a_measurement_that_fails_a_step_is_an_error_row(
    tmp_path: Path, change: dict[str, Any], said: str, cc: str, test: str
) -> None:
    content = {**json.loads((OTHER / "report2.json").read_text()), "probe_cc": "IT", **change}
    stored = Stored(
        uid="poison",
        key="k",
        received="",
        report_id="r",
        measurement=msgspec.Raw(json.dumps(content).encode()),
    )
    row = row_of(stored, FingerprintDB.load(), NOW)
    assert row.outcome == "error" and row.error is not None and said in row.error, row.error
    assert row.failure and not row.anomaly and (row.probe_cc, row.test_name) == (cc, test)
    assert write_rows(tmp_path, [row]) == 1  # whatever it held, the row can be written
    found = connect(tmp_path).execute("SELECT outcome, error FROM analysis").fetchall()
    assert found == [("error", row.error)]


def test_the_api_and_the_rows_spell_the_same_outcomes() -> None:
    from netvigil.observatory import columns, query

    assert query.OUTCOMES == columns.OUTCOMES
    assert {"blocked", "tampered"} == columns.ANOMALIES
