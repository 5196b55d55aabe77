"""The charts' data: each chart's parameters checked, its rows read, its builder called.

Pages call these to show a chart (`{% include "chart.html" %}` with the Chart), and the chart
routes (chart_routes.py) call the same to draw it, so a page's image, its spec, its table and
its JSON/CSV links all come from one query. The aggregation's own checks (observatory/query.py,
through `aggregate`) refuse a bad filter with the API's message; a parameter a chart does not
take is refused too (a misspelt filter silently ignored would chart a different question).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol, TypedDict

from starlette.requests import Request

from netvigil.observatory.data import aggregate
from netvigil.observatory.errors import NotFound
from netvigil.observatory.events_api import EVENT_ID, parse
from netvigil.observatory.query import BadQuery, time_grain
from netvigil.web import explore_charts, i18n
from netvigil.web.cell_charts import heatmap, outcomes_over_time
from netvigil.web.charts import Chart, Gettext, query_string, same
from netvigil.web.event_bars import events_timeline
from netvigil.web.event_series import HISTORY, Sources, read_series
from netvigil.web.layout import language
from netvigil.web.maps import country_map, world_map
from netvigil.web.names import country_name, entity_name
from netvigil.web.timelines import event_signals, window

FILTERS = (
    *("probe_cc", "probe_asn", "domain", "test_name", "since", "until"),
    *("category_code", "outcome"),  # the explorer's filters too (explore.py)
)
CC = re.compile(r"^[A-Za-z]{2}$")


class Words(TypedDict):
    """A reader's language for a chart: its gettext, and its names of countries."""

    gettext: Gettext
    name: Callable[[str], str]


def words(request: Request) -> Words:
    """The words of the request's language, as its page has them (layout.language): pages
    pass them to a builder, `outcomes(site, params, **words(request))`."""
    lang = language(request)
    return Words(
        gettext=i18n.translations(lang).gettext, name=functools.partial(country_name, lang=lang)
    )


def known(params: Mapping[str, str], allowed: tuple[str, ...]) -> dict[str, str]:
    for name, value in params.items():
        if name not in allowed:
            raise BadQuery(f"{name}: not a parameter of this chart; expected {', '.join(allowed)}")
        if value == "":
            raise BadQuery(f"{name}: empty value (leave the parameter out to match any)")
    return {k: v for k, v in params.items() if k != "lang"}


def country(params: Mapping[str, str]) -> str:
    cc = params.get("probe_cc")
    if cc is None or not CC.fullmatch(cc):
        raise BadQuery(f"probe_cc: expected two letters, got {cc!r}")
    return cc.upper()


def _cells(tables: Path, api: dict[str, str]) -> tuple[list[dict[str, object]], str]:
    rows, _ = aggregate(tables, api)  # validates every filter (BadQuery)
    return rows, "/api/v1/aggregation?" + query_string(api)


def code(cc: str) -> str:
    return cc


def outcomes(
    site: Sources,
    params: Mapping[str, str],
    *,
    title: str | None = None,
    gettext: Gettext = same,
    name: Callable[[str], str] = code,
) -> Chart:
    """Measurements per outcome over time (filters as /api/v1/aggregation's, and time_grain)."""
    given = known(params, (*FILTERS, "time_grain", "lang"))
    grain = time_grain(given)
    api = given | {"axis_x": "measurement_start_day", "axis_y": "outcome", "time_grain": grain}
    rows, query = _cells(site.tables, api)
    cc = given.get("probe_cc", "").upper()
    where = (name(cc) if cc else "") or given.get("domain") or given.get("probe_asn")
    heading = title or (
        gettext("Outcomes of measurements in {where}, by {grain}").format(where=where, grain=grain)
        if where
        else gettext("Outcomes of measurements, by {grain}").format(grain=grain)
    )
    return outcomes_over_time(rows, grain, heading, params=given, query=query, gettext=gettext)


def heat(
    site: Sources,
    params: Mapping[str, str],
    *,
    title: str | None = None,
    gettext: Gettext = same,
    name: Callable[[str], str] = code,
) -> Chart:
    """The blocked share of each axis_x × axis_y cell (both required, and different)."""
    given = known(params, (*FILTERS, "axis_x", "axis_y", "time_grain", "lang"))
    for axis in ("axis_x", "axis_y"):
        if axis not in given:
            raise BadQuery(f"{axis}: required (a heat-map needs two axes)")
    if given["axis_x"] == given["axis_y"]:
        raise BadQuery("axis_y: must differ from axis_x")
    rows, query = _cells(site.tables, given)
    return heatmap(
        rows,
        given["axis_x"],
        given["axis_y"],
        params=given,
        query=query,
        title=title,
        gettext=gettext,
    )


def event(
    site: Sources,
    params: Mapping[str, str],
    *,
    gettext: Gettext = same,
    name: Callable[[str], str] = code,
) -> Chart:
    given = known(params, ("id", "lang"))
    ident = given.get("id", "")
    if not EVENT_ID.fullmatch(ident):
        raise BadQuery(f"id: expected an event id like ev_ and 20 hex digits, got {ident!r}")
    stored = site.events.get(ident)
    if stored is None:
        raise NotFound(f"no event {ident!r}")
    now = site.now()
    since, until = window(stored.event, now)
    wanted = {(f.entity, f.signal) for f in stored.event.signals}
    series = read_series(site, wanted, since - HISTORY, min(until, now))
    where = entity_name(stored.event.entity, name)
    return event_signals(stored.event, series, now, gettext=gettext, where=where)


def events(
    site: Sources,
    params: Mapping[str, str],
    *,
    gettext: Gettext = same,
    name: Callable[[str], str] = code,
) -> Chart:
    """A country's detection events (its own, its regions', its networks')."""
    cc = country(known(params, ("probe_cc", "lang")))
    found = site.events.select(parse({"country": cc}))
    return events_timeline(
        [s.event for s in found],
        cc,
        site.now(),
        place=name(cc),
        gettext=gettext,
        where=lambda entity: entity_name(entity, name),
    )


def world(
    site: Sources,
    params: Mapping[str, str],
    *,
    name: Callable[[str], str] = code,
    gettext: Gettext = same,
) -> Chart:
    """Every country's blocked share (filters as the aggregation's, but for a country)."""
    given = known(params, (*FILTERS[1:], "lang"))
    rows, query = _cells(site.tables, given | {"axis_x": "probe_cc"})
    return world_map(rows, params=given, query=query, country=name, gettext=gettext)


def country_chart(
    site: Sources,
    params: Mapping[str, str],
    *,
    name: Callable[[str], str] = code,
    gettext: Gettext = same,
) -> Chart:
    given = known(params, (*FILTERS, "lang"))
    cc = country(given)
    others = {k: v for k, v in given.items() if k != "probe_cc"}
    rows, query = _cells(site.tables, others | {"axis_x": "probe_cc"})
    return country_map(
        cc, rows, params=given | {"probe_cc": cc}, query=query, country=name, gettext=gettext
    )


class Builder(Protocol):
    def __call__(
        self,
        site: Sources,
        params: Mapping[str, str],
        *,
        gettext: Gettext = same,
        name: Callable[[str], str] = code,
    ) -> Chart: ...


BUILDERS: dict[str, Builder] = {
    "outcomes": outcomes,
    "heatmap": heat,
    "event": event,
    "events": events,
    "world": world,
    "country": country_chart,
    "bars": explore_charts.bars,
}
