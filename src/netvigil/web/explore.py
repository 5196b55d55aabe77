"""`/explore`: an aggregation explorer like OONI Explorer's MAT, on our data API (ooni.md §5.3).

The page is a GET form whose names are the aggregation's own (`axis_x`, `axis_y`,
`time_grain` and the filters of `/api/v1/aggregation`), plus `view` (bars, heatmap, table):
its whole state is its query string, so a chart can be linked, and every chart links to the
API query behind it (JSON and CSV) and to its SVG, PNG and Vega-Lite spec (the charts'
routes, `/charts/{outcomes,heatmap,bars}.svg|png|json`, with the aggregation's parameters).
Submitting the form re-renders the page without JavaScript; with htmx, a change fetches only
the results (`HX-Request`). A heat-map grid needs a y axis; bars without one are stacked by
outcome.

The cells are `observatory.data.aggregate`'s, the function the API answers with, so the page
and the API cannot disagree. A value the aggregation refuses (its `BadQuery`, one line) gives
the form again with that line and a 400; so do a parameter given twice, an unknown one and
one over `MAX_VALUE` characters (no country, network, domain or date is that long).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from netvigil.observatory import categories
from netvigil.observatory.data import aggregate, query_rows
from netvigil.observatory.query import GRAINS, OUTCOMES, BadQuery, once
from netvigil.web import chart_data, i18n
from netvigil.web.charts import Chart, query_string
from netvigil.web.explore_charts import FILTERS, MAX_VALUE, TIME, bars_chart, titles
from netvigil.web.layout import language, page, render
from netvigil.web.site import Site

VIEWS = ("bars", "heatmap", "table")
AXES = (
    *("measurement_start_day", "probe_cc", "probe_asn", "category_code", "domain"),
    *("technique", "test_name", "outcome"),
)
NAMES = frozenset({"axis_x", "axis_y", "time_grain", "view", "lang", *FILTERS})
MAX_ROWS = 500  # table rows on the page; the CSV link has every cell
HTMX = "/static/vendor/htmx.org/htmx.min.js"


class Form(msgspec.Struct, frozen=True, kw_only=True):
    """What the form shows (as typed, blanks kept) and the aggregation's query (no blanks)."""

    shown: dict[str, str]
    query: dict[str, str]
    view: str


def parse(pairs: list[tuple[str, str]]) -> Form:
    """The form's state from its query string; BadQuery (one line) for what cannot be used."""
    once(pairs)
    for name, value in pairs:
        if name not in NAMES:
            known = ", ".join(sorted(NAMES))
            raise BadQuery(f"{name}: not a parameter of the explorer; its parameters: {known}")
        if len(value) > MAX_VALUE:
            raise BadQuery(f"{name}: longer than {MAX_VALUE} characters")
    shown = {name: value.strip() for name, value in pairs if name != "lang"}
    view = shown.get("view") or "bars"
    if view not in VIEWS:
        raise BadQuery(f"view: expected one of {', '.join(VIEWS)}, got {view!r}")
    query = {k: v for k, v in shown.items() if v and k != "view"}
    query.setdefault("axis_x", "measurement_start_day")
    if TIME in (query["axis_x"], query.get("axis_y")):
        # years of data by day are bars narrower than a pixel: a month is the first view
        query.setdefault("time_grain", "month")
        shown["time_grain"] = query["time_grain"]
    if view == "heatmap" and "axis_y" not in query:
        raise BadQuery("axis_y: a heat-map grid needs a y axis (bars are stacked by outcome)")
    if query.get("axis_y") == query["axis_x"]:  # one axis twice: one cell per value, no grid
        raise BadQuery(f"axis_y: the same as axis_x ({query['axis_x']}); choose another or none")
    return Form(shown={**shown, "axis_x": query["axis_x"], "view": view}, query=query, view=view)


def _echo(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """The form's values as typed, for showing a refused form again (first of each, cut)."""
    shown: dict[str, str] = {}
    for name, value in pairs:
        if name in NAMES and name != "lang":
            shown.setdefault(name, value[:MAX_VALUE])
    return shown


def chart(site: Site, form: Form, cells: list[dict[str, Any]], request: Request) -> Chart:
    """The form's chart: the charts helper's outcomes over time or heat-map grid, else our
    bars (explore_charts.py); the same parameters, so its links are the same query."""
    words = chart_data.words(request)
    x, y = form.query["axis_x"], form.query.get("axis_y")
    if form.view == "heatmap":
        return chart_data.heat(site, form.query, **words)
    if x == TIME and y in (None, "outcome"):
        over_time = {k: v for k, v in form.query.items() if k not in ("axis_x", "axis_y")}
        return chart_data.outcomes(site, over_time, **words)
    query = "/api/v1/aggregation?" + query_string(form.query)
    return bars_chart(cells, form.query, titles(words["gettext"]), query, words["gettext"])


def choices(site: Site) -> dict[str, list[str]]:
    """Values to suggest in the form: the countries and tests in the data."""
    rows = query_rows(
        site.tables,
        "SELECT list(DISTINCT probe_cc ORDER BY probe_cc) AS cc, "
        "list(DISTINCT test_name ORDER BY test_name) AS tests FROM analysis",
        [],
    )
    return {"countries": rows[0]["cc"] or [], "tests": rows[0]["tests"] or []}


def _links(form: Form) -> dict[str, str]:
    return {
        "json": f"/api/v1/aggregation?{urlencode(form.query)}",
        "csv": f"/api/v1/aggregation?{urlencode({**form.query, 'format': 'CSV'})}",
    }


def explore(request: Request, site: Site) -> Response:
    pairs = request.query_params.multi_items()
    partial = request.headers.get("hx-request") == "true"
    context: dict[str, Any] = {
        "views": VIEWS,
        "axes": AXES,
        "grains": GRAINS[:4],
        "outcomes": OUTCOMES,
        "categories": categories.described(),
        "axis_names": titles(i18n.translations(language(request)).gettext),
    }
    try:
        form = parse(pairs)
        cells, labels = aggregate(site.tables, form.query)
        shown = chart(site, form, cells, request) if form.view != "table" and cells else None
    except BadQuery as exc:
        context |= {"form": _echo(pairs), "error": str(exc), "cells": [], "labels": []}
        code = 400
    else:
        context |= {
            "form": form.shown,
            "error": None,
            "cells": cells[:MAX_ROWS],
            "total": len(cells),
            "labels": labels,
            "links": _links(form),
            "chart": shown,
            "view": form.view,
            "measurements": sum(c["measurement_count"] for c in cells),
        }
        code = 200
    headers = {"Vary": "HX-Request, Accept-Language, Cookie"}
    if partial:
        # The address htmx pushes: the state without the form's blank fields, as a link is.
        state = {k: v for k, v in context["form"].items() if v}
        headers["HX-Push-Url"] = f"/explore?{urlencode(state)}"
        return render(request, "explore_results.html", code, headers, **context)
    return render(request, "explore.html", code, headers, htmx=HTMX, **context, **choices(site))


def routes(site: Site) -> list[BaseRoute]:
    return [Route("/explore", page(site, explore), methods=["GET"], include_in_schema=False)]
