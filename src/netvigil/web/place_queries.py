"""What the place pages read of the analysis table: a country's, a network's or a domain's
measurements counted by outcome, what was blocked there and how, and where.

Every query is over one place, a `Place`: the column is one of three fixed names (never
request text) and the value a parameter, so the SQL is the data API's own filter
(`/api/v1/aggregation?probe_cc=IR` counts what `overview` counts). Every list is bounded
(LIMIT); the pages say when a list was cut. Counts keep every outcome apart: a measurement
without a verdict (insufficient, unanalysed, error) is counted as such, never as access
(DESIGN.md: never say more than the data shows).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

import msgspec

from netvigil.observatory.columns import OUTCOMES
from netvigil.observatory.data import query_rows

Column = Literal["probe_cc", "probe_asn", "domain"]
GRAINS = {"day": 92, "week": 731}  # the finest grain whose span (days) keeps a timeline short
LIST_LIMIT = 200  # rows of a list on a page (the API links give the rest)


class Place(msgspec.Struct, frozen=True):
    column: Column
    value: str | int


class Overview(msgspec.Struct, frozen=True, kw_only=True):
    measurements: int
    networks: int
    countries: int
    first: dt.datetime | None
    last: dt.datetime | None
    outcomes: dict[str, int]  # every outcome of OUTCOMES, zero included
    blocked_targets: int  # distinct websites and apps seen blocked

    def count(self, outcome: str) -> int:
        return self.outcomes.get(outcome, 0)

    @property
    def present(self) -> tuple[str, ...]:
        """The outcomes seen at least once, in the API's order (a table's columns)."""
        return tuple(o for o in OUTCOMES if self.outcomes.get(o))


class Blocked(msgspec.Struct, frozen=True, kw_only=True):
    """One website or app (`target`) seen blocked in a place, or one network where a domain
    was: how (the techniques), since when (first and last blocked measurement), where, and
    the latest blocked measurement as the witness."""

    target: str  # the domain, or the test's name for an app's test without a URL
    domain: str | None
    probe_cc: tuple[str, ...]
    probe_asn: tuple[int, ...]
    techniques: tuple[str, ...]
    first: dt.datetime
    last: dt.datetime
    blocked: int
    measured: int  # every measurement of the target in the place, whatever its outcome
    witness: str  # measurement uid


class Share(msgspec.Struct, frozen=True, kw_only=True):
    """A network's measurements in a place, or a country's."""

    key: str | int  # an AS number, or a country code
    measurements: int
    blocked: int
    ok: int
    no_verdict: int  # insufficient, unanalysed or error

    @property
    def blocked_share(self) -> float | None:
        """Blocked among the measurements with a verdict; None without one (an insufficient
        measurement shows neither blocking nor access: it is no 0 %)."""
        judged = self.measurements - self.no_verdict
        return self.blocked / judged if judged else None


class Period(msgspec.Struct, frozen=True, kw_only=True):
    start: dt.date
    outcomes: dict[str, int]


def _counts() -> str:
    """One `count(*) FILTER` per outcome: the API's fixed vocabulary, not request text."""
    return ", ".join(f"count(*) FILTER (WHERE outcome = '{o}') AS \"{o}\"" for o in OUTCOMES)


def _rows(tables: Path, sql: str, args: list[object]) -> list[dict[str, Any]]:
    return query_rows(tables, sql, args)  # an empty table is one with no rows (tables.connect)


def overview(tables: Path, place: Place) -> Overview:
    (row,) = _rows(  # an aggregate without GROUP BY: one row, even of nothing
        tables,
        "SELECT count(*) AS measurements, count(DISTINCT probe_asn) AS networks, "
        "count(DISTINCT probe_cc) AS countries, min(measurement_start_time) AS first, "
        "max(measurement_start_time) AS last, "
        "count(DISTINCT coalesce(domain, test_name)) FILTER (WHERE outcome = 'blocked') "
        f"AS blocked_targets, {_counts()} FROM analysis WHERE {place.column} = ?",
        [place.value],
    )
    return Overview(
        measurements=row["measurements"],
        networks=row["networks"],
        countries=row["countries"],
        first=row["first"],
        last=row["last"],
        outcomes={o: int(row[o]) for o in OUTCOMES},
        blocked_targets=int(row["blocked_targets"]),
    )


