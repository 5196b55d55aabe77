"""`netvigil ingest`: OONI files into the tables, in a process pool or on a Dask cluster."""

from __future__ import annotations

import json
from pathlib import Path

import distributed
from typer.testing import CliRunner

from netvigil.cli import app
from netvigil.observatory.command import load_demo
from netvigil.observatory.tables import connect
from tests.corpus import JSONL, MEASUREMENTS, QA

runner = CliRunner()


OTHER = MEASUREMENTS / "ooni-backend-fastpath-other"


def identities(paths: list[Path]) -> set[str]:
    """What makes a measurement itself: OONI's uid when it has one, else its content."""
    found = set()
    for path in paths:
        lines = path.read_text().splitlines() if path.suffix == ".jsonl" else [path.read_text()]
        for line in lines:
            data = json.loads(line)
            if isinstance(data, dict) and data.get("test_name") == "web_connectivity":
                found.add(
                    data.get("measurement_uid")
                    or json.dumps(
                        {k: v for k, v in data.items() if k != "report_id"}, sort_keys=True
                    )
                )
    return found


def count(data: Path, where: str = "TRUE") -> int:
    db = connect(data / "tables" / "analysis")
    try:
        return int(db.execute(f"SELECT count(*) FROM analysis WHERE {where}").fetchone()[0])  # type: ignore[index]
    finally:
        db.close()


def test_ingest_in_a_process_pool_reports_errors_per_file(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["ingest", str(QA), str(JSONL), str(OTHER), "--data-dir", str(tmp_path), "--workers", "2"],
    )
    assert result.exit_code == 0, result.output
    assert "detector_query_ww_BR_2018.json" in result.stderr  # not a measurement: one error
    assert "imported" in result.stderr
    # The QA files are also lines of the JSONL, and two fastpath fixtures carry the same
    # measurement_uid: each measurement is one row.
    expected = len(identities([*QA.glob("*.json"), JSONL, *OTHER.glob("*.json")]))
    assert expected == 66
    assert count(tmp_path, "test_name = 'web_connectivity'") == expected
    again = runner.invoke(app, ["ingest", str(QA), "--data-dir", str(tmp_path)])
    assert again.exit_code == 0
    assert count(tmp_path, "test_name = 'web_connectivity'") == expected  # no duplicates


def test_ingest_on_a_local_dask_cluster(tmp_path: Path) -> None:
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,  # type: ignore[no-untyped-call]
        dashboard_address=None,
    ) as cluster:
        address = cluster.scheduler_address.removeprefix("tcp://")
        result = runner.invoke(
            app, ["ingest", str(QA), "--data-dir", str(tmp_path), "--executor", f"dask://{address}"]
        )
    assert result.exit_code == 0, result.output
    assert count(tmp_path) == 50


def test_bad_executor_and_empty_input_are_one_line_errors(tmp_path: Path) -> None:
    bad = runner.invoke(
        app, ["ingest", str(QA), "--data-dir", str(tmp_path), "--executor", "spark://x"]
    )
    assert bad.exit_code == 1 and bad.stderr.count("\n") == 1
    empty = runner.invoke(
        app, ["ingest", str(tmp_path / "missing.jsonl"), "--data-dir", str(tmp_path)]
    )
    assert empty.exit_code == 1 and "no such file" in empty.stderr


def test_demo_data(tmp_path: Path) -> None:
    assert load_demo(tmp_path) == 15
    assert count(tmp_path) == 15
    db = connect(tmp_path / "tables" / "analysis")
    try:
        countries = db.execute("SELECT count(DISTINCT probe_cc) FROM analysis").fetchone()
        per_country = db.execute(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM analysis "
            "WHERE outcome = 'blocked' GROUP BY probe_cc)"
        ).fetchone()
    finally:
        db.close()
    assert countries == (11,)
    assert per_country == (2,)  # Iran; no longer 26 simulated Italian blockings
