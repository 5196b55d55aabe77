"""Importing OONI measurement files into the tables, in parallel (pipelines.md §5).

`ingest_file` is the one pure unit of work: a file in, Parquet files out in the tables
folder (unique names, so workers never collide), a small result back. It runs wherever
`executor.run` sends it: this process, a pool of processes, or a Dask cluster.

Imported measurements keep their own `measurement_uid` when they have one (OONI's API data
does); otherwise the uid is derived from the deduplication key, so importing a file twice
adds no new measurement (the tables keep the newest row per uid).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path

import msgspec

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.geoip import GeoIP, GeoIPError
from netvigil.observatory.columns import Row
from netvigil.observatory.ids import dedup_key, measurement_uid
from netvigil.observatory.rows import row_for, start_time
from netvigil.observatory.tables import connect, write_rows
from netvigil.readers import Item, ReadError, list_files, read_path

BATCH = 20_000
REPORT_BYTES = 1 << 20  # progress is reported about once per MiB read

Progress = Callable[[str, int], None]  # (file as given, bytes of it read so far)


class FileResult(msgspec.Struct, frozen=True, kw_only=True):
    source: str
    rows: int
    bytes: int
    errors: tuple[str, ...]  # one line each: file:line: reason


def uid_of(item: Item) -> str:
    """OONI's uid when the measurement has one; else one derived from its content and time.

    No receipt time exists for an imported file: the uid's time is the measurement's own,
    so the same measurement imported from two files gets one uid.
    """
    measurement = item.measurement
    if measurement.measurement_uid:
        return measurement.measurement_uid
    content = msgspec.json.decode(item.raw)
    key = dedup_key(content) if isinstance(content, dict) else ""
    return measurement_uid(
        key,
        received=start_time(measurement.measurement_start_time),
        probe_cc=measurement.probe_cc or "ZZ",
        test_name=measurement.test_name,
    )


def ingest_file(
    path: str, tables: str, geoip: str | None = None, progress: Progress | None = None
) -> FileResult:
    """Analyse one file into new Parquet files under `tables`; never raises for bad input.

    `geoip` is the path of a MaxMind-format database for enrichment (each worker opens its
    own reader: readers do not cross process boundaries). `progress` is told now and then
    how many bytes of the file have been read.
    """
    fingerprints = FingerprintDB.load()
    now = dt.datetime.now(dt.UTC)
    rows: list[Row] = []
    errors: list[str] = []
    written = size = 0
    source = str(Path(path).resolve())
    try:
        geo = GeoIP(Path(geoip)) if geoip else None
    except GeoIPError as exc:
        return FileResult(source=path, rows=0, bytes=0, errors=(f"{path}: {exc}",))
    for item in read_path(Path(path), _reporter(path, progress)):
        if isinstance(item, ReadError):
            errors.append(item.describe())
            continue
        size += item.size
        measurement = item.measurement
        uid = uid_of(item)
        rows.append(
            row_for(
                measurement,
                uid,
                measurement.report_id,
                (),
                fingerprints,
                now,
                geo=geo,
                source=source,
                line=item.line,
            )
        )
        if len(rows) >= BATCH:
            written += write_rows(Path(tables), rows)
            rows = []
    written += write_rows(Path(tables), rows)
    if geo is not None:
        geo.close()
    return FileResult(source=path, rows=written, bytes=size, errors=tuple(errors))


def _reporter(path: str, progress: Progress | None) -> Callable[[int], None] | None:
    """A `read` callback for the reader, telling `progress` every REPORT_BYTES or so."""
    if progress is None:
        return None
    last = 0

    def read(position: int) -> None:
        nonlocal last
        if position - last >= REPORT_BYTES:
            last = position
            progress(path, position)

    return read


def count_new(tables: Path, files: list[Path], since: dt.datetime) -> int:
    """Measurements that an import starting at `since` added: its rows' distinct uids that
    no other row has. Counted before compaction, which drops the older of two rows."""
    if not any(tables.glob("**/*.parquet")):
        return 0
    db = connect(tables)
    try:
        db.execute(
            "CREATE TEMP TABLE run_sources AS SELECT unnest(?::VARCHAR[]) AS source",
            [[str(p.resolve()) for p in files]],
        )
        (count,) = db.execute(
            """
            WITH tagged AS (
                SELECT measurement_uid, analysed_at >= ? AND coalesce(source, '') IN
                    (SELECT source FROM run_sources) AS ours
                FROM analysis
            )
            SELECT count(*) FROM (
                SELECT measurement_uid FROM tagged GROUP BY measurement_uid
                HAVING bool_and(ours)
            )
            """,
            [since],
        ).fetchone() or (0,)
    finally:
        db.close()
    return int(count)


def files_of(paths: Iterable[Path]) -> list[Path]:
    return list_files(paths)
