"""Turning data-API parameters into safe SQL over the `analysis` table (ooni.md §5.3).

Every filter is validated here and becomes a parameterised condition; an unknown value is a
`BadQuery` whose message is the 400 answer. Axis and ordering names are chosen from fixed
tables, never interpolated from the request.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

AXES = {
    "measurement_start_day": "CAST(date_trunc('{grain}', measurement_start_time) AS DATE)",
    "probe_cc": "probe_cc",
    "probe_asn": "probe_asn",
    "test_name": "test_name",
    "domain": "domain",
    "input": "input",
    "blocking_type": "blocking_type",
    "outcome": "outcome",
    "layer": "layer",
    "technique": "technique",
}
GRAINS = {"hour", "day", "week", "month", "year"}
ORDER_BY = {"measurement_start_time", "input", "probe_cc", "probe_asn", "test_name"}
_CC = re.compile(r"^[A-Z]{2}$")
_ASN = re.compile(r"^(AS)?(\d{1,10})$")
_TEST = re.compile(r"^[a-z0-9_]{1,64}$")
_BOOL = {"true": True, "false": False}


class BadQuery(ValueError):
    """A parameter the API cannot use; the message says which and why, in one line."""


def _date(name: str, value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadQuery(f"{name}: expected a date like 2024-02-14, got {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def conditions(params: Mapping[str, str]) -> tuple[str, list[object]]:
    """The WHERE clause (without the keyword) and its arguments."""
    clauses: list[str] = []
    args: list[object] = []
    if cc := params.get("probe_cc"):
        if not _CC.match(cc.upper()):
            raise BadQuery(f"probe_cc: expected two letters, got {cc!r}")
        clauses.append("probe_cc = ?")
        args.append(cc.upper())
    if asn := params.get("probe_asn"):
        match = _ASN.match(asn.upper())
        if match is None:
            raise BadQuery(f"probe_asn: expected AS1234 or 1234, got {asn!r}")
        clauses.append("probe_asn = ?")
        args.append(int(match[2]))
    if test := params.get("test_name"):
        if not _TEST.match(test):
            raise BadQuery(f"test_name: not a test name: {test!r}")
        clauses.append("test_name = ?")
        args.append(test)
    for name in ("input", "domain", "report_id", "outcome", "layer", "technique"):
        if value := params.get(name):
            clauses.append(f"{name} = ?")
            args.append(value)
    if since := params.get("since"):
        clauses.append("measurement_start_time >= ?")
        args.append(_date("since", since))
    if until := params.get("until"):
        clauses.append("measurement_start_time < ?")
        args.append(_date("until", until))
    for name in ("anomaly", "confirmed", "failure"):
        if (value := params.get(name)) is not None:
            if value.lower() not in _BOOL:
                raise BadQuery(f"{name}: expected true or false, got {value!r}")
            clauses.append(f"{name} = ?")
            args.append(_BOOL[value.lower()])
    return (" AND ".join(clauses) or "TRUE"), args


def integer(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise BadQuery(f"{name}: expected a whole number from {low} to {high}, got {value!r}")
    return int(value)


def axis(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if value not in AXES:
        raise BadQuery(f"{name}: expected one of {', '.join(sorted(AXES))}, got {value!r}")
    grain = params.get("time_grain", "day")
    if grain == "auto":
        grain = "day"
    if grain not in GRAINS:
        raise BadQuery(f"time_grain: expected one of {', '.join(sorted(GRAINS))}, got {grain!r}")
    return AXES[value].format(grain=grain)


def order(params: Mapping[str, str]) -> str:
    column = params.get("order_by", "measurement_start_time")
    direction = params.get("order", "desc").lower()
    if column not in ORDER_BY:
        raise BadQuery(f"order_by: expected one of {', '.join(sorted(ORDER_BY))}, got {column!r}")
    if direction not in ("asc", "desc"):
        raise BadQuery(f"order: expected asc or desc, got {direction!r}")
    return f"{column} {direction.upper()}, measurement_uid"
