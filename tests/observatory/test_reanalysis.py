"""Re-analysis with newer rules replaces the old rows, from the archive and from imports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from netvigil.analysis.verdicts import RULES_VERSION
from netvigil.cli.main import app
from netvigil.observatory.tables import PARTITIONS, connect
from tests.corpus import qa_files
from tests.observatory.apps import observatory, open_report, submit

runner = CliRunner()
OLD = "2020.1.1"


def snapshot(data: Path) -> dict[str, tuple[str, str, bool, str | None]]:
    db = connect(data / "tables" / "analysis")
    try:
        rows = db.execute(
            "SELECT measurement_uid, rules_version, outcome, anomaly, technique FROM analysis"
        ).fetchall()
    finally:
        db.close()
    found = {
        uid: (version, outcome, anomaly, technique)
        for uid, version, outcome, anomaly, technique in rows
    }
    assert len(found) == len(rows), "a measurement has two rows"
    return found


def age(data: Path) -> None:
    """Leave the tables as an older netvigil would have: other rules, other verdicts."""
    tables = data / "tables" / "analysis"
    staging = tables.with_name("aged")
    db = connect(tables)
    db.execute(
        f"COPY (SELECT * REPLACE ('{OLD}' AS rules_version, 'ok' AS outcome, FALSE AS anomaly, "
        "NULL AS technique, analysed_at - INTERVAL 400 DAY AS analysed_at) FROM analysis) "
        f"TO '{staging}' (FORMAT parquet, PARTITION_BY ({', '.join(PARTITIONS)}))"
    )
    db.close()
    shutil.rmtree(tables)
    staging.rename(tables)


def test_reanalysis_replaces_old_rows_without_duplicates(tmp_path: Path) -> None:
    data = tmp_path / "data"
    imported = tmp_path / "imported"
    imported.mkdir()
    files = qa_files()
    for path in files[:30]:
        shutil.copy(path, imported / path.name)
    assert runner.invoke(app, ["ingest", str(imported), "--data-dir", str(data)]).exit_code == 0
    with observatory(data) as running:  # the other 20 arrive through the collector
        report = open_report(running.client)
        for path in files[30:]:
            assert submit(running.client, report, json.loads(path.read_text())).status_code == 200
        assert running.analyse() == 20
    fresh = snapshot(data)
    assert len(fresh) == 50 and {v[0] for v in fresh.values()} == {RULES_VERSION}
    assert sum(v[2] for v in fresh.values()) == 26

    age(data)
    assert {v[:3] for v in snapshot(data).values()} == {(OLD, "ok", False)}
    result = runner.invoke(app, ["reanalyze", "--data-dir", str(data), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert f"re-analysed 50 measurements with rules {RULES_VERSION} (50 were older" in result.stderr
    assert snapshot(data) == fresh

    again = runner.invoke(app, ["reanalyze", "--data-dir", str(data)])
    assert again.exit_code == 0 and "re-analysed 0 measurements" in again.stderr
    everything = runner.invoke(app, ["reanalyze", "--all", "--data-dir", str(data)])
    assert everything.exit_code == 0 and "re-analysed 50 measurements" in everything.stderr
    assert snapshot(data) == fresh


def test_a_vanished_source_is_a_per_file_error_and_its_rows_stay(tmp_path: Path) -> None:
    data = tmp_path / "data"
    files = qa_files()[:3]
    for path in files:
        shutil.copy(path, tmp_path / path.name)
    copies = [tmp_path / p.name for p in files]
    command = ["ingest", *map(str, copies), "--data-dir", str(data)]
    assert runner.invoke(app, command).exit_code == 0
    age(data)
    copies[0].unlink()
    result = runner.invoke(app, ["reanalyze", "--data-dir", str(data)])
    assert result.exit_code == 1
    assert f"error: {copies[0]}: no such file" in result.stderr
    versions = sorted(v[0] for v in snapshot(data).values())
    assert versions == [OLD, RULES_VERSION, RULES_VERSION]


def test_a_mistyped_data_folder_is_one_line_and_is_not_created(tmp_path: Path) -> None:
    typo = tmp_path / "typo"
    result = runner.invoke(app, ["reanalyze", "--data-dir", str(typo)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: --data-dir: no data folder at {typo} (nothing to re-analyse; "
        "`netvigil ingest` or `netvigil serve` creates one)"
    ]
    assert not typo.exists()
