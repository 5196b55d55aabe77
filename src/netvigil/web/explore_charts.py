"""The explorer's two charts, as Vega-Lite specs over the aggregation's cells: stacked bars and
a heat-map grid (OONI Explorer's MAT draws the same two: ooni.md §5.3).

- Bars: one bar per value of the x axis, stacked by the y axis when there is one, else by
  outcome. A cell's outcomes are read from its counts (columns.py: `anomaly` is outcome
  blocked, `failure` the outcomes with no verdict), so every measurement is in one segment and
  "insufficient", "unanalysed" and "error" are shown as such, never as ok. A time axis is a
  true time scale (each bar spans its hour, day, week or month), so a gap in the data is a gap
  in the chart.
- Heat map: x × y, colour = the share of the cell's measurements our analysis found blocked,
  the counts written in the cell (`blocked/measured`): a share alone hides how many it is of.

A chart shows at most `MAX_X` values of its x axis (the most measured, or the latest times)
and `MAX_SERIES` of its y axis (the rest summed as "other"); the caption says so, and the
table and the CSV have every cell. Specs hold their data inline: nothing is fetched.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

TIME = "measurement_start_day"
MAX_X, MAX_TIME, MAX_SERIES = 50, 500, 10
OTHER = "other"
# Outcomes in stacking order, each with a colour that reads without the others (blue for ok,
# not green, for red-green colour blindness; greys for the three kinds of "no verdict").
OUTCOMES = {
    "blocked": "#b2182b",
    "down": "#ef8a62",
    "insufficient": "#969696",
    "unanalysed": "#cccccc",
    "error": "#7a5195",
    "ok": "#4393c3",
}
Cell = dict[str, Any]
Gettext = Callable[[str], str]


def outcomes(cell: Cell) -> dict[str, int]:
    """The cell's measurements per outcome (their sum is its measurement_count)."""
    no_verdict = cell["failure_count"] - cell["unanalysed_count"] - cell["error_count"]
    return {
        "blocked": cell["anomaly_count"],
        "down": cell["down_count"],
        "insufficient": no_verdict,
        "unanalysed": cell["unanalysed_count"],
        "error": cell["error_count"],
        "ok": cell["ok_count"],
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


def time_label(start: str, grain: str) -> str:
    """A time bucket's name in a grid: 2024-02-14, 2024-02-14 13h, 2024-02."""
    if grain == "hour":
        return f"{start[:10]} {start[11:13]}h"
    return start[: {"month": 7, "year": 4}.get(grain, 10)]


def _x_encoding(x: str, title: str, order: list[str], grain: str) -> dict[str, Any]:
    if x == TIME:
        shape = {"hour": "%Y-%m-%d %H:00", "month": "%Y-%m", "year": "%Y"}.get(grain, "%Y-%m-%d")
        axis = {"format": shape, "formatType": "utc", "labelAngle": -45}
        return {"field": "x", "type": "temporal", "title": title, "axis": axis}
    return {"field": "x", "type": "nominal", "title": title, "sort": order}


def bars(
    cells: list[Cell], x: str, y: str | None, grain: str, titles: dict[str, str], _: Gettext
) -> dict[str, Any]:
    """Stacked bars of the measurements per x value, by y (or by outcome)."""
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
    # Stacked here, not by Vega-Lite (which does not stack bars that span x..x2): each
    # segment's base is the sum below it, in the series' order.
    rank = {s: i for i, s in enumerate(series)}
    values, below = [], Counter[str]()
    for (at, s), n in sorted(counts.items(), key=lambda item: (item[0][0], rank[item[0][1]])):
        segment = {"x": at, "series": s, "count": n, "base": below[at], "top": below[at] + n}
        values.append(segment | ({"x_end": bucket_end(at, grain)} if x == TIME else {}))
        below[at] += n
    colour: dict[str, Any] = {
        "field": "series",
        "type": "nominal",
        "sort": series,
        "title": titles[y] if y else _("Outcome"),
    }
    if y is None or y == "outcome":
        colour["scale"] = {"domain": list(OUTCOMES), "range": list(OUTCOMES.values())}
    encoding: dict[str, Any] = {
        "x": _x_encoding(x, titles[x], order, grain),
        "y": {"field": "top", "type": "quantitative", "title": _("Measurements")},
        "y2": {"field": "base"},
        "color": colour,
        "tooltip": [
            {"field": "x", "title": titles[x]},
            {"field": "series", "title": colour["title"]},
            {"field": "count", "title": _("Measurements")},
        ],
    }
    if x == TIME:
        encoding["x2"] = {"field": "x_end"}
    return _spec(values, {"type": "bar"}, encoding)


def heatmap(
    cells: list[Cell], x: str, y: str | None, grain: str, titles: dict[str, str], _: Gettext
) -> dict[str, Any]:
    """x × y, coloured by the blocked share, each cell labelled blocked/measured."""
    columns = kept(cells, x, MAX_X, latest=x == TIME)
    named = {c: time_label(c, grain) if x == TIME else c for c in columns}
    rows = kept(cells, y, MAX_X, latest=y == TIME) if y else [_("all measurements")]
    across = {r: time_label(r, grain) if y == TIME else r for r in rows}
    values = [
        {
            "x": named[_label(cell[x])],
            "y": across[_label(cell[y])] if y else rows[0],
            "share": cell["anomaly_count"] / cell["measurement_count"],
            "label": f"{cell['anomaly_count']}/{cell['measurement_count']}",
            **{k: cell[k] for k in ("measurement_count", "anomaly_count", "failure_count")},
        }
        for cell in cells
        if _label(cell[x]) in columns and (y is None or _label(cell[y]) in rows)
    ]
    share = _("Share blocked")
    base = {
        "x": {"field": "x", "type": "ordinal", "title": titles[x], "sort": list(named.values())},
        "y": {
            "field": "y",
            "type": "ordinal",
            "title": titles[y] if y else "",
            "sort": list(across.values()),
        },
    }
    tooltip = [
        {"field": "measurement_count", "title": _("Measurements")},
        {"field": "anomaly_count", "title": _("Blocked")},
        {"field": "failure_count", "title": _("No verdict")},
    ]
    spec = _spec(values, None, {})
    del spec["mark"], spec["encoding"]
    spec["layer"] = [
        {
            "mark": {"type": "rect"},
            "encoding": {
                **base,
                "tooltip": tooltip,
                "color": {
                    "field": "share",
                    "type": "quantitative",
                    "title": share,
                    "legend": {"format": ".0%"},
                    "scale": {"domain": [0, 1], "scheme": "reds"},
                },
            },
        },
        {
            "mark": {"type": "text", "fontSize": 10},
            "encoding": {
                **base,
                "text": {"field": "label"},
                "color": {
                    "condition": {"test": "datum.share > 0.5", "value": "white"},
                    "value": "black",
                },
            },
        },
    ]
    return spec


def _spec(values: list[dict[str, Any]], mark: Any, encoding: dict[str, Any]) -> dict[str, Any]:
    return {
        "width": 640,
        "height": 320,
        "data": {"values": values},
        "mark": mark,
        "encoding": encoding,
        "config": {"font": "sans-serif", "view": {"stroke": None}},
    }
