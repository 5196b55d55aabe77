"""The tables survive a compaction cut short at any step of its swap, and queries beside one."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.cli.main import app
from netvigil.observatory.archive import Stored
from netvigil.observatory.data import query_rows
from netvigil.observatory.rows import row_of
from netvigil.observatory.tables import compact, connect, write_rows
from tests.corpus import QA, qa_files


def rows(tables: Path) -> int:
    db = connect(tables)
    try:
        return int(db.execute("SELECT count(DISTINCT measurement_uid) FROM analysis").fetchone()[0])  # type: ignore[index]
    finally:
        db.close()


@pytest.mark.parametrize("cut", ["staging written", "old table moved aside", "new table in place"])
def test_a_cut_short_compaction_is_finished_or_undone(tmp_path: Path, cut: str) -> None:
    assert CliRunner().invoke(app, ["ingest", str(QA), "--data-dir", str(tmp_path)]).exit_code == 0
    tables = tmp_path / "tables" / "analysis"
    staging, retired = tables.with_name("analysis.compacting"), tables.with_name("analysis.old")
    # Recreate, with real files, the state each step of `_compact` leaves on disk.
    shutil.copytree(tables, staging)
    if cut in ("old table moved aside", "new table in place"):
        tables.rename(retired)
    if cut == "new table in place":
        staging.rename(tables)
    compact(tables)
    assert rows(tables) == 50
    assert not staging.exists() and not retired.exists()


def test_a_query_during_a_compaction_never_loses_its_files(tmp_path: Path) -> None:
    """DuckDB opens the files when the query runs; a compaction swaps the folder meanwhile."""
    tables = tmp_path / "analysis"
    seed = json.loads(qa_files()[0].read_text())
    now = dt.datetime.now(dt.UTC)
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=n) for n in range(DAYS)]
    rows = [  # a partition per day: many files to open, and to swap away
        row_of(_stored(n, {**seed, "measurement_start_time": f"{day} 12:00:00"}), FINGERPRINTS, now)
        for n, day in enumerate(days)
    ]
    write_rows(tables, rows)

    def compacting() -> None:
        for _ in range(COMPACTIONS):
            compact(tables)

    worker = threading.Thread(target=compacting)
    worker.start()
    counts: list[int] = []
    while worker.is_alive() and len(counts) < 1000:  # bounded either way
        counts.append(query_rows(tables, "SELECT count(*) AS n FROM analysis", [])[0]["n"])
    worker.join()
    assert counts and counts == [DAYS] * len(counts)


DAYS = 150
COMPACTIONS = 8
FINGERPRINTS = FingerprintDB.load()


def _stored(n: int, measurement: dict[str, object]) -> Stored:
    raw = msgspec.Raw(json.dumps(measurement).encode())
    return Stored(uid=f"u{n}", key=f"k{n}", received="", report_id=None, measurement=raw)
