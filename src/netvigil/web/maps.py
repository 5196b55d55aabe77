"""Maps: a world choropleth of blocked-measurement shares, and one country highlighted on it.

The geometry is world-atlas's (atlas.py); the spec carries its numeric → alpha-2 table, so
the browser's copy reads the same unmodified file. There is no offline sub-national geometry
(world-atlas has countries and land only), so a country's map is the world map framed on it.

For the server-side render the topology is inlined (vl-convert must fetch nothing); the
browser gets the same spec with the topology as a same-origin URL (`Chart.browser`), which
keeps the spec it downloads small: the file is cached once for every map.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec

from netvigil.web.atlas import TOPOLOGY_URL, alpha2_of, frame, numeric_of, topology
from netvigil.web.charts import Chart, Gettext, base, query_string, same

NO_DATA = "#E8E8E8"


def _spec(
    title: str,
    alt: str,
    rows: Sequence[Mapping[str, Any]],
    topo: dict[str, Any],
    country: Callable[[str], str],
    gettext: Gettext,
) -> dict[str, Any]:
    """The choropleth: world-atlas's shapes, each looked up by its numeric id to its alpha-2
    code and the reader's name for it, then to its row of the aggregation."""
    codes = [{"id": i, "cc": a, "name": country(a)} for i, a in alpha2_of().items()]
    fields = ["measurement_count", "anomaly_count", "ok_count", "failure_count"]
    return base(title, alt, 340) | {
        "data": topo | {"format": {"type": "topojson", "feature": "countries"}},
        "transform": [
            {
                "lookup": "id",
                "from": {"data": {"values": codes}, "key": "id", "fields": ["cc", "name"]},
            },
            {
                "lookup": "cc",
                "from": {
                    "data": {"values": [dict(r) for r in rows]},
                    "key": "probe_cc",
                    "fields": fields,
                },
            },
            # over the measurements with a verdict: an insufficient one is no 0 % (grey)
            {"calculate": "datum.measurement_count - datum.failure_count", "as": "judged"},
            {
                "calculate": "datum.judged > 0 ? datum.anomaly_count / datum.judged : null",
                "as": "share",
            },
        ],
        "projection": {"type": "equalEarth"},
        "mark": {"type": "geoshape", "stroke": "white", "strokeWidth": 0.5, "invalid": "show"},
        "encoding": {
            "color": {
                "condition": {"test": "!isValid(datum.share)", "value": NO_DATA},
                "field": "share",
                "type": "quantitative",
                "title": gettext("Blocked share"),
                # viridis: ordered in lightness and readable with every colour blindness
                "scale": {"scheme": "viridis", "reverse": True, "zero": True},
                "legend": {
                    "format": ".0%",
                    "orient": "bottom",
                    "gradientLength": 200,
                },  # beside the map, the fitted width cut its title
            },
            "description": {"field": "name"},  # the SVG path's aria-label
            "tooltip": [
                {"field": "name", "title": gettext("Country")},
                {"field": "share", "title": gettext("Blocked share"), "format": ".0%"},
                {"field": "measurement_count", "title": gettext("Measurements")},
                {"field": "anomaly_count", "title": gettext("blocked")},
            ],
        },
    }


def share(row: Mapping[str, Any]) -> float | None:
    """Blocked among the measurements with a verdict (failure_count: insufficient,
    unanalysed, error); None without one."""
    judged = int(row["measurement_count"]) - int(row["failure_count"])
    return int(row["anomaly_count"]) / judged if judged > 0 else None


def shown(row: Mapping[str, Any], gettext: Gettext) -> str:
    found = share(row)
    return gettext("no verdict") if found is None else f"{found:.0%}"


