"""The explorer's stacked bars, a chart the charts helper does not draw: any axis across, stacked
by outcome or by a second axis (OONI Explorer's MAT draws the same: ooni.md §5.3). The
outcomes over time and the heat-map grid are the charts helper's (cell_charts.py); this one
uses the same `Chart` record, spec base, colours and renderer (route `/charts/bars.svg`).

- A cell's outcomes are read from its counts (columns.py: `anomaly` is outcome blocked,
  `failure` the outcomes with no verdict), so every measurement is in one segment and
  "insufficient", "unanalysed" and "error" are shown as such, never as ok.
- A time axis is a true time scale (each bar spans its hour, day, week or month), so a gap
  in the data is a gap in the chart.
- Segments are stacked here, not by Vega-Lite (which does not stack bars spanning x..x2).
- At most `MAX_X` values across (the most measured, or the latest `MAX_TIME` times) and
  `MAX_SERIES` stacked (the rest summed as "other"); the table and the CSV have every cell.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from netvigil.observatory.data import aggregate
from netvigil.observatory.query import OUTCOMES, BadQuery, time_grain
from netvigil.web.charts import COLOURS, Chart, Gettext, base, labels, query_string, same

TIME = "measurement_start_day"
MAX_X, MAX_TIME, MAX_SERIES = 50, 500, 10
MAX_VALUE = 256  # characters of a parameter: no country, network, domain or date is longer
OTHER = "other"
FILTERS = (
    *("probe_cc", "probe_asn", "domain", "category_code", "test_name"),
    *("since", "until", "outcome"),
)
PARAMS = (*FILTERS, "axis_x", "axis_y", "time_grain", "lang")
Cell = dict[str, Any]


class Tables(Protocol):
    @property
    def tables(self) -> Path: ...


def given(params: Mapping[str, str]) -> dict[str, str]:
    """The aggregation's parameters of a bars chart; BadQuery (one line) for anything else."""
    for name, value in params.items():
        if name not in PARAMS:
            raise BadQuery(f"{name}: not a parameter of this chart; expected {', '.join(PARAMS)}")
        if len(value) > MAX_VALUE:
            raise BadQuery(f"{name}: longer than {MAX_VALUE} characters")
    chosen = {k: v for k, v in params.items() if k != "lang"}
    chosen.setdefault("axis_x", TIME)
    if chosen.get("axis_y") == chosen["axis_x"]:  # one axis twice: one cell per value, no grid
        raise BadQuery(f"axis_y: the same as axis_x ({chosen['axis_x']}); choose another or none")
    return chosen


def titles(_: Gettext) -> dict[str, str]:
    """Every axis of the aggregation by its name, in the reader's language."""
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


def outcomes(cell: Cell) -> dict[str, int]:
    """The cell's measurements per outcome (their sum is its measurement_count)."""
    no_verdict = cell["failure_count"] - cell["unanalysed_count"] - cell["error_count"]
    return {
        "blocked": cell["anomaly_count"],
        "down": cell["down_count"],
        "ok": cell["ok_count"],
        "insufficient": no_verdict,
        "unanalysed": cell["unanalysed_count"],
        "error": cell["error_count"],
    }


def bucket_end(start: str, grain: str) -> str:
    """The end of the time bucket that starts at `start` (ISO 8601, UTC)."""
    moment = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
    if grain in ("month", "year"):
        months = moment.month + (1 if grain == "month" else 12)
        end = moment.replace(year=moment.year + (months - 1) // 12, month=(months - 1) % 12 + 1)
    else:
        end = moment + {"hour": dt.timedelta(hours=1), "week": dt.timedelta(days=7)}.get(
            grain, dt.timedelta(days=1)
        )
    return end.strftime("%Y-%m-%dT%H:%M:%SZ")


def _label(value: Any) -> str:
    return "—" if value is None or value == "" else str(value)


def kept(cells: list[Cell], name: str, limit: int, latest: bool = False) -> list[str]:
    """The values of axis `name` a chart shows: the `limit` most measured (or latest)."""
    totals: Counter[str] = Counter()
    for cell in cells:
        totals[_label(cell[name])] += cell["measurement_count"]
    if latest:
        return sorted(totals)[-limit:]
    return [v for v, _ in sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:limit]]


