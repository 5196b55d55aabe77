"""`/events` and `/events/{id}`: the detector's shutdowns, outages and blocking changes.

The list takes the filters `/api/v1/events` takes, parsed by the same function
(`observatory.events_api.parse`), so a page and the API never disagree on what a query
means: a bad value is a 400 page naming it. An event's page says where in words (the
country's name, the region's, the network's AS name), what kind and how sure, when it began
and whether it has ended, the cause as far as the data shows, the signals that fired (what
was expected, what was seen, their ratio and the test's threshold), our vantage points per
network, the evidence as links into the explorer, and the line of events it grew from.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from netvigil.detect.model import Event
from netvigil.observatory.events_api import EVENT_ID, KINDS, LEVELS, PARAMETERS, parse
from netvigil.observatory.eventstore import Stored
from netvigil.observatory.query import BadQuery, once
from netvigil.web import chart_data
from netvigil.web.event_series import attributions
from netvigil.web.layout import Missing, language, page, render
from netvigil.web.measurement import UID
from netvigil.web.names import asn_label, country_name, network_names, region_name
from netvigil.web.site import Site


def when(moment: dt.datetime | None) -> str:
    """A time as the pages write it: UTC, to the minute."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def place(event: Event, names: dict[int, str], lang: str) -> dict[str, str]:
    """Where an event is, in words and as a link: its country, region or network."""
    kind, _, rest = event.entity.partition(":")
    if kind == "asn":
        asn = int(rest)
        label = asn_label(asn, names.get(asn))
        if event.country:
            label += f" ({country_name(event.country, lang)})"
        return {"label": label, "href": f"/network/AS{asn}"}
    cc = rest[:2]
    if kind == "region":
        label = f"{region_name(rest)}, {country_name(cc, lang)}"
        return {"label": label, "href": f"/country/{cc}"}
    return {"label": country_name(cc, lang), "href": f"/country/{cc}"}


def _asns(events: list[Stored]) -> list[int]:
    found = [n.asn for s in events for n in s.event.networks]
    found += [int(s.event.entity[4:]) for s in events if s.event.entity.startswith("asn:")]
    return found


def described(site: Site, events: list[Stored], lang: str) -> list[dict[str, Any]]:
    """The events as the templates show them: the stored record and its place in words."""
    names = network_names(site, _asns(events))
    return [
        {
            "id": s.event.id,
            "event": s.event,
            "place": place(s.event, names, lang),
            "ongoing": s.event.end is None,
            "start": when(s.event.start),
            "end": when(s.event.end),
            "detected": when(s.event.detected),
            "confidence": f"{s.event.confidence:.2f}",
            "lineage": s.lineage,
            "first_seen": when(s.first_seen),
            "last_changed": when(s.last_changed),
            "countries": s.countries,
            "names": names,
        }
        for s in events
    ]


def evidence_link(item: str) -> str | None:
    """Where an event's evidence item is shown: a measurement uid's page, or nowhere."""
    return f"/measurement/{item}" if UID.fullmatch(item) else None


def listing(request: Request, site: Site) -> Response:
    # The form leaves a filter empty for "any" (the API refuses an empty value instead).
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k != "lang" and v]
    once(pairs)
    params = dict(pairs)
    if "format" in params:
        raise BadQuery("format: this page is HTML; use /api/v1/events for JSON or CSV")
    query = parse(params)
    found = site.events.select(query)
    api = "/api/v1/events" + ("?" + urlencode(pairs) if pairs else "")
    return render(
        request,
        "events.html",
        events=described(site, found, language(request)),
        kinds=KINDS,
        levels=LEVELS,
        params=params,
        parameters=PARAMETERS,
        json_url=api,
        csv_url=api + ("&" if pairs else "?") + "format=csv",
        atom_url=api.replace("/api/v1/events", "/api/v1/events.atom", 1),
        sources=attributions(site.outside),
    )


def one(request: Request, site: Site) -> Response:
    ident = str(request.path_params["id"])
    found = site.events.get(ident) if EVENT_ID.fullmatch(ident) else None
    if found is None:
        raise Missing(f"There is no detected event {ident}.")
    (event,) = described(site, [found], language(request))
    evidence = [(item, evidence_link(item)) for item in found.event.evidence]
    return render(
        request,
        "event.html",
        e=event,
        evidence=evidence,
        chart=chart_data.event(site, {"id": ident}, **chart_data.words(request)),
        sources=attributions(site.outside),
    )


def routes(site: Site) -> list[Route]:
    return [
        Route("/events", page(site, listing), methods=["GET"], include_in_schema=False),
        Route("/events/{id}", page(site, one), methods=["GET"], include_in_schema=False),
    ]
