"""Turning data-API parameters into safe SQL over the `analysis` table (ooni.md §5.3).

Every filter is validated here and becomes a parameterised condition; an unknown value is a
`BadQuery` whose message is the 400 answer and names the valid values. Axis and ordering
names are chosen from fixed tables, never interpolated from the request. Numbers are ASCII
digits only: `str.isdigit` is true for "²", which `int` refuses, and `int` reads other
scripts' digits ("٣" is 3), which no client means. The vocabularies below are also the enums
of the OpenAPI document (openapi.py), so the document and the server agree.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from netvigil.analysis import nettests
from netvigil.observatory import categories
from netvigil.observatory.errors import BadRequest
from netvigil.patterns import UINT32, WHEN

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
    "vendor": "vendor",  # the product a blockpage names (analysis/vendors.py); NULL if none
    # The test lists' category of the domain; only the aggregation joins it in (data.py).
    "category_code": categories.COLUMN,
}
GRAINS = ("hour", "day", "week", "month", "year")
ORDER_BY = ("measurement_start_time", "input", "probe_cc", "probe_asn", "test_name")
# `unanalysed`: a nettest the analysis does not cover yet; `error`: a measurement that failed
# a step of the pipeline (an error row, with its message).
OUTCOMES = ("blocked", "tampered", "down", "ok", "insufficient", "unanalysed", "error")
LAYERS = ("dns", "tcp", "udp", "tls", "http", "tunnel")
FAILURES = ("timeout", "reset", "refused", "eof", "unreachable", "failure")
# Every technique a layer verdict can name: the union of the families' declared ids
# (analysis/nettests.py); a blockpage is named by its fingerprint: `http_blockpage:NAME`.
TECHNIQUES = nettests.TECHNIQUES
BLOCKPAGE = re.compile(r"^http_blockpage:[A-Za-z0-9_.\-]{1,128}$")
FORMATS = ("JSON", "CSV", "json", "csv")
DIRECTIONS = ("asc", "desc", "ASC", "DESC")
BOOLEANS = ("true", "false")
MAX_ASN = 2**32 - 1
CC = r"^[A-Za-z]{2}$"
ASN = rf"^([Aa][Ss])?{UINT32}$"
TEST_NAME = r"^[a-z0-9_]{1,64}$"
VENDOR = r"^[^\x00-\x1f\x7f]{1,128}$"  # a product's name as vendors.csv spells it
FILTERS = (
    *("probe_cc", "probe_asn", "test_name", "input", "domain", "report_id"),
    *("since", "until", "anomaly", "confirmed", "failure", "outcome", "layer", "technique"),
    "category_code",
    "vendor",
)


class BadQuery(BadRequest):
    """A parameter the API cannot use; the message says which and why, in one line (a 400)."""


def _date(name: str, value: str) -> dt.datetime:
    if not re.fullmatch(WHEN, value):
        raise BadQuery(f"{name}: expected a date like 2024-02-14, got {value!r}")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        # In UTC now: an offset that moves year 1 or 9999 out of range fails here, not in DuckDB.
        return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise BadQuery(f"{name}: expected a date like 2024-02-14, got {value!r}") from None


def _one_of(name: str, value: str, allowed: tuple[str, ...], more: str = "") -> str:
    if value not in allowed:
        raise BadQuery(f"{name}: expected one of {', '.join(allowed)}{more}, got {value!r}")
    return value


def asn_number(value: str) -> int:
    """AS1234, as1234 or 1234 (ASCII digits, below 2^32)."""
    digits = value[2:] if value[:2].upper() == "AS" else value
    if not re.fullmatch(ASN, value):
        raise BadQuery(f"probe_asn: expected AS1234 or 1234 (below 2^32), got {value!r}")
    return int(digits)


def technique(value: str) -> str:
    if BLOCKPAGE.fullmatch(value):
        return value
    return _one_of("technique", value, TECHNIQUES, " or http_blockpage:FINGERPRINT")


def output_format(params: Mapping[str, str]) -> str:
    """JSON (the default) or CSV, upper or lower case as OONI's clients send them."""
    return _one_of("format", params.get("format", "JSON"), FORMATS).upper()