def _x_encoding(x: str, title: str, order: list[str], grain: str) -> dict[str, Any]:
    if x == TIME:
        shape = {"hour": "%Y-%m-%d %H:00", "month": "%Y-%m", "year": "%Y"}.get(grain, "%Y-%m-%d")
        axis = {"format": shape, "formatType": "utc", "labelAngle": -45}
        return {"field": "x", "type": "temporal", "title": title, "axis": axis}
    return {"field": "x", "type": "nominal", "title": title, "sort": order}


def segments(
    cells: list[Cell], x: str, y: str | None, grain: str
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """The bars' segments (x, series, count, base, top), the x values and the series shown."""
    order = kept(cells, x, MAX_TIME if x == TIME else MAX_X, latest=x == TIME)
    shown = set(order)
    series = kept(cells, y, MAX_SERIES) if y else list(OUTCOMES)
    counts: Counter[tuple[str, str]] = Counter()
    for cell in cells:
        at = _label(cell[x])
        if at not in shown:
            continue
        if y is None:
            counts.update({(at, k): v for k, v in outcomes(cell).items() if v})
        else:
            name = _label(cell[y])
            counts[(at, name if name in series else OTHER)] += cell["measurement_count"]
    if y and any(s == OTHER for _, s in counts):
        series.append(OTHER)
    rank = {s: i for i, s in enumerate(series)}
    values, below = [], Counter[str]()
    for (at, s), n in sorted(counts.items(), key=lambda item: (item[0][0], rank[item[0][1]])):
        segment = {"x": at, "series": s, "count": n, "base": below[at], "top": below[at] + n}
        values.append(segment | ({"x_end": bucket_end(at, grain)} if x == TIME else {}))
        below[at] += n
    return values, order, series


def bars_chart(
    cells: list[Cell],
    params: Mapping[str, str],
    titles: Mapping[str, str],
    query: str,
    gettext: Gettext = same,
) -> Chart:
    """Stacked bars of the measurements per axis_x value, by axis_y (or by outcome)."""
    x, y = params["axis_x"], params.get("axis_y")
    grain = time_grain(params)
    values, order, series = segments(cells, x, y, grain)
    stack = titles[y] if y else gettext("Outcome")
    title = gettext("Measurements by {x}, stacked by {y}").format(
        x=titles[x].lower(), y=stack.lower()
    )
    total = sum(c["measurement_count"] for c in cells)
    alt = gettext(
        "Stacked bars of {total} measurements in {bars} bars by {x}, stacked by {y}; "
        "the table has every count."
    ).format(total=total, bars=len(order), x=titles[x].lower(), y=stack.lower())
    colour: dict[str, Any] = {"field": "series", "type": "nominal", "sort": series, "title": stack}
    if y is None or y == "outcome":
        colour["scale"] = {"domain": list(OUTCOMES), "range": list(COLOURS.values())}
        colour["legend"] = {"labelExpr": labels(OUTCOMES, gettext)}
    encoding: dict[str, Any] = {
        "x": _x_encoding(x, titles[x], order, grain),
        "y": {"field": "top", "type": "quantitative", "title": gettext("Measurements")},
        "y2": {"field": "base"},
        "color": colour,
        "tooltip": [
            {"field": "x", "title": titles[x]},
            {"field": "series", "title": stack},
            {"field": "count", "title": gettext("Measurements")},
        ],
    }
    if x == TIME:
        encoding["x2"] = {"field": "x_end"}
    spec = base(title, alt, 320) | {
        "data": {"values": values},
        "mark": {"type": "bar", "stroke": "white", "strokeWidth": 0.5},
        "encoding": encoding,
    }
    columns = (("x", titles[x]), ("series", stack), ("count", gettext("Measurements")))
    table = tuple({k: v[k] for k, _ in columns} for v in values)
    key = "-".join(v for v in (params.get("probe_cc", ""), x, y or "") if v)
    return Chart(
        name="bars", title=title, alt=alt, spec=spec, table=table, columns=columns,
        query=query, args=query_string(params), key=key,
    )  # fmt: skip


def bars(
    site: Tables,
    params: Mapping[str, str],
    *,
    gettext: Gettext = same,
    name: Callable[[str], str] = str,
) -> Chart:
    """`/charts/bars`: the aggregation's parameters (axis_x, axis_y, time_grain, filters)."""
    chosen = given(params)
    cells, _ = aggregate(site.tables, chosen)
    query = "/api/v1/aggregation?" + query_string(chosen)
    return bars_chart(cells, chosen, titles(gettext), query, gettext)