def world_map(
    rows: Sequence[Mapping[str, Any]],
    *,
    params: Mapping[str, str],
    query: str,
    title: str | None = None,
    country: Callable[[str], str] = lambda cc: cc,
    gettext: Gettext = same,
    name: str = "world",
) -> Chart:
    """Countries coloured by the share of their measurements found blocked, from aggregation
    cells with axis_x=probe_cc; a country without measurements is grey, not 0 %."""
    heading = title or gettext("Blocked share of measurements by country")
    mapped = [r for r in rows if numeric_of(str(r["probe_cc"])) is not None]
    total = sum(int(r["measurement_count"]) for r in rows)
    ranked = sorted(rows, key=lambda r: (-(share(r) or -1.0), r["probe_cc"]))
    if rows:
        alt = gettext(
            "World map of {count} countries with {total} measurements, coloured by the share "
            "found blocked of those with a verdict; the highest: {top}. Countries without "
            "measurements, or without a verdict, are grey."
        ).format(
            count=len(rows),
            total=total,
            top=", ".join(f"{country(str(r['probe_cc']))} {shown(r, gettext)}" for r in ranked[:3]),
        )
    else:
        alt = gettext("World map: no measurements match this query.")
    if len(mapped) < len(rows):
        alt += " " + gettext("Not on the map (no shape in the atlas): {codes}.").format(
            codes=", ".join(str(r["probe_cc"]) for r in rows if r not in mapped)
        )
    table = tuple(
        {
            "probe_cc": r["probe_cc"],
            "country": country(str(r["probe_cc"])),
            "measurement_count": r["measurement_count"],
            "anomaly_count": r["anomaly_count"],
            "share": shown(r, gettext),
        }
        for r in ranked
    )
    columns = (
        ("probe_cc", gettext("Code")),
        ("country", gettext("Country")),
        ("measurement_count", gettext("Measurements")),
        ("anomaly_count", gettext("blocked")),
        ("share", gettext("Blocked share")),
    )
    spec = _spec(heading, alt, rows, {"values": topology()}, country, gettext)
    browser = _spec(heading, alt, rows, {"url": TOPOLOGY_URL}, country, gettext)
    return Chart(
        name=name,
        title=heading,
        alt=alt,
        spec=spec,
        browser=browser,
        table=table,
        columns=columns,
        query=query,
        args=query_string(params),
    )


def framed(spec: dict[str, Any], cc: str) -> dict[str, Any]:
    """The spec framed on one country (Mercator around its box), outlined in black and drawn
    last so its neighbours do not cover the outline."""
    if not re.fullmatch(r"[A-Z]{2}", cc):  # it goes into an expression: callers check it
        raise ValueError(f"not a country code: {cc!r}")
    picked = f"datum.cc === '{cc}'"  # cc is two checked letters (chart_data.py)
    out = spec | {
        "transform": [*spec["transform"], {"calculate": f"{picked} ? 1 : 0", "as": "picked"}],
        "mark": spec["mark"] | {"clip": True},
    }
    out["encoding"] = spec["encoding"] | {
        "stroke": {"condition": {"test": picked, "value": "black"}, "value": "white"},
        "strokeWidth": {"condition": {"test": picked, "value": 2}, "value": 0.5},
        "order": {"field": "picked"},
    }
    if (around := frame(cc)) is not None:
        out["projection"] = {"type": "mercator", "fit": around}
    return out


def country_map(
    cc: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    params: Mapping[str, str],
    query: str,
    country: Callable[[str], str] = lambda cc: cc,
    gettext: Gettext = same,
) -> Chart:
    """`cc` outlined on the world map, framed on it, its neighbours coloured as on the world
    map (the rows: aggregation cells with axis_x=probe_cc)."""
    world = world_map(
        rows,
        params=params,
        query=query,
        title=gettext("{country} on the world map").format(country=country(cc)),
        country=country,
        gettext=gettext,
        name="country",
    )
    shown = next((r for r in rows if r["probe_cc"] == cc), None)
    alt = (
        gettext(
            "Map of {country} and its neighbours: {blocked} of its {count} measurements found "
            "blocked."
        )
        if shown
        else gettext("Map of {country} and its neighbours: no measurements from {country}.")
    ).format(
        country=country(cc),
        blocked=shown["anomaly_count"] if shown else 0,
        count=shown["measurement_count"] if shown else 0,
    )
    assert world.browser is not None
    return msgspec.structs.replace(
        world,
        alt=alt,
        spec=framed(world.spec, cc) | {"description": alt},
        browser=framed(world.browser, cc) | {"description": alt},
        key=cc,
    )
