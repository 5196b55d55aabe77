"""OONI's own verdicts of OONI's measurements, as the pages show them: always labelled OONI's.

OONI's fastpath decides per measurement `anomaly`, `confirmed` (a known blockpage) and
`msm_failure`; the demo bundles 1,081 of its rows (data/samples/ooni-fastpath-rows.jsonl.gz,
SOURCES.md there). They are not our analysis and never go into the analysis table: they
live in their own Parquet file (`DataDir.ooni_verdicts`), and every result here carries
`source = "OONI fastpath"` so a page can say whose verdict it shows.

`load` rebuilds that file from JSONL lines: a line that is not a row (bad JSON, a wrong
type, a uid seen before) is skipped and counted, never a crash; the same lines give the same
table, so loading twice changes nothing. The queries are pure reads of the file (DuckDB,
as `data.query_rows` reads the analysis table); no file means no rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import os
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, Final, Protocol

import duckdb
import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

SOURCE: Final = "OONI fastpath"
MAX_LINE = 1 << 20  # a fastpath row is under 2 kB; a longer line is not one


class Row(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One fastpath row as bundled (scripts/convert-fastpath-rows writes these columns)."""

    measurement_uid: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    report_id: str
    input: str
    domain: str
    probe_cc: Annotated[str, msgspec.Meta(pattern="^[A-Z]{2}$")]
    probe_asn: Annotated[int, msgspec.Meta(ge=0, lt=2**32)]
    test_name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    measurement_start_time: Annotated[dt.datetime, msgspec.Meta(tz=True)]  # a zone, not a guess
    anomaly: bool
    confirmed: bool
    msm_failure: bool
    blocking_type: str
    scores: dict[str, Any]
    software_name: str
    software_version: str


class Verdict(Row, frozen=True, kw_only=True):
    """A row as the queries return it, labelled."""

    source: str = SOURCE


class Loaded(msgspec.Struct, frozen=True, kw_only=True):
    rows: int
    skipped: int  # lines that were not a row, each counted once
    source: str = SOURCE


class Counts(msgspec.Struct, frozen=True, kw_only=True):
    """OONI's verdicts counted: `failures` are OONI's `msm_failure` (no verdict at all)."""

    measurements: int
    anomalies: int
    confirmed: int
    failures: int


class PerTest(Counts, frozen=True, kw_only=True):
    test_name: str


class Group(Counts, frozen=True, kw_only=True):
    """A country's counts (`probe_asn` None) or a network's in a country, and per test."""

    probe_cc: str
    probe_asn: int | None = None
    by_test: tuple[PerTest, ...]
    source: str = SOURCE


class DomainCounts(Counts, frozen=True, kw_only=True):
    probe_cc: str
    domain: str
    blocking_types: tuple[str, ...]  # OONI's names (dns, tcp_ip, http-failure, http-diff)
    first: dt.datetime
    last: dt.datetime
    source: str = SOURCE


_TYPES = {"probe_asn": pa.int64(), "measurement_start_time": pa.timestamp("us", tz="UTC")}
_TYPES |= dict.fromkeys(("anomaly", "confirmed", "msm_failure"), pa.bool_())
SCHEMA = pa.schema([(name, _TYPES.get(name, pa.string())) for name in Row.__struct_fields__])
_DECODE = msgspec.json.Decoder(Row)


def _row(line: bytes) -> Row | None:
    try:
        return _DECODE.decode(line)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None


def load(lines: Iterable[bytes], table: Path) -> Loaded:
    """The table rebuilt from `lines` (JSON rows; blank lines ignored), sorted by time and uid;
    written beside and swapped in, so a reader sees the old table or the new one."""
    rows: dict[str, Row] = {}
    skipped = 0
    for line in lines:
        if not line.strip():
            continue
        row = _row(line)
        if row is None or row.measurement_uid in rows:
            skipped += 1
            continue
        rows[row.measurement_uid] = row
    ordered = sorted(rows.values(), key=lambda r: (r.measurement_start_time, r.measurement_uid))
    records = [
        msgspec.structs.asdict(r) | {"scores": msgspec.json.encode(r.scores).decode()}
        for r in ordered
    ]
    table.parent.mkdir(parents=True, exist_ok=True)
    partial = table.with_name(f".{table.name}.partial")
    pq.write_table(pa.Table.from_pylist(records, schema=SCHEMA), partial)
    os.replace(partial, table)
    return Loaded(rows=len(records), skipped=skipped)


