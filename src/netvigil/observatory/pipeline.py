"""The incremental pipeline: new archive records → analysis rows → Parquet, every second.

It remembers how far it has read in each archive segment (`position.json`, replaced
atomically after the Parquet files are in place). A crash between the two re-reads some
records and writes their rows again; the tables keep the newest row per measurement, so
the result is the same (idempotent). The blocking work runs in a worker thread so the
server's event loop keeps answering; the loop itself is a task in the server's task group.
`reanalyse` reads the whole archive again with the current rules (`netvigil reanalyze`);
the archive is only read, so it may run beside a live server.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
from collections.abc import Callable
from pathlib import Path

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.geoip import GeoIP
from netvigil.observatory.archive import read_since
from netvigil.observatory.rows import Row, row_of
from netvigil.observatory.tables import compact, file_count, write_rows

BATCH = 5000
COMPACT_AT = 2000  # small files: beyond this many, queries slow down; merge them


class Pipeline:
    def __init__(
        self,
        archive: Path,
        tables: Path,
        *,
        geo: GeoIP | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.archive = archive
        self.tables = tables
        self.geo = geo
        self.now = now
        self.position_file = tables.parent / "position.json"
        self.fingerprints = FingerprintDB.load()
        tables.mkdir(parents=True, exist_ok=True)

    def _position(self) -> dict[str, int]:
        try:
            value = json.loads(self.position_file.read_text())
        except (OSError, ValueError):
            return {}
        return {str(k): int(v) for k, v in value.items()} if isinstance(value, dict) else {}

    def _save(self, position: dict[str, int]) -> None:
        temporary = self.position_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(position))
        os.replace(temporary, self.position_file)

    def _analyse(self, position: dict[str, int], save: Callable[[dict[str, int]], None]) -> int:
        rows: list[Row] = []
        now = self.now()
        total = 0
        for stored, where in read_since(self.archive, position):
            rows.append(row_of(stored, self.fingerprints, now, self.geo))
            if len(rows) >= BATCH:
                total += write_rows(self.tables, rows)
                save(where)
                rows = []
        if rows:
            total += write_rows(self.tables, rows)
        if total:
            save(position)
        return total

    def step(self) -> int:
        """Analyse what the archive gained since the last step; the number of rows."""
        return self._analyse(self._position(), self._save)

    def reanalyse(self) -> int:
        """Analyse every archived measurement again (the caller compacts afterwards)."""
        return self._analyse({}, lambda _: None)

    def catch_up(self) -> None:
        """At start: analyse what was missed, then compact away any row written twice."""
        self.step()
        compact(self.tables)

    async def run(self, interval: float = 1.0) -> None:
        await asyncio.to_thread(self.catch_up)
        while True:
            written = await asyncio.to_thread(self.step)
            if file_count(self.tables) > COMPACT_AT:
                await asyncio.to_thread(compact, self.tables)
            if not written:
                await asyncio.sleep(interval)
