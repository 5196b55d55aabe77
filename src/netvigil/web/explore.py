"""`/explore`: an aggregation explorer like OONI Explorer's MAT, on our data API (ooni.md §5.3).

The page is a GET form whose names are the aggregation's own (`axis_x`, `axis_y`,
`time_grain` and the filters of `/api/v1/aggregation`), plus `view` (bars, heatmap, table):
its whole state is its query string, so a chart can be linked, and every chart links to the
API query behind it (JSON and CSV) and to its SVG, PNG and Vega-Lite spec
(`/explore/chart.svg|png|json`, the same query string). Submitting the form re-renders the
page without JavaScript; with htmx, a change fetches only the results (`HX-Request`).

The cells are `observatory.data.aggregate`'s, the function the API answers with, so the page
and the API cannot disagree. A value the aggregation refuses (its `BadQuery`, one line) gives
the form again with that line and a 400; so do a parameter given twice, an unknown one and
one over `MAX_VALUE` characters (no country, network, domain or date is that long).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import msgspec
import vl_convert
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from netvigil.observatory import categories
from netvigil.observatory.data import aggregate, query_rows
from netvigil.observatory.query import GRAINS, OUTCOMES, BadQuery, once
from netvigil.web import explore_charts, i18n
from netvigil.web.layout import HEADERS, language, page, render
from netvigil.web.site import Site

VIEWS = ("bars", "heatmap", "table")
AXES = (
    *("measurement_start_day", "probe_cc", "probe_asn", "category_code", "domain"),
    *("technique", "test_name", "outcome"),
)
FILTERS = (
    *("probe_cc", "probe_asn", "domain", "category_code", "test_name"),
    *("since", "until", "outcome"),
)
NAMES = frozenset({"axis_x", "axis_y", "time_grain", "view", "lang", *FILTERS})
MAX_VALUE = 256
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
            raise BadQuery(f"{name}: not a parameter of the explorer (use {', '.join(AXES)})")
        if len(value) > MAX_VALUE:
            raise BadQuery(f"{name}: longer than {MAX_VALUE} characters")
    shown = {name: value.strip() for name, value in pairs if name != "lang"}
    view = shown.get("view") or "bars"
    if view not in VIEWS:
        raise BadQuery(f"view: expected one of {', '.join(VIEWS)}, got {view!r}")
    query = {k: v for k, v in shown.items() if v and k != "view"}
    query.setdefault("axis_x", "measurement_start_day")
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


def titles(_: explore_charts.Gettext) -> dict[str, str]:
    return {
        "measurement_start_day": _("Time"),
        "probe_cc": _("Country"),
        "probe_asn": _("Network"),
        "category_code": _("Category"),
        "domain": _("Domain"),
        "technique": _("Technique"),
        "test_name": _("Test"),
        "outcome": _("Outcome"),
        "input": _("URL"),
        "layer": _("Layer"),
        "blocking_type": _("Blocking type"),
    }


def chart_spec(form: Form, cells: list[dict[str, Any]], lang: str) -> dict[str, Any]:
    """The Vega-Lite spec of the form's view over its cells."""
    _ = i18n.translations(lang).gettext
    named = titles(_)
    x, y = form.query["axis_x"], form.query.get("axis_y")
    grain = form.query.get("time_grain", "day")
    if form.view == "heatmap":
        spec = explore_charts.heatmap(cells, x, y, grain, named, _)
        spec["title"] = (
            _("Share blocked by {x} and {y}").format(x=named[x].lower(), y=named[y].lower())
            if y
            else _("Share blocked by {x}").format(x=named[x].lower())
        )
    else:
        spec = explore_charts.bars(cells, x, y, grain, named, _)
        spec["title"] = _("Measurements by {x}, stacked by {y}").format(
            x=named[x].lower(), y=(named[y] if y else _("Outcome")).lower()
        )
    return spec


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
    api = urlencode(form.query)
    chart = urlencode({**form.query, "view": form.view})
    return {
        "json": f"/api/v1/aggregation?{api}",
        "csv": f"/api/v1/aggregation?{urlencode({**form.query, 'format': 'CSV'})}",
        "svg": f"/explore/chart.svg?{chart}",
        "png": f"/explore/chart.png?{chart}",
        "spec": f"/explore/chart.json?{chart}",
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


def _chart(request: Request, site: Site, kind: str) -> Response:
    form = parse(request.query_params.multi_items())
    if form.view == "table":
        raise BadQuery("view: a table has no chart (use bars or heatmap)")
    cells, _ = aggregate(site.tables, form.query)
    spec = chart_spec(form, cells, language(request))
    if kind == "json":
        return JSONResponse(spec, headers=HEADERS)
    if kind == "png":
        png = vl_convert.vegalite_to_png(spec, scale=2)
        return Response(png, media_type="image/png", headers=HEADERS)
    # Opened on its own, an SVG is a document: the pages' CSP keeps anything in it inert.
    return Response(vl_convert.vegalite_to_svg(spec), media_type="image/svg+xml", headers=HEADERS)


def _charts(kind: str) -> Any:
    def handler(request: Request, site: Site) -> Response:
        return _chart(request, site, kind)

    return handler


def routes(site: Site) -> list[BaseRoute]:
    return [
        Route("/explore", page(site, explore), methods=["GET"], include_in_schema=False),
        *(
            Route(
                f"/explore/chart.{kind}",
                page(site, _charts(kind)),
                methods=["GET"],
                include_in_schema=False,
            )
            for kind in ("svg", "png", "json")
        ),
    ]
