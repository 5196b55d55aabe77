"""The tables survive a compaction cut short at any step of its swap."""

from __future__ import annotations

import os
import shutil
import threading
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from netvigil.cli import app
from netvigil.observatory.api import query_rows
from netvigil.observatory.tables import compact, connect, locked
from tests.corpus import QA

COMPACTIONS = 40  # each swaps the table's folder while queries run
DISTINCT_UIDS = "SELECT count(DISTINCT measurement_uid) AS n FROM analysis"


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


def test_queries_during_compactions_see_every_row(tmp_path: Path) -> None:
    """A query never reads a table mid-swap: no vanished file, no empty folder, no 500."""
    assert CliRunner().invoke(app, ["ingest", str(QA), "--data-dir", str(tmp_path)]).exit_code == 0
    tables = tmp_path / "tables" / "analysis"
    done = threading.Event()

    def compactions() -> None:
        try:
            for n in range(COMPACTIONS):
                # As the pipeline does: a new small file (rows seen again), then a compaction.
                with locked(tables, exclusive=False):
                    source = next(tables.glob("**/*.parquet"))
                    shutil.copy(source, source.with_name(f".part-{n}.tmp"))
                    os.replace(
                        source.with_name(f".part-{n}.tmp"), source.with_name(f"part-{n}.parquet")
                    )
                compact(tables)
        finally:
            done.set()

    compactor = threading.Thread(target=compactions)
    compactor.start()
    answers: Counter[object] = Counter()
    try:
        while not done.is_set():
            try:
                answers[query_rows(tables, DISTINCT_UIDS, [])[0]["n"]] += 1
            except duckdb.Error as exc:
                answers[type(exc).__name__] += 1
    finally:
        compactor.join()
    assert set(answers) == {50}, answers
