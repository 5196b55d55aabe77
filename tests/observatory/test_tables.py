"""The tables survive a compaction cut short at any step of its swap."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netvigil.cli import app
from netvigil.observatory.tables import compact, connect
from tests.corpus import QA


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
