"""OONI's own verdicts of a place, for its section of a place page: always OONI's, never ours.

The demo bundles rows of OONI's fastpath (per measurement: `anomaly`, `confirmed`,
`msm_failure`, `blocking_type`) in a Parquet file of their own, apart from the analysis
table. Interim: this reads that file as observatory/ooni_verdicts.py (the demo's module, on
its way to main) will, with the same questions (a country's, a network's, a domain's
counts), so the section's template does not change when the pages switch to it. No file,
or nothing from the place, is no section.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import msgspec

from netvigil.datadir import DataDir

SOURCE = "OONI fastpath"
LIMIT = 100
_COUNTS = (
    "count(*) AS measurements, count(*) FILTER (WHERE anomaly) AS anomalies, "
    "count(*) FILTER (WHERE confirmed) AS confirmed, "
    "count(*) FILTER (WHERE msm_failure) AS failures"
)


class Counts(msgspec.Struct, frozen=True, kw_only=True):
    """OONI's verdicts counted; `failures` are OONI's `msm_failure` (no verdict at all)."""

    key: str  # a test's name, a country code, "AS1234" or a domain
    measurements: int
    anomalies: int
    confirmed: int
    failures: int
    blocking_types: tuple[str, ...] = ()  # OONI's names (dns, tcp_ip, http-failure, ...)
    first: dt.datetime | None = None
    last: dt.datetime | None = None


class OoniPlace(msgspec.Struct, frozen=True, kw_only=True):
    total: Counts
    by_test: tuple[Counts, ...]
    by_part: tuple[Counts, ...]  # a country's networks, a network's countries, a domain's
    domains: tuple[Counts, ...]  # domains OONI saw an anomaly on (country, network pages)
    source: str = SOURCE


def table(folder: DataDir) -> Path:
    return folder.root / "tables" / "ooni-verdicts.parquet"  # DataDir.ooni_verdicts, soon


def _read(path: Path, sql: str, args: list[object]) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    with contextlib.closing(duckdb.connect()) as db:
        db.execute("SET TimeZone = 'UTC'")
        db.read_parquet(str(path)).create_view("ooni")
        cursor = db.execute(sql, args)
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def _counts(path: Path, key: str, where: str, args: list[object], more: str = "") -> list[Counts]:
    rows = _read(
        path,
        f"SELECT CAST({key} AS VARCHAR) AS key, {_COUNTS}, "
        "list_sort(list_distinct(list(blocking_type) FILTER (WHERE blocking_type <> ''))) "
        "AS blocking_types, min(measurement_start_time) AS first, "
        f"max(measurement_start_time) AS last FROM ooni WHERE {where} {more} GROUP BY 1 "
        "ORDER BY anomalies DESC, measurements DESC, key LIMIT ?",
        [*args, LIMIT],
    )
    return [
        msgspec.convert(r | {"blocking_types": r["blocking_types"] or []}, Counts) for r in rows
    ]


def verdicts(folder: DataDir, column: str, value: str | int) -> OoniPlace | None:
    """OONI's verdicts of measurements whose `column` (probe_cc, probe_asn or domain) is
    `value`; None when OONI's rows hold none."""
    if column not in ("probe_cc", "probe_asn", "domain"):
        raise ValueError(f"no such place column {column!r}")  # a caller's bug
    path, where = table(folder), f"{column} = ?"
    total = _counts(path, "'all'", where, [value])
    if not total:
        return None
    part = {"probe_cc": "'AS' || probe_asn", "probe_asn": "probe_cc", "domain": "probe_cc"}
    domains = (
        []
        if column == "domain"
        else _counts(path, "domain", where, [value], "AND domain <> '' AND anomaly")
    )
    return OoniPlace(
        total=total[0],
        by_test=tuple(_counts(path, "test_name", where, [value])),
        by_part=tuple(_counts(path, part[column], where, [value])),
        domains=tuple(domains),
    )
