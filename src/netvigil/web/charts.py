"""The explorer's charts: one Vega-Lite spec per chart, with what a page shows beside it.

A `Chart` is the spec (its data inlined as `values`, never a URL: the server renders it to SVG
and PNG with vl-convert, render.py, and must fetch nothing), the accessible text (`alt`, a
sentence with the numbers), the rows of its table alternative, and the data-API query behind
it, so every chart links to the JSON and CSV that query returns (issue 12). The builders here
and in timelines.py and maps.py are pure: rows in, a Chart out; chart_data.py fetches the rows.

Colours: the Okabe–Ito palette (Okabe & Ito 2008, "Color Universal Design"), one fixed colour
per outcome whatever the data holds, so a reader learns them once; "ok" has its own and is
never merged with the outcomes that are not evidence of access (insufficient, unanalysed,
error: DESIGN.md, never say more than the data shows).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import msgspec

from netvigil.observatory.query import OUTCOMES

# The Vega-Lite that vl-convert 1.9 bundles (`vl_convert.get_vegalite_versions()`: 6.4 the
# latest); the browser's vendored vega-lite must be a 6.x to read the same specs.
SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
COLOURS = {
    "blocked": "#D55E00",  # vermillion
    "tampered": "#F0E442",  # yellow: altered in transit, not refused
    "down": "#CC79A7",  # reddish purple: the site is down for its control too
    "ok": "#009E73",  # bluish green
    "insufficient": "#E69F00",  # orange
    "unanalysed": "#BBBBBB",  # grey: not judged
    "error": "#0072B2",  # blue
}
assert tuple(COLOURS) == OUTCOMES  # the API's vocabulary, in its order
KIND_COLOURS = {  # detection events' kinds (detect/model.py Kind), Okabe–Ito too
    "shutdown": "#D55E00",
    "outage": "#CC79A7",
    "throttling": "#E69F00",
    "service_block": "#0072B2",
    "blocking_change": "#56B4E9",
}
WIDTH = 640
# Time labels on a 24-hour clock (d3's multi-format default is "%I %p": 12 PM), the rest as
# d3's default (vega-lite's TimeFormatSpecifier object).
CLOCK = {"hours": "%H:%M", "minutes": "%H:%M", "seconds": "%H:%M:%S"}
Gettext = Callable[[str], str]


def N_(text: str) -> str:  # gettext's name for it: pybabel extracts N_ calls
    """A word of the data (an outcome, a kind), marked for the catalogue and translated
    where it is shown: the spec keeps the API's value, its legend the reader's word."""
    return text


WORDS = (
    *(
        N_("blocked"),
        N_("tampered"),
        N_("down"),
        N_("ok"),
        N_("insufficient"),
        N_("unanalysed"),
        N_("error"),
    ),
    *(N_("shutdown"), N_("outage"), N_("throttling"), N_("service_block")),
    *(N_("blocking_change"), N_("warning"), N_("critical")),
    *(N_("day"), N_("country"), N_("network"), N_("domain"), N_("input"), N_("test name")),
    *(N_("blocking type"), N_("outcome"), N_("layer"), N_("technique")),
    *(N_("entity"), N_("kind"), N_("level"), N_("start"), N_("end"), N_("confidence")),
    *(N_("cause"), N_("value"), N_("baseline"), N_("value at firing"), N_("baseline at firing")),
)


def labels(words: Sequence[str], gettext: Gettext) -> str:
    """A legend's labelExpr showing each value as the reader's word."""
    return f"{json.dumps({w: gettext(w) for w in words}, ensure_ascii=False)}[datum.label]"


def same(text: str) -> str:
    """No translation (a builder's default; pages pass their request's gettext)."""
    return text


class Chart(msgspec.Struct, frozen=True, kw_only=True):
    name: str  # the chart route's name: /charts/{name}.svg
    title: str
    alt: str  # what the chart shows, with the numbers: the image's accessible text
    spec: dict[str, Any]  # Vega-Lite, data inlined: what the server renders
    table: tuple[dict[str, Any], ...]  # the table alternative's rows
    columns: tuple[tuple[str, str], ...]  # (key in a row, header) of that table
    query: str  # the data-API path and query behind the chart
    args: str = ""  # the chart route's own query string
    browser: dict[str, Any] | None = None  # the spec for the browser, when it differs
    csv: bool = True  # whether the API query answers CSV (else the chart's table is offered)
    key: str = ""  # what the chart is of, for file names: a country, an event id

    def _url(self, ext: str) -> str:
        return f"/charts/{self.name}.{ext}" + (f"?{self.args}" if self.args else "")

    @property
    def svg_url(self) -> str:
        return self._url("svg")

    @property
    def png_url(self) -> str:
        return self._url("png")

    @property
    def spec_url(self) -> str:
        return self._url("json")

    @property
    def json_url(self) -> str:
        return self.query

    @property
    def csv_url(self) -> str:
        if not self.csv:
            return self._url("csv")
        return self.query + ("&" if "?" in self.query else "?") + "format=CSV"

    @property
    def width(self) -> int:
        return int(self.spec["width"])

    @property
    def height(self) -> int:
        return int(self.spec["height"])

    @property
    def filename(self) -> str:
        safe = "".join(c for c in self.key if c.isascii() and (c.isalnum() or c in "-_."))
        return "-".join(part for part in ("netvigil", self.name, safe) if part)


def base(title: str, alt: str, height: int, width: int = WIDTH) -> dict[str, Any]:
    """What every spec starts with. `fit` + `padding`: the whole image is width × height,
    so a page's <img width height> holds its place before the SVG arrives."""
    return {
        "$schema": SCHEMA,
        "title": title,
        "description": alt,  # vega writes it as the SVG's aria-label
        "width": width,
        "height": height,
        "autosize": {"type": "fit", "contains": "padding"},
        "background": "white",
        "config": {
            "font": "sans-serif",
            "view": {"stroke": None},
            "axisTemporal": {"format": CLOCK},
            "legend": {"labelLimit": 0, "titleLimit": 0},  # 0: never cut a legend's words
        },
    }


def query_string(params: Mapping[str, str]) -> str:
    return urlencode(sorted((k, v) for k, v in params.items() if v))


def outcome_scale(gettext: Gettext) -> dict[str, Any]:
    return {
        "field": "outcome",
        "type": "nominal",
        "title": gettext("Outcome"),
        "scale": {"domain": list(OUTCOMES), "range": list(COLOURS.values())},
        "sort": list(OUTCOMES),
        "legend": {"labelExpr": labels(OUTCOMES, gettext)},
    }