def once(pairs: list[tuple[str, str]]) -> None:
    """A parameter given twice is refused: which of the two would the answer be for?"""
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            raise BadQuery(f"{name}: given more than once")
        seen.add(name)


def category(value: str) -> str:
    return _one_of("category_code", value, categories.codes())


def conditions(params: Mapping[str, str], *, categorised: bool = False) -> tuple[str, list[object]]:
    """The WHERE clause (without the keyword) and its arguments. `categorised`: the query
    joins the categories (`categories.COLUMN`); only the aggregation does, so elsewhere a
    `category_code` filter is refused rather than ignored."""
    clauses: list[str] = []
    args: list[object] = []
    for name in FILTERS:
        if params.get(name) == "":
            raise BadQuery(f"{name}: empty value (leave the parameter out to match any)")
    if cc := params.get("probe_cc"):
        if not re.fullmatch(CC, cc):
            raise BadQuery(f"probe_cc: expected two letters, got {cc!r}")
        clauses.append("probe_cc = ?")
        args.append(cc.upper())
    if asn := params.get("probe_asn"):
        clauses.append("probe_asn = ?")
        args.append(asn_number(asn))
    if test := params.get("test_name"):
        if not re.fullmatch(TEST_NAME, test):
            raise BadQuery(f"test_name: not a test name: {test!r}")
        clauses.append("test_name = ?")
        args.append(test)
    checks = {
        "outcome": lambda v: _one_of("outcome", v, OUTCOMES),
        "layer": lambda v: _one_of("layer", v, LAYERS),
        "technique": technique,
    }
    for name in ("input", "domain", "report_id", "outcome", "layer", "technique"):
        if value := params.get(name):
            clauses.append(f"{name} = ?")
            args.append(checks[name](value) if name in checks else value)
    if vendor := params.get("vendor"):
        if not re.fullmatch(VENDOR, vendor):
            raise BadQuery(f"vendor: expected a product's name (1-128 characters), got {vendor!r}")
        clauses.append("vendor = ?")
        args.append(vendor)
    if since := params.get("since"):
        clauses.append("measurement_start_time >= ?")
        args.append(_date("since", since))
    if until := params.get("until"):
        clauses.append("measurement_start_time < ?")
        args.append(_date("until", until))
    for name in ("anomaly", "confirmed", "failure"):
        if (value := params.get(name)) is not None:
            clauses.append(f"{name} = ?")
            args.append(_one_of(name, value, BOOLEANS) == "true")
    if (code := params.get("category_code")) is not None:
        if not categorised:
            raise BadQuery("category_code: only /api/v1/aggregation filters by category")
        clauses.append(f"{categories.COLUMN} = ?")
        args.append(category(code))
    return (" AND ".join(clauses) or "TRUE"), args


def integer(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    # At most 18 digits before int(): Python refuses to convert over 4,300 (a ValueError).
    whole = value.isascii() and value.isdigit() and len(value) <= 18
    if not whole or not low <= int(value) <= high:
        raise BadQuery(f"{name}: expected a whole number from {low} to {high}, got {value!r}")
    return int(value)


def axis(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    _one_of(name, value, tuple(AXES))
    grain = time_grain(params)
    if value == "measurement_start_day" and grain == "hour":
        return "date_trunc('hour', measurement_start_time)"  # a DATE would drop the hour
    return AXES[value].format(grain=grain)


def time_grain(params: Mapping[str, str]) -> str:
    """Checked even when no axis is a time (a wrong value is not silently ignored)."""
    grain = _one_of("time_grain", params.get("time_grain", "day"), (*GRAINS, "auto"))
    return "day" if grain == "auto" else grain


def order(params: Mapping[str, str]) -> str:
    column = params.get("order_by", "measurement_start_time")
    direction = params.get("order", "desc")
    _one_of("order_by", column, ORDER_BY)
    _one_of("order", direction, DIRECTIONS)
    return f"{column} {direction.upper()}, measurement_uid"
