"""The detected events' operations of the OpenAPI document (web/openapi.py assembles the whole).

Their parameters take their patterns and enums from what the server checks with
(observatory/events_api.py, and the event's `Kind` and `Level` in detect/model.py), so a value
the document calls valid is one the server accepts, and the reverse.
"""

from __future__ import annotations

from netvigil.observatory import events_api, query
from netvigil.web.openapi_parts import BOOLEAN, TIME, Op, Param, obj, one_of, string, whole

EVENT_FILTERS = (
    Param(
        "entity",
        "An entity exactly (country:IR, region:IR-23, asn:44244; the country code in either "
        "case), or a prefix ending in * (region:IR-*, asn:*).",
        {
            "anyOf": [
                string(pattern=events_api.ENTITY),
                string(pattern=events_api.PREFIX),
            ]
        },
    ),
    Param(
        "country",
        "Events whose vantage points are in this country (its own, its regions', its networks').",
        string(pattern=events_api.COUNTRY),
    ),
    Param("kind", "Kind of event.", one_of(events_api.KINDS)),
    Param("level", "Level, exactly.", one_of(events_api.LEVELS)),
    Param("since", "Events overlapping [since, until): ending after since, or ongoing.", TIME),
    Param("until", "Events that started before until.", TIME),
    Param(
        "min_confidence",
        "At least this confidence, 0 to 1 (up to six decimals).",
        string(pattern=events_api.CONFIDENCE),
    ),
    Param("ongoing", "true: no end yet; false: ended.", BOOLEAN),
    Param("limit", "Events (default 100).", whole(1, events_api.MAX_LIMIT, 100)),
)
BAD = "Bad input: the error names the parameter and what it takes (unknown ones too)."
EVENT = obj(
    ("id", "entity", "kind", "level", "start", "end", "confidence", "cause", "signals"),
)

EVENTS: tuple[Op, ...] = (
    Op(
        "/api/v1/events",
        "get",
        "Detected events (shutdowns, outages, throttling, blocking), the latest start "
        "first. CSV columns: " + ",".join(events_api.CSV_FIELDS) + " (lists as JSON text).",
        (*EVENT_FILTERS, Param("format", "JSON (default) or CSV.", one_of(query.FORMATS))),
        content=("application/json", "text/csv"),
        result=obj(("events",), events={"type": "array", "items": EVENT}),
        errors={400: BAD},
    ),
    Op(
        "/api/v1/events.atom",
        "get",
        "The same events as an Atom feed, each entry updated when its event last changed "
        "(new, ended, a raised level or kind).",
        EVENT_FILTERS,
        content=("application/atom+xml",),
        errors={400: BAD},
    ),
    Op(
        "/api/v1/events/{id}",
        "get",
        "One detected event, with when it was first seen and last changed.",
        result=EVENT,
        errors={400: "This path takes no parameters.", 404: "No such event."},
    ),
)
