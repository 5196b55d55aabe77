"""`/vendors`: the filtering products the evidence names, per country, with their witnesses.

A measurement names a vendor when the decisive blockpage of its verdict matched a fingerprint
that identifies a product (analysis/vendors.py: Citizen Lab's and Censored Planet's product
rows; the verdict's ``vendor``, the analysis table's column). Each line says where the product
was seen (country), how often (measurements, networks), when (first and last seen) and which
measurements show it (the latest few, linked): the coalition asks vendors about filters sold
for repression (FOC declaration, commitment D), so each claim carries its evidence. Nothing is
inferred beyond the rows: a country without such a blockpage lists no vendor.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from netvigil.observatory.data import query_rows
from netvigil.web.layout import page, render
from netvigil.web.place_pages import Api, api
from netvigil.web.session import NO_STORE, header
from netvigil.web.site import Site

LIST_LIMIT = 500  # vendor-and-country lines on the page (the API link gives every row)
WITNESSES = 5  # measurements linked per line, the latest first


class VendorSeen(msgspec.Struct, frozen=True, kw_only=True):
    """One product seen in one country."""

    vendor: str
    probe_cc: str
    measurements: int
    networks: int
    probe_asn: tuple[int, ...]
    first: dt.datetime
    last: dt.datetime
    witnesses: tuple[str, ...]  # measurement uids, the latest first (at most WITNESSES)


def vendors_seen(tables: Path, cc: str | None = None) -> list[VendorSeen]:
    """Every (vendor, country) with its evidence; one country's when ``cc`` is given. The most
    measured first, then by name (a stable order)."""
    where, args = ("vendor IS NOT NULL", [])
    if cc is not None:
        where, args = "vendor IS NOT NULL AND probe_cc = ?", [cc]
    rows: list[dict[str, Any]] = query_rows(
        tables,
        "SELECT vendor, probe_cc, count(*) AS measurements, "
        "count(DISTINCT probe_asn) AS networks, list_sort(list_distinct(list(probe_asn))) "
        "AS probe_asn, min(measurement_start_time) AS first, max(measurement_start_time) AS "
        f"last, list(measurement_uid ORDER BY measurement_start_time DESC, measurement_uid)"
        f"[1:{WITNESSES}] AS witnesses FROM analysis WHERE {where} GROUP BY 1, 2 "
        "ORDER BY measurements DESC, vendor, probe_cc LIMIT ?",
        [*args, LIST_LIMIT],
    )
    return [msgspec.convert(r, VendorSeen) for r in rows]


def vendor_links(cc: str | None = None) -> Api:
    """The data API's answer behind the list: measurements per vendor and country."""
    params: dict[str, str | int] = {"axis_x": "vendor", "axis_y": "probe_cc"}
    if cc is not None:
        params["probe_cc"] = cc
    return api("/api/v1/aggregation", params)


def vendors_page(request: Request, site: Site) -> Response:
    seen = header(request, site)
    return render(
        request,
        "vendors.html",
        seen_vendors=vendors_seen(site.tables),
        links=vendor_links(),
        headers=NO_STORE if seen["who"].kind == "member" else None,
        **seen,
    )


def routes(site: Site) -> list[Route]:
    return [Route("/vendors", page(site, vendors_page), methods=["GET"], include_in_schema=False)]