_BLOCKED = (
    "any_value(domain) AS domain, "
    "list_sort(list_distinct(list(probe_cc) FILTER (WHERE outcome = 'blocked'))) AS probe_cc, "
    "list_sort(list_distinct(list(probe_asn) FILTER (WHERE outcome = 'blocked'))) AS probe_asn, "
    # No row with a technique gives NULL, not []: a blocked nettest may name none.
    "coalesce(list_sort(list_distinct(list(technique) FILTER "
    "(WHERE outcome = 'blocked' AND technique IS NOT NULL))), []::VARCHAR[]) AS techniques, "
    "min(measurement_start_time) FILTER (WHERE outcome = 'blocked') AS first, "
    "max(measurement_start_time) FILTER (WHERE outcome = 'blocked') AS last, "
    "count(*) FILTER (WHERE outcome = 'blocked') AS blocked, count(*) AS measured, "
    "arg_max(measurement_uid, measurement_start_time) FILTER (WHERE outcome = 'blocked') "
    "AS witness"
)


def blocked(tables: Path, place: Place, *, by: Literal["target", "network"]) -> list[Blocked]:
    """What was blocked in a place, per website or app (`target`), or per country and
    network (`network`, a domain's page); the most recently blocked first."""
    key = (
        "coalesce(domain, test_name) AS target"
        if by == "target"
        else "probe_cc || ' AS' || probe_asn AS target"
    )
    rows = _rows(
        tables,
        f"SELECT {key}, {_BLOCKED} FROM analysis WHERE {place.column} = ? GROUP BY 1 "
        "HAVING count(*) FILTER (WHERE outcome = 'blocked') > 0 "
        "ORDER BY last DESC, target LIMIT ?",
        [place.value, LIST_LIMIT],
    )
    return [msgspec.convert(r, Blocked) for r in rows]


def shares(tables: Path, place: Place, *, by: Literal["probe_asn", "probe_cc"]) -> list[Share]:
    """Measurements per network (or per country) of a place, the most measured first."""
    rows = _rows(
        tables,
        f"SELECT {by} AS key, count(*) AS measurements, "
        "count(*) FILTER (WHERE outcome = 'blocked') AS blocked, "
        "count(*) FILTER (WHERE outcome = 'ok') AS ok, "
        "count(*) FILTER (WHERE outcome IN ('insufficient', 'unanalysed', 'error')) "
        f"AS no_verdict FROM analysis WHERE {place.column} = ? GROUP BY 1 "
        "ORDER BY measurements DESC, key LIMIT ?",
        [place.value, LIST_LIMIT],
    )
    return [msgspec.convert(r, Share) for r in rows]


def grain(first: dt.datetime | None, last: dt.datetime | None) -> str:
    """The timeline's step: days over a quarter, weeks over two years, else months."""
    span = (last - first).days if first and last else 0
    return next((g for g, days in GRAINS.items() if span <= days), "month")


def timeline(tables: Path, place: Place, step: str) -> list[Period]:
    """Measurements per period and outcome, oldest first (at most LIST_LIMIT periods)."""
    if step not in (*GRAINS, "month"):
        raise ValueError(f"no such grain {step!r}")  # a caller's bug: grains are ours
    rows = _rows(
        tables,
        f"SELECT CAST(date_trunc('{step}', measurement_start_time) AS DATE) AS start, "
        f"{_counts()} FROM analysis WHERE {place.column} = ? GROUP BY 1 ORDER BY 1 LIMIT ?",
        [place.value, LIST_LIMIT],
    )
    return [Period(start=r["start"], outcomes={o: int(r[o]) for o in OUTCOMES}) for r in rows]
