"""Columnar tables: hive-partitioned, zstd Parquet, queried through DuckDB (pipelines.md §3).

Layout: `tables/analysis/date=YYYY-MM-DD/probe_cc=CC/test_name=T/part-<id>.parquet`, readable
by any Parquet engine. Files are only ever added, each written to a temporary name and
renamed into place, so a reader never sees half a file.

Invariant: after `compact()`, no two rows share a `measurement_uid`. Only two things can
add a second row for a measurement — re-importing a file, and the pipeline re-reading
records after a crash (or re-analysing with newer rules) — and each compacts afterwards,
keeping the newest row. Queries can then read the files as they are, with no per-query
deduplication (which cost 1 s per million rows in measurements, against 0.15 s for the
whole aggregation). Compaction also merges the many small files incremental writes leave.
Writers and queries (`reading`) hold a shared lock on the table and compaction an exclusive
one (`flock`), so an import and a running server never lose each other's files, and no query
loses its files to a compaction.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb
import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from netvigil.observatory.columns import NO_VERDICT, Row

PARTITIONS = ("date", "probe_cc", "test_name")  # folders of the table, not columns of its files


def arrow_type(kind: msgspec.inspect.Type) -> pa.DataType:
    """The Arrow type of a `Row` field's type (`X | None` is X: every column is nullable)."""
    if isinstance(kind, msgspec.inspect.UnionType):
        (kind,) = (k for k in kind.types if not isinstance(k, msgspec.inspect.NoneType))
    if isinstance(kind, msgspec.inspect.StrType):
        return pa.string()
    if isinstance(kind, msgspec.inspect.BoolType):
        return pa.bool_()
    if isinstance(kind, msgspec.inspect.IntType):
        return pa.int64()
    if isinstance(kind, msgspec.inspect.FloatType):
        return pa.float64()
    if isinstance(kind, msgspec.inspect.DateTimeType):
        return pa.timestamp("us", tz="UTC")  # rows hold UTC times (rows.start_time)
    if isinstance(kind, msgspec.inspect.VarTupleType):
        return pa.list_(arrow_type(kind.item_type))
    if isinstance(kind, msgspec.inspect.StructType):
        return pa.struct([(f.name, arrow_type(f.type)) for f in kind.fields])
    raise TypeError(f"no column type for {kind!r}")  # a new kind of field: a bug to fix here


def schema_of(row: type[msgspec.Struct]) -> pa.Schema:
    """The Parquet files' schema: the row's fields, in order, but the partitions."""
    info = msgspec.inspect.type_info(row)
    assert isinstance(info, msgspec.inspect.StructType)
    return pa.schema(
        [(f.name, arrow_type(f.type)) for f in info.fields if f.name not in PARTITIONS]
    )


SCHEMA = schema_of(Row)


@contextlib.contextmanager
def locked(folder: Path, *, exclusive: bool) -> Iterator[None]:
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        _recover(folder)  # a compaction cut short by a crash: under the lock, nobody writes
        if not exclusive:
            fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def reading(folder: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection (`connect`) held under a shared lock on the table: DuckDB reads the files
    when a query runs, so without it a compaction's swap could remove them mid-query (an
    IOException: a 500 from the API). Compaction waits for readers, and readers for it."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        db = connect(folder)
        try:
            yield db
        finally:
            db.close()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _recover(folder: Path) -> None:
    """Finish or undo a compaction's swap (`_compact`), whichever step a crash cut short."""
    retired = folder.with_name(folder.name + ".old")
    if not folder.exists() and retired.exists():
        os.replace(retired, folder)  # swapped out, not yet in: put the old table back
    shutil.rmtree(folder.with_name(folder.name + ".compacting"), ignore_errors=True)
    shutil.rmtree(retired, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)


def write_rows(folder: Path, rows: Iterable[Row]) -> int:
    """Add rows as new Parquet files, one per partition; the number of rows written."""
    with locked(folder, exclusive=False):
        return _write_rows(folder, rows)


