"""The detector's events over HTTP: `/api/v1/events` (JSON or CSV), one event, an Atom feed.

Filters, each checked (a bad one is a 400 naming it and what it takes; so is a parameter
given twice or one the API does not know, since a misspelt filter silently ignored would
answer a different question):

- `entity`: exactly (`country:IR`, `region:IR-TEH`, `asn:44244`), or every entity that
  starts with a prefix ending in `*` (`region:IR-*`, `asn:*`);
- `country`: events whose vantage points are in a country (its own, its regions', its
  networks'); `kind`, `level`: exactly; `min_confidence`: 0 to 1;
- `since`, `until`: events overlapping [since, until) (an ongoing event overlaps every
  later time); `ongoing`: true (no end yet) or false;
- `limit`: 1 to 1000 (default 100); `format`: json (default) or csv.

The CSV's header is `CSV_FIELDS`; lists (countries, signals, networks, evidence) are JSON
text, as the data API writes them (api.py). The Atom feed (RFC 4287, feedgen as
incidents/feeds.py) has one entry per event, `updated` when it last changed (a new event, an
end, a raised level or kind), so a feed reader is told of each change: the alert channel for
anyone who subscribes without an account.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, get_args

import msgspec
from feedgen.feed import FeedGenerator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from netvigil.detect.model import EntityError, Kind, Level, entity
from netvigil.observatory.errors import NotFound
from netvigil.observatory.eventstore import EventStore, Query, Stored
from netvigil.observatory.query import BOOLEANS, BadQuery, integer, once, output_format
from netvigil.patterns import UINT32, WHEN

KINDS: tuple[str, ...] = get_args(Kind)
LEVELS: tuple[str, ...] = get_args(Level)
PARAMETERS = (
    *("entity", "country", "kind", "level", "since", "until", "min_confidence", "ongoing"),
    *("limit", "format"),
)
MAX_LIMIT = 1000
# What the filters take, exactly (the OpenAPI document shows the same patterns): an entity
# as detect/model.py spells it (a country code in either case), or a prefix ending in `*`.
ASN = UINT32.replace("[0-9]{1,9}|[0-3][0-9]{9}", "[1-9][0-9]{0,8}|[1-3][0-9]{9}", 1)  # 1..
ENTITY = rf"^(country:[A-Za-z]{{2}}|region:[A-Za-z]{{2}}-[^,\n*]+|asn:{ASN})$"
PREFIX = r"^(country|region|asn):[^,\n*]*\*$"
COUNTRY = r"^[A-Za-z]{2}$"
CONFIDENCE = r"^(0(\.[0-9]{1,6})?|1(\.0{1,6})?|\.[0-9]{1,6})$"
EVENT_ID = re.compile(r"^ev_[0-9a-f]{20}$")
CSV_FIELDS = (
    *("id", "entity", "kind", "level", "start", "end", "detected", "confidence", "cause"),
    *("summary", "countries", "signals", "networks", "evidence", "first_seen", "last_changed"),
)


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise BadQuery(f"{name}: expected one of {', '.join(allowed)}, got {value!r}")
    return value


def _moment(name: str, value: str) -> dt.datetime:
    problem = f"{name}: expected a date like 2026-01-08 or 2026-01-08T16:00:00Z, got {value!r}"
    if not re.fullmatch(WHEN, value):
        raise BadQuery(problem)
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise BadQuery(problem) from None


def parse(params: Mapping[str, str]) -> Query:
    """The filters as a store query; BadQuery (a 400) for any that cannot be used."""
    for name, value in params.items():
        if name not in PARAMETERS:
            raise BadQuery(f"{name}: unknown parameter; expected {', '.join(PARAMETERS)}")
        if value == "":
            raise BadQuery(f"{name}: empty value (leave the parameter out to match any)")
    exact = prefix = None
    if (wanted := params.get("entity")) is not None:
        if wanted.endswith("*"):
            if not re.fullmatch(PREFIX, wanted):
                raise BadQuery(
                    f"entity: a prefix is country:, region: or asn: then *, got {wanted!r}"
                )
            prefix = wanted[:-1]
        else:
            try:
                exact = entity(wanted) if re.fullmatch(ENTITY, wanted) else None
            except EntityError:
                exact = None  # a region named only by spaces: the pattern cannot say so
            if exact is None:
                raise BadQuery(
                    f"entity: unknown entity {wanted!r}: expected country:CC, region:CC-NAME, "
                    "asn:N or a prefix ending in *"
                )
    country = params.get("country")
    if country is not None and not re.fullmatch(COUNTRY, country):
        raise BadQuery(f"country: expected two letters, got {country!r}")
    confidence = params.get("min_confidence")
    if confidence is not None and not re.fullmatch(CONFIDENCE, confidence):
        raise BadQuery(f"min_confidence: expected a number from 0 to 1, got {confidence!r}")
    ongoing = params.get("ongoing")
    since, until = params.get("since"), params.get("until")
    return Query(
        entity=exact,
        entity_prefix=prefix,
        country=country.upper() if country else None,
        kind=_one_of("kind", params["kind"], KINDS) if "kind" in params else None,
        level=_one_of("level", params["level"], LEVELS) if "level" in params else None,
        since=_moment("since", since) if since else None,
        until=_moment("until", until) if until else None,
        min_confidence=float(confidence) if confidence else None,
        ongoing=_one_of("ongoing", ongoing, BOOLEANS) == "true" if ongoing else None,
        limit=integer(params, "limit", 100, 1, MAX_LIMIT),
    )


def _iso(moment: dt.datetime) -> str:
    """A time as msgspec writes the event's own (UTC as `Z`), so all of a body's agree."""
    return str(msgspec.to_builtins(moment))


def shown(stored: Stored) -> dict[str, Any]:
    """An event as the API shows it: the detector's record, and what the store adds."""
    body: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(stored.event))  # JSON types
    return {
        **body,
        "ongoing": stored.event.end is None,
        "countries": list(stored.countries),
        "first_seen": _iso(stored.first_seen),
        "last_changed": _iso(stored.last_changed),
    }


