"""A country's detection events as bars in time: one row per entity, coloured by kind.

The events are the event store's (observatory/eventstore.py), as `/api/v1/events?country=CC`
lists them, so the chart's JSON and CSV links are that query. An ongoing event reaches `now`
(a parameter: the chart says what was known then) and its table row says "ongoing".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from netvigil.detect.model import Event
from netvigil.web.charts import KIND_COLOURS, Chart, Gettext, base, labels, same
from netvigil.web.timelines import iso


def events_timeline(
    events: Sequence[Event],
    cc: str,
    now: dt.datetime,
    *,
    place: str | None = None,
    gettext: Gettext = same,
    where: Callable[[str], str] = str,
) -> Chart:
    """A country's events as bars in time, one row per entity (named by `where`: Bago,
    Myanmar (Burma) for region:MM-02), coloured by kind; a warning paler than a critical
    event. An ongoing event reaches `now`."""
    values: list[dict[str, Any]] = [
        {
            "id": e.id,
            "entity": where(e.entity),
            "kind": e.kind,
            "level": e.level,
            "start": iso(e.start),
            "end": iso(e.end or now),
            "ongoing": e.end is None,
            "confidence": round(e.confidence, 2),
            "cause": e.cause,
            "summary": e.summary,
        }
        for e in events
    ]
    kinds = sorted({e.kind for e in events})
    if values:
        alt = gettext(
            "{count} detection events in {cc} from {first} to {last}: {kinds}; {ongoing} ongoing."
        ).format(
            count=len(values),
            cc=place or cc,
            first=iso(min(e.start for e in events)),
            last=iso(max(e.end or now for e in events)),
            kinds=", ".join(f"{sum(e.kind == k for e in events)} {gettext(k)}" for k in kinds),
            ongoing=sum(e.end is None for e in events),
        )
    else:
        alt = gettext("No detection events in {cc}.").format(cc=place or cc)
    title = gettext("Shutdowns and outages in {cc}").format(cc=place or cc)
    entities = {e.entity for e in events}
    spec = base(title, alt, min(600, max(140, 28 * len(entities) + 110))) | {
        "data": {"values": values},
        "mark": {"type": "bar", "cornerRadius": 2},
        "encoding": {
            "x": {"field": "start", "type": "temporal", "title": None, "scale": {"type": "utc"}},
            "x2": {"field": "end"},
            "y": {"field": "entity", "type": "nominal", "title": None},
            "color": {
                "field": "kind",
                "type": "nominal",
                "title": gettext("Kind"),
                "scale": {"domain": list(KIND_COLOURS), "range": list(KIND_COLOURS.values())},
                "legend": {"labelExpr": labels(tuple(KIND_COLOURS), gettext)},
            },
            "opacity": {
                "field": "level",
                "type": "nominal",
                "title": gettext("Level"),
                "scale": {"domain": ["critical", "warning"], "range": [1.0, 0.45]},
                "legend": {"labelExpr": labels(("critical", "warning"), gettext)},
            },
            "tooltip": [
                {"field": "entity"},
                {"field": "kind"},
                {"field": "level"},
                {"field": "start", "type": "temporal", "format": "%Y-%m-%d %H:%M"},
                {"field": "end", "type": "temporal", "format": "%Y-%m-%d %H:%M"},
                {"field": "confidence"},
                {"field": "summary"},
            ],
        },
    }
    keys = ("entity", "kind", "level", "start", "end", "confidence", "cause")
    return Chart(
        name="events",
        title=title,
        alt=alt,
        spec=spec,
        table=tuple(
            {k: v[k] for k in keys} | ({"end": gettext("ongoing")} if v["ongoing"] else {})
            for v in values
        ),
        columns=(
            ("entity", gettext("Where")),
            ("kind", gettext("Kind")),
            ("level", gettext("Level")),
            ("start", gettext("Began")),
            ("end", gettext("Ended")),
            ("confidence", gettext("Confidence")),
            ("cause", gettext("Cause")),
        ),
        query=f"/api/v1/events?country={cc}",
        args=f"probe_cc={cc}",
        key=cc,
    )
