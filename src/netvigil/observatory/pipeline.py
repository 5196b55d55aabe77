"""The incremental pipeline: new archive records → analysis rows → Parquet, every second.

It remembers how far it has read in each archive segment (`position.json`, replaced
atomically after the Parquet files are in place). A crash between the two re-reads some
records and writes their rows again; the tables keep the newest row per measurement, so
the result is the same (idempotent). The blocking work runs in a worker thread so the
server's event loop keeps answering; the loop itself is a task in the server's task group.
`reanalyse` reads the whole archive again with the current rules (`netvigil reanalyze`);
the archive is only read, so it may run beside a live server.

In the server the steps run in a worker process of their own (`run_in_worker`): analysis is
CPU-bound Python, and in a thread it held the collector's GIL, which cut acknowledged
submissions by a quarter under load (bench/collector_bench.py: ratio 0.47 against 0.63 with
the pipeline idle). The process is started with `spawn` (forking a threaded server is unsafe)
and owned by the server's task group; it reads its requests from a pipe, so it ends when the
server does, even after a kill -9.

One measurement never stops the pipeline. One that cannot be decoded or analysed is an
error row (rows.py), and so is one that meets a bug in the analysis: the row names the
exception's type and message, and each step that met bugs logs one line (how many, and the
first). Raising instead would stop every later measurement for good, since the position
would never pass the one that fails (a dead-letter row is the only way to go on that also
keeps the failure visible: `outcome=error`, `error_count`, and `netvigil reanalyze` reads
error rows again once the bug is fixed). An archive line that is no record at all (a damaged
disk block) is an error row too, named after its segment and offset. Failures outside a
measurement's own analysis (writing the tables, the position file) still end the step, and
the worker is restarted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import multiprocessing
import os
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

from netvigil.addresses import REAL_WORLD, Bogons
from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.geoip import GeoIP
from netvigil.observatory.archive import Stored, read_since
from netvigil.observatory.columns import Row
from netvigil.observatory.rows import error_row, readable_envelope, row_of
from netvigil.observatory.tables import compact, file_count, write_rows
from netvigil.observatory.worker import reap, receive
from netvigil.records import Envelope

BATCH = 5000
COMPACT_AT = 2000  # small files: beyond this many, queries slow down; merge them
RESTART_AFTER = 5.0  # seconds between a failed worker and the next


class Pipeline:
    def __init__(
        self,
        archive: Path,
        tables: Path,
        *,
        geo: GeoIP | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        bogon: Bogons = REAL_WORLD,
    ) -> None:
        self.archive = archive
        self.tables = tables
        self.geo = geo
        self.bogon = bogon
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
        bugs: list[str] = []

        def damaged(segment: str, offset: int, reason: str) -> None:
            uid = f"damaged_{segment.removesuffix('.jsonl')}_{offset}"  # no uid survived
            message = f"damaged archive line ({segment} at byte {offset}): {reason}"
            rows.append(error_row(Envelope(), uid, None, (), now, message))

        for stored, where in read_since(self.archive, position, damaged):
            rows.append(self._row(stored, now, bugs))
            if len(rows) >= BATCH:
                total += write_rows(self.tables, rows)
                save(where)
                rows = []
        if rows:
            total += write_rows(self.tables, rows)
        if total:
            save(position)
        if bugs:
            print(
                f"error: {len(bugs)} measurement(s) met a bug in the analysis and were stored "
                f"as error rows; first: {bugs[0]}",
                file=sys.stderr,
            )
        return total

    def _row(self, stored: Stored, now: dt.datetime, bugs: list[str]) -> Row:
        try:
            return row_of(stored, self.fingerprints, now, self.geo, self.bogon)
        except Exception as exc:  # a bug, for one measurement: see the module docstring
            message = f"internal error: {type(exc).__name__}: {exc}".splitlines()[0]
            bugs.append(f"{stored.uid}: {message}")
            envelope = readable_envelope(bytes(stored.measurement))
            return error_row(envelope, stored.uid, stored.report_id, stored.flags, now, message)

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


def _worker(
    connection: Connection,
    archive: str,
    tables: str,
    geoip: str | None,
    lab_networks: tuple[str, ...] = (),
) -> None:
    """The worker process: one step per request until the server hangs up.

    A closed pipe (the server ended, or was killed) reads as EOF once the step under way is
    done, so the worker never outlives the server and never stops mid-write. A failing step
    (a full disk) ends the worker with one line on stderr; the server starts another.
    """
    try:
        geo = GeoIP(Path(geoip)) if geoip else None
        bogon = Bogons.with_lab(lab_networks)
        pipeline = Pipeline(Path(archive), Path(tables), geo=geo, bogon=bogon)
        pipeline.catch_up()
        connection.send(0)
        while True:
            connection.recv()
            written = pipeline.step()
            if file_count(pipeline.tables) > COMPACT_AT:
                compact(pipeline.tables)
            connection.send(written)
    except (EOFError, BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        return  # the server is gone, or stopping
    except Exception as exc:
        print(f"error: pipeline step failed: {exc}".splitlines()[0], file=sys.stderr)
        sys.exit(1)


async def run_in_worker(
    archive: Path,
    tables: Path,
    geoip: Path | None,
    interval: float = 1.0,
    lab_networks: tuple[str, ...] = (),
) -> None:
    """The server's pipeline loop: steps in a worker process until cancelled. `lab_networks`
    (a lab's, addresses.Bogons.with_lab) are analysed as public addresses.

    A worker that ends on its own (a failed step) is replaced after RESTART_AFTER seconds:
    collection goes on regardless, and the position file says where to resume.
    """
    while True:
        await _one_worker(archive, tables, geoip, interval, lab_networks)
        print(f"error: the pipeline stopped; restarting in {RESTART_AFTER:.0f} s", file=sys.stderr)
        await asyncio.sleep(RESTART_AFTER)


async def _one_worker(
    archive: Path,
    tables: Path,
    geoip: Path | None,
    interval: float,
    lab_networks: tuple[str, ...],
) -> None:
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    worker = context.Process(
        target=_worker,
        args=(theirs, str(archive), str(tables), str(geoip) if geoip else None, lab_networks),
        name="netvigil-pipeline",
    )
    worker.start()
    theirs.close()
    try:
        await receive(ours)  # caught up
        while True:
            ours.send(None)
            if not await receive(ours):
                await asyncio.sleep(interval)
    except (EOFError, OSError):
        return  # the worker ended
    finally:
        ours.close()  # the worker finishes its step, reads EOF and exits
        await asyncio.shield(asyncio.to_thread(reap, worker))
