"""OONI's own verdicts of a place, for its section of a place page: always OONI's, never ours.

The demo bundles rows of OONI's fastpath (per measurement: `anomaly`, `confirmed`,
`msm_failure`, `blocking_type`) in a Parquet file of their own (`DataDir.ooni_verdicts`),
apart from the analysis table; observatory/ooni_verdicts.py loads and reads it. A place page
asks one question of it, the same for a country, a network and a domain: OONI's counts in
the place, per test, per part (a country's networks, a network's or a domain's countries)
and, but for a domain, the domains OONI saw an anomaly on. No file, or nothing from the
place, is no section.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import msgspec

from netvigil.datadir import DataDir
from netvigil.observatory.ooni_verdicts import SOURCE, read

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


def _counts(path: Path, key: str, where: str, args: list[object], more: str = "") -> list[Counts]:
    rows = read(
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
    path, where = folder.ooni_verdicts, f"{column} = ?"
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
