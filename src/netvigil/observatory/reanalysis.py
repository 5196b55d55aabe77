"""Re-analysis: the tables again, from the raw measurements, with the current rules.

When the rules change (a new fingerprint, a fixed false positive), every verdict they
touched must change too, or an incident report would cite an outdated one. Each row says
which rules produced it and where its raw measurement is (`rows.Row.source`), so:

- the archive (what the collector received) is read again by the pipeline, read-only, so a
  live server may keep collecting;
- an imported file is imported again, by the same per-file function and executor as
  `netvigil ingest` (executor.py: process pool or Dask): one file is the unit of work.

Both write new rows with a later `analysed_at`; compaction then keeps one row per
measurement, the newest (tables.py), so the old rows are replaced, never duplicated. A file
that has gone away is a per-file error, and its rows stay as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec

from netvigil.analysis.verdicts import RULES_VERSION
from netvigil.datadir import DataDir
from netvigil.geoip import GeoIP
from netvigil.observatory.columns import ARCHIVE
from netvigil.observatory.executor import Executor, run
from netvigil.observatory.ingest import FileResult
from netvigil.observatory.pipeline import Pipeline
from netvigil.observatory.tables import compact, reading


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """What a re-analysis will read: the stale rows' sources."""

    archive: bool  # some archived measurements need it
    files: tuple[str, ...]  # imported files, absolute paths
    stale: int  # rows to replace
    unknown: int  # stale rows whose source no one recorded (imported by an older netvigil)


def plan(tables: Path, *, everything: bool = False) -> Plan:
    """The sources of rows made by other rules, and of error rows (a fixed bug or decoder
    may read them now); of every row, with `everything`."""
    stale = "TRUE" if everything else "(rules_version IS DISTINCT FROM ? OR outcome = 'error')"
    args = [] if everything else [RULES_VERSION]
    # Under the table's shared lock: a live server's compaction may swap the files meanwhile.
    with reading(tables) as db:
        counts = db.execute(
            f"SELECT source, count(*) FROM analysis WHERE {stale} GROUP BY source ORDER BY source",
            args,
        ).fetchall()
    files = tuple(str(s) for s, _ in counts if s is not None and s != ARCHIVE)
    return Plan(
        archive=any(s == ARCHIVE for s, _ in counts),
        files=files,
        stale=sum(int(n) for _, n in counts),
        unknown=sum(int(n) for s, n in counts if s is None),
    )


def reanalyse(
    folder: DataDir,
    todo: Plan,
    *,
    executor: Executor,
    geoip: Path | None,
    done: Callable[[FileResult], None],
) -> int:
    """Carry out a plan; the number of rows written. The tables are compacted at the end."""
    tables = folder.tables
    written = 0

    def count(result: FileResult) -> None:
        nonlocal written
        written += result.rows
        done(result)

    if todo.archive:
        geo = GeoIP(geoip) if geoip is not None else None
        try:
            written += Pipeline(folder.archive, tables, geo=geo).reanalyse()
        finally:
            if geo is not None:
                geo.close()
    if todo.files:
        run(executor, [Path(f) for f in todo.files], tables, count, geoip)
    if written:
        compact(tables)
    return written