def _write_rows(folder: Path, rows: Iterable[Row]) -> int:
    groups: dict[tuple[str, str, str], list[dict[str, object]]] = defaultdict(list)
    for row in rows:
        record = msgspec.structs.asdict(row)
        where = (str(record.pop("date")), str(record.pop("probe_cc")), str(record.pop("test_name")))
        record["addresses"] = [msgspec.structs.asdict(a) for a in row.addresses]
        groups[where].append(record)
    written = 0
    for (date, cc, test), records in groups.items():
        partition = folder / f"date={date}" / f"probe_cc={cc}" / f"test_name={test}"
        partition.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(records, schema=SCHEMA)
        name = f"part-{uuid.uuid4().hex}.parquet"
        temporary = partition / f".{name}.tmp"
        pq.write_table(table, temporary, compression="zstd")
        os.replace(temporary, partition / name)
        written += len(records)
    return written


def connect(folder: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the `analysis` view over the files (one row per uid once
    compacted: see the module docstring)."""
    db = duckdb.connect()
    db.execute("SET TimeZone = 'UTC'")
    files = str(folder / "**" / "*.parquet")
    if any(folder.glob("**/*.parquet")):
        db.execute(
            f"CREATE VIEW raw_analysis AS SELECT * FROM read_parquet('{files}', "
            "hive_partitioning = true, union_by_name = true)"
        )
    else:
        columns = ", ".join(f"{f.name} {_duck(f.type)}" for f in SCHEMA)
        db.execute(
            f"CREATE TABLE raw_analysis ({columns}, date VARCHAR, probe_cc VARCHAR, "
            "test_name VARCHAR)"
        )
    # Files written before a column existed read as NULL in it (schema evolution), and
    # `failure` is read from the outcome: rows written before unanalysed measurements were
    # "no verdict" say failure = false for them, and must not count as ok.
    present = {row[0] for row in db.execute("DESCRIBE raw_analysis").fetchall()}
    added = "".join(f", NULL::{_duck(f.type)} AS {f.name}" for f in SCHEMA if f.name not in present)
    no_verdict = ", ".join(f"'{outcome}'" for outcome in sorted(NO_VERDICT))
    db.execute(
        f"CREATE VIEW analysis AS SELECT * REPLACE (outcome IN ({no_verdict}) AS failure)"
        f"{added} FROM raw_analysis"
    )
    return db


def _duck(kind: pa.DataType) -> str:
    if pa.types.is_boolean(kind):
        return "BOOLEAN"
    if pa.types.is_integer(kind):
        return "BIGINT"
    if pa.types.is_floating(kind):
        return "DOUBLE"
    if pa.types.is_timestamp(kind):
        return "TIMESTAMPTZ"
    if isinstance(kind, pa.ListType):
        return f"{_duck(kind.value_type)}[]"
    if isinstance(kind, pa.StructType):
        fields = ", ".join(f"{f.name} {_duck(f.type)}" for f in kind)
        return f"STRUCT({fields})"
    return "VARCHAR"


def file_count(folder: Path) -> int:
    return sum(1 for _ in folder.glob("**/*.parquet"))


def compact(folder: Path) -> None:
    """Rewrite the table keeping only the newest row per measurement (atomic swap)."""
    with locked(folder, exclusive=True):
        _compact(folder)


def _compact(folder: Path) -> None:
    if not any(folder.glob("**/*.parquet")):
        return
    staging = folder.with_name(folder.name + ".compacting")
    shutil.rmtree(staging, ignore_errors=True)
    db = connect(folder)
    db.execute(
        f"COPY (SELECT * FROM analysis QUALIFY row_number() OVER (PARTITION BY "
        f"measurement_uid ORDER BY analysed_at DESC) = 1) TO '{staging}' "
        f"(FORMAT parquet, COMPRESSION zstd, PARTITION_BY ({', '.join(PARTITIONS)}))"
    )
    db.close()
    retired = folder.with_name(folder.name + ".old")
    shutil.rmtree(retired, ignore_errors=True)
    os.replace(folder, retired)
    os.replace(staging, folder)
    shutil.rmtree(retired)
