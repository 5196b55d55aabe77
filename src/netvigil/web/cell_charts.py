"""Charts of the data API's aggregation cells: outcomes over time, and a heat-map grid.

Both take the cells `/api/v1/aggregation` answers (observatory/data.py `aggregate`) and inline
them unchanged as the spec's data, so the chart shows exactly what its JSON and CSV links
return; the arithmetic (stacking, shares) is the spec's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from netvigil.observatory.query import OUTCOMES
from netvigil.web.charts import Chart, Gettext, base, outcome_scale, query_string, same

# How far one bar reaches for each grain: the API truncates times to the grain (an hour grain
# gives hours: query.py `axis`).
REACH = {"hour": "hour", "day": "day", "week": "week", "month": "month"}


def outcomes_over_time(
    rows: Sequence[Mapping[str, Any]],
    grain: str,
    title: str,
    *,
    params: Mapping[str, str],
    query: str,
    gettext: Gettext = same,
) -> Chart:
    """Stacked bars of measurements per outcome over time, from aggregation cells with
    axis_x=measurement_start_day and axis_y=outcome."""
    values = [dict(r) for r in rows]
    totals = {
        o: sum(int(r["measurement_count"]) for r in rows if r["outcome"] == o) for o in OUTCOMES
    }
    days = sorted({str(r["measurement_start_day"]) for r in rows})
    if days:
        counts = ", ".join(f"{totals[o]} {gettext(o)}" for o in OUTCOMES if totals[o])
        alt = gettext(
            "Stacked bars of {total} measurements by outcome from {first} to {last}: {counts}."
        ).format(total=sum(totals.values()), first=days[0][:10], last=days[-1][:10], counts=counts)
    else:
        alt = gettext("No measurements match this query.")
    reach = REACH.get(grain, "year")
    spec = base(title, alt, 260) | {
        "data": {"values": values},
        "transform": [
            {"calculate": "toDate(datum.measurement_start_day)", "as": "start"},
            {"calculate": f"utcOffset('{reach}', datum.start, 1)", "as": "end"},
        ],
        "mark": {"type": "bar", "stroke": "white", "strokeWidth": 0.5},
        "encoding": {
            "x": {"field": "start", "type": "temporal", "title": None, "scale": {"type": "utc"}},
            "x2": {"field": "end"},
            "y": {
                "field": "measurement_count",
                "type": "quantitative",
                "aggregate": "sum",
                "stack": "zero",
                "title": gettext("Measurements"),
            },
            "color": outcome_scale(gettext),
            "tooltip": [
                {"field": "measurement_start_day", "title": gettext("From")},
                {"field": "outcome", "title": gettext("Outcome")},
                {"field": "measurement_count", "title": gettext("Measurements")},
            ],
        },
    }
    table = tuple(
        {"day": day[:10]}
        | {
            o: sum(
                int(r["measurement_count"])
                for r in rows
                if str(r["measurement_start_day"]) == day and r["outcome"] == o
            )
            for o in OUTCOMES
        }
        for day in days
    )
    columns = (("day", gettext("From")), *((o, gettext(o)) for o in OUTCOMES))
    return Chart(
        name="outcomes",
        title=title,
        alt=alt,
        spec=spec,
        table=table,
        columns=columns,
        query=query,
        args=query_string(params),
        key=params.get("probe_cc", "") or params.get("domain", ""),
    )


def _label(axis: str) -> str:
    return {"measurement_start_day": "day", "probe_cc": "country", "probe_asn": "network"}.get(
        axis, axis.replace("_", " ")
    )


NO_VERDICT = "#E8E8E8"  # the maps' grey (maps.NO_DATA): no measurement with a verdict


def _share(row: Mapping[str, Any]) -> float:
    judged = int(row["measurement_count"]) - int(row["failure_count"])
    return int(row["anomaly_count"]) / judged if judged > 0 else -1.0


def heatmap(
    rows: Sequence[Mapping[str, Any]],
    x: str,
    y: str,
    *,
    params: Mapping[str, str],
    query: str,
    title: str | None = None,
    gettext: Gettext = same,
) -> Chart:
    """A grid of `x` × `y` cells coloured by the share found blocked of the cell's
    measurements with a verdict (a cell with none is grey: an insufficient measurement shows
    neither blocking nor access, so it is no 0 %; the tooltip gives every count), from
    aggregation cells with axis_x=x and axis_y=y."""
    values = [dict(r) for r in rows]
    heading = title or gettext("Blocked share of measurements by {x} and {y}").format(
        x=gettext(_label(x)), y=gettext(_label(y))
    )
    total = sum(int(r["measurement_count"]) for r in rows)
    blocked = sum(int(r["anomaly_count"]) for r in rows)
    if rows:
        top = max(rows, key=lambda r: (_share(r), r["anomaly_count"]))
        alt = gettext(
            "Heat-map of {cells} cells with {total} measurements, {blocked} of them blocked; "
            "the highest share is {x_value}, {y_value}: {top} of {count} blocked."
        ).format(
            cells=len(rows),
            total=total,
            blocked=blocked,
            x_value=_shown(top[x]),
            y_value=_shown(top[y]),
            top=top["anomaly_count"],
            count=top["measurement_count"],
        )
    else:
        alt = gettext("No measurements match this query.")
    ys = {str(r[y]) for r in rows}
    time = [{"calculate": f"substring(datum.{a}, 0, 10)", "as": a} for a in (x, y)]
    spec = base(heading, alt, min(900, max(160, 20 * len(ys) + 110))) | {
        "data": {"values": values},
        "transform": [
            *(t for t, a in zip(time, (x, y), strict=True) if a == "measurement_start_day"),
            {"calculate": "datum.measurement_count - datum.failure_count", "as": "judged"},
            {
                "calculate": "datum.judged > 0 ? datum.anomaly_count / datum.judged : null",
                "as": "share",
            },
        ],
        "mark": {"type": "rect", "stroke": "white", "strokeWidth": 0.5, "invalid": "show"},
        "encoding": {
            "x": {"field": x, "type": "ordinal", "title": gettext(_label(x))},
            "y": {"field": y, "type": "ordinal", "title": gettext(_label(y))},
            "color": {
                "condition": {"test": "!isValid(datum.share)", "value": NO_VERDICT},
                "field": "share",
                "type": "quantitative",
                "title": gettext("Blocked share"),
                # viridis: ordered in lightness and readable with every colour blindness
                "scale": {"scheme": "viridis", "domain": [0, 1], "reverse": True},
                "legend": {"format": ".0%"},
            },
            "tooltip": [
                {"field": x, "title": gettext(_label(x))},
                {"field": y, "title": gettext(_label(y))},
                {"field": "share", "title": gettext("Blocked share"), "format": ".0%"},
                {"field": "measurement_count", "title": gettext("Measurements")},
                {"field": "anomaly_count", "title": gettext("blocked")},
                {"field": "ok_count", "title": gettext("ok")},
                {"field": "down_count", "title": gettext("down")},
                {"field": "failure_count", "title": gettext("No verdict")},
            ],
        },
    }
    # blocked + ok + down + no verdict (insufficient, unanalysed, error) = every measurement
    keys = ("measurement_count", "anomaly_count", "ok_count", "down_count", "failure_count")
    table = tuple({x: _shown(r[x]), y: _shown(r[y])} | {k: r[k] for k in keys} for r in rows)
    columns = (
        (x, gettext(_label(x))),
        (y, gettext(_label(y))),
        ("measurement_count", gettext("Measurements")),
        ("anomaly_count", gettext("blocked")),
        ("ok_count", gettext("ok")),
        ("down_count", gettext("down")),
        ("failure_count", gettext("No verdict")),
    )
    return Chart(
        name="heatmap",
        title=heading,
        alt=alt,
        spec=spec,
        table=table,
        columns=columns,
        query=query,
        args=query_string(params),
        key="-".join(v for v in (params.get("probe_cc", ""), x, y) if v),
    )


def _shown(value: Any) -> str:
    """A cell's label as a reader wants it: a day without its midnight, nothing as "—"."""
    if value is None:
        return "—"
    text = str(value)
    return text[:10] if text.endswith("T00:00:00Z") else text
