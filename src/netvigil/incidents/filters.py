"""Filters on incidents, shared by lists, exports, feeds and saved feeds.

A filter is validated before use: an unknown country, kind, status or technique, a bad date
or paging value is a clear 400, never an empty result that looks like an answer.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, get_args

import msgspec

from netvigil.incidents.errors import BadInput
from netvigil.incidents.model import Incident, Kind, Status, Technique
from netvigil.incidents.validate import known_country
from netvigil.patterns import WHEN

MAX_LIMIT = 1000


class BadFilter(BadInput):
    """A filter value that cannot be used (one line)."""


class Filter(msgspec.Struct, frozen=True, kw_only=True):
    country: str | None = None
    kind: str | None = None
    status: str | None = None
    technique: str | None = None
    asn: int | None = None
    q: str | None = None
    since: dt.datetime | None = None
    limit: int = 100
    offset: int = 0

    def matches(self, incident: Incident) -> bool:
        title = " ".join(incident.title.values()).lower()
        return (
            (self.country is None or self.country in incident.countries)
            and (self.kind is None or incident.kind == self.kind)
            and (self.status is None or incident.status == self.status)
            and (self.technique is None or self.technique in incident.techniques)
            and (self.asn is None or any(n.asn == self.asn for n in incident.networks))
            and (self.q is None or self.q.lower() in title)
            and (self.since is None or incident.updated_at >= self.since)
        )

    def saved(self) -> dict[str, Any]:
        """The filter as stored with a feed (paging is not part of it)."""
        kept = msgspec.to_builtins(self)
        return {k: v for k, v in kept.items() if v is not None and k not in ("limit", "offset")}


def _one_of(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is not None and value not in allowed:
        raise BadFilter(f"{name}: unknown value {value!r}")
    return value


def _number(name: str, value: Any, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    text = str(value)
    whole = text.isascii() and text.isdigit() and len(text) <= 18  # int() refuses > 4,300
    if not whole or not low <= int(text) <= high:
        raise BadFilter(f"{name}: a whole number from {low} to {high}")
    return int(text)


def parse_filter(params: Mapping[str, Any], *, paged: bool = True) -> Filter:
    country = params.get("country")
    if country is not None and not known_country(str(country)):
        raise BadFilter(f"country: unknown country code {country!r}")
    asn = params.get("asn")
    if asn is not None:
        text = str(asn).upper().removeprefix("AS")
        if not (text.isascii() and text.isdigit() and len(text) <= 10) or int(text) >= 2**32:
            raise BadFilter(f"asn: not an AS number {asn!r}")
    since = params.get("since")
    stamp = None
    if since is not None:
        if not re.fullmatch(WHEN, str(since)):
            raise BadFilter(f"since: not an ISO 8601 time {since!r}")
        try:
            stamp = dt.datetime.fromisoformat(str(since).replace("Z", "+00:00"))
        except ValueError:
            raise BadFilter(f"since: not an ISO 8601 time {since!r}") from None
        stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
    q = params.get("q")
    if q is not None and len(str(q)) > 200:
        raise BadFilter("q: at most 200 characters")
    return Filter(
        country=country,
        kind=_one_of("kind", params.get("kind"), get_args(Kind)),
        status=_one_of("status", params.get("status"), get_args(Status)),
        technique=_one_of("technique", params.get("technique"), get_args(Technique)),
        asn=int(str(asn).upper().removeprefix("AS")) if asn is not None else None,
        q=str(q) if q is not None else None,
        since=stamp,
        limit=_number("limit", params.get("limit"), 100, 1, MAX_LIMIT) if paged else 10**9,
        offset=_number("offset", params.get("offset"), 0, 0, 10**9) if paged else 0,
    )