def _csv(events: list[Stored]) -> Response:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for stored in events:
        row = shown(stored)
        writer.writerow(
            {
                k: json.dumps(v) if isinstance(v, list) else ("" if v is None else v)
                for k, v in row.items()
            }
        )
    return Response(buffer.getvalue(), media_type="text/csv")


def atom(events: list[Stored], *, base: str, now: dt.datetime) -> bytes:
    feed = FeedGenerator()
    feed.id(f"{base}/api/v1/events.atom")
    feed.title("netvigil: detected shutdowns, outages and blocking")
    feed.link(href=f"{base}/api/v1/events.atom", rel="self")
    feed.author({"name": "netvigil"})
    feed.generator("netvigil")
    listed = sorted(events, key=lambda s: (s.last_changed, s.event.id), reverse=True)
    feed.updated(max((s.last_changed for s in listed), default=now))
    for stored in listed:
        event = stored.event
        entry = feed.add_entry(order="append")
        entry.id(f"{base}/api/v1/events/{event.id}")
        state = "ongoing" if event.end is None else f"ended {_iso(event.end)}"
        entry.title(f"{event.level} {event.kind}: {event.entity} ({state})")
        entry.updated(stored.last_changed)
        entry.published(stored.first_seen)
        entry.link(href=f"{base}/api/v1/events/{event.id}", rel="alternate")
        entry.summary(
            f"{event.summary} Cause: {event.cause}. Confidence {event.confidence:.2f}. "
            f"Started {_iso(event.start)}; {state}."
        )
        for term in (event.kind, f"level:{event.level}", event.entity, f"cause:{event.cause}"):
            entry.category(term=term)
    return bytes(feed.atom_str(pretty=True))


def routes(
    store: EventStore, now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
) -> list[Route]:
    async def listing(request: Request) -> Response:
        once(request.query_params.multi_items())
        params = request.query_params
        query, kind = parse(params), output_format(params)
        found = await asyncio.to_thread(store.select, query)
        if kind == "CSV":
            return _csv(found)
        return JSONResponse({"events": [shown(s) for s in found]})

    async def one(request: Request) -> Response:
        once(request.query_params.multi_items())
        if request.query_params:
            raise BadQuery("this path takes no parameters")
        ident = request.path_params["id"]
        found = await asyncio.to_thread(store.get, ident) if EVENT_ID.fullmatch(ident) else None
        if found is None:
            raise NotFound(f"no event {ident!r}")
        return JSONResponse(shown(found))

    async def feed(request: Request) -> Response:
        once(request.query_params.multi_items())
        params = request.query_params
        if "format" in params:
            raise BadQuery("format: the feed is Atom; use /api/v1/events for JSON or CSV")
        found = await asyncio.to_thread(store.select, parse(params))
        base = str(request.base_url).rstrip("/")
        return Response(atom(found, base=base, now=now()), media_type="application/atom+xml")

    return [
        Route("/api/v1/events", listing, methods=["GET"]),
        Route("/api/v1/events.atom", feed, methods=["GET"]),
        Route("/api/v1/events/{id}", one, methods=["GET"]),
    ]