class Readable(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


def lines_of(handle: Readable) -> Iterator[bytes]:
    """A file's lines, a line longer than MAX_LINE given as one bad line; a gzip stream that
    breaks off ends the lines there with one bad line (the rows before it are kept)."""
    try:
        while line := handle.readline(MAX_LINE + 1):
            if len(line) > MAX_LINE:
                while (rest := handle.readline(MAX_LINE)) and not rest.endswith(b"\n"):
                    pass
                line = b"\x00"  # not JSON: counted as skipped
            yield line
    except (EOFError, zlib.error, gzip.BadGzipFile):
        yield b"\x00"


def load_file(path: Path, table: Path) -> Loaded:
    """`load` from a JSONL file, gzip-compressed when its name ends in .gz."""
    with gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb") as handle:
        return load(lines_of(handle), table)


# --- queries: pure reads of the table ------------------------------------------------------


def read(table: Path, sql: str, args: list[object]) -> list[dict[str, Any]]:
    """`sql` over the view `ooni` (the table's rows), as `data.query_rows` reads `analysis`."""
    if not table.is_file():
        return []
    with contextlib.closing(duckdb.connect()) as db:
        db.execute("SET TimeZone = 'UTC'")
        db.read_parquet(str(table)).create_view("ooni")
        cursor = db.execute(sql, args)
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


_COUNTS = (
    "count(*) AS measurements, count(*) FILTER (WHERE anomaly) AS anomalies, "
    "count(*) FILTER (WHERE confirmed) AS confirmed, "
    "count(*) FILTER (WHERE msm_failure) AS failures"
)
_NUMBERS = ("measurements", "anomalies", "confirmed", "failures")


def _where(**wanted: object) -> tuple[str, list[object]]:
    """`column = ?` for each value given (None: any), and the arguments."""
    given = {k: v for k, v in wanted.items() if v is not None}
    return " AND ".join(["true", *(f"{k} = ?" for k in given)]), list(given.values())


def _groups(table: Path, keys: tuple[str, ...], **wanted: object) -> list[Group]:
    """Counts per `keys` (probe_cc, and probe_asn for networks), each with its tests."""
    where, args = _where(**wanted)
    columns = ", ".join(keys)
    sql = f"SELECT {columns}, test_name, {_COUNTS} FROM ooni WHERE {where} GROUP BY ALL"
    found: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in read(table, f"{sql} ORDER BY ALL", args):
        found.setdefault(tuple(r[k] for k in keys), []).append(r)
    return [
        msgspec.convert(
            dict(zip(keys, key, strict=True))
            | {n: sum(t[n] for t in tests) for n in _NUMBERS}
            | {"by_test": [{k: t[k] for k in ("test_name", *_NUMBERS)} for t in tests]},
            Group,
        )
        for key, tests in found.items()
    ]


def countries(table: Path) -> list[Group]:
    """Every country's counts of OONI's verdicts, with its counts per test, by country code."""
    return _groups(table, ("probe_cc",))


def country(table: Path, cc: str) -> Group | None:
    """One country's counts; None when OONI's rows have none from it."""
    return next(iter(_groups(table, ("probe_cc",), probe_cc=cc)), None)


def networks(table: Path, *, cc: str | None = None, asn: int | None = None) -> list[Group]:
    """Counts per network and country (an AS can measure from two), by country then AS."""
    return _groups(table, ("probe_cc", "probe_asn"), probe_cc=cc, probe_asn=asn)


def domains(
    table: Path, *, cc: str | None = None, domain: str | None = None, limit: int = 100
) -> list[DomainCounts]:
    """Per country and domain (rows that name one), the most anomalies first."""
    where, args = _where(probe_cc=cc, domain=domain)
    sql = (
        f"SELECT probe_cc, domain, {_COUNTS}, "
        "list_sort(list_distinct(list(blocking_type) FILTER (WHERE blocking_type <> ''))) "
        "AS blocking_types, min(measurement_start_time) AS first, "
        f"max(measurement_start_time) AS last FROM ooni WHERE domain <> '' AND {where} "
        "GROUP BY ALL ORDER BY anomalies DESC, confirmed DESC, probe_cc, domain LIMIT ?"
    )
    rows = read(table, sql, [*args, max(0, min(limit, 10_000))])
    return [
        msgspec.convert(r | {"blocking_types": r["blocking_types"] or []}, DomainCounts)
        for r in rows
    ]


def measurement(table: Path, uid: str) -> list[Verdict]:
    """OONI's row of one measurement uid, as a list: empty when OONI's sample lacks it."""
    rows = read(table, "SELECT * FROM ooni WHERE measurement_uid = ?", [uid])
    return [
        msgspec.convert(r | {"scores": msgspec.json.decode(r["scores"])}, Verdict) for r in rows
    ]
