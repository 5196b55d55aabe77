"""The world's countries offline: world-atlas 2.0.2's `countries-110m.json`, read from the package.

Natural Earth 1:110m (public domain), from npm's world-atlas, vendored under
web/static/vendor/world-atlas/ (VENDOR.md). Its ids are ISO 3166-1 numeric codes ("364"),
ours alpha-2 ("IR"): pycountry maps one to the other. world-atlas has no sub-national
geometry (its only objects are `countries` and `land`), so a country is shown on the world.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import pycountry

TOPOLOGY = "static/vendor/world-atlas/countries-110m.json"
TOPOLOGY_URL = "/static/vendor/world-atlas/countries-110m.json"


@functools.cache
def topology() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        resources.files("netvigil.web").joinpath(TOPOLOGY).read_text("utf-8")
    )
    return loaded


@functools.cache
def alpha2_of() -> dict[str, str]:
    """world-atlas id (ISO 3166-1 numeric) → alpha-2, for every country in the file that has
    both (Kosovo, N. Cyprus and Somaliland have no id there)."""
    ids = [g.get("id") for g in topology()["objects"]["countries"]["geometries"]]
    found = {i: pycountry.countries.get(numeric=i) for i in ids if i}
    return {i: c.alpha_2 for i, c in sorted(found.items()) if c is not None}


def numeric_of(cc: str) -> str | None:
    return next((i for i, a in alpha2_of().items() if a == cc.upper()), None)


def _arc_points(index: int) -> list[tuple[float, float]]:
    """One arc's positions in degrees (TopoJSON: quantised, delta-encoded; ~i is arc i
    reversed, which does not change a box)."""
    t = topology()
    (sx, sy), (tx, ty) = t["transform"]["scale"], t["transform"]["translate"]
    x = y = 0
    points = []
    for dx, dy in t["arcs"][index if index >= 0 else ~index]:
        x, y = x + dx, y + dy
        points.append((x * sx + tx, y * sy + ty))
    return points


def box(numeric: str) -> tuple[float, float, float, float] | None:
    """A country's (west, south, east, north), None when it is not in the file or crosses
    the antimeridian (its box would be the world)."""
    geometry = next(
        (g for g in topology()["objects"]["countries"]["geometries"] if g.get("id") == numeric),
        None,
    )
    if geometry is None:
        return None
    polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
    points = [p for polygon in polygons for ring in polygon for i in ring for p in _arc_points(i)]
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    if east - west > 180:
        return None
    return west, min(p[1] for p in points), east, max(p[1] for p in points)


MARGIN = 8.0  # degrees around a country's box when framing it


def frame(cc: str) -> dict[str, Any] | None:
    """A GeoJSON feature to fit a projection to: the country's box and MARGIN around it
    (two corners: a polygon's winding would decide which side d3-geo fills); None when the
    country has no shape in the atlas or spans the antimeridian."""
    numeric = numeric_of(cc)
    edges = box(numeric) if numeric else None
    if edges is None:
        return None
    west, south, east, north = edges
    corners = [
        [max(-180.0, west - MARGIN), max(-85.0, south - MARGIN)],
        [min(180.0, east + MARGIN), min(85.0, north + MARGIN)],
    ]
    return {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "MultiPoint", "coordinates": corners},
    }
