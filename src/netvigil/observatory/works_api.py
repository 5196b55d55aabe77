"""`GET /api/v1/works_here?probe_cc=IR[&probe_asn=44244][&hours=24]`: what works there now.

The JSON of observatory/works_here.py: per app and circumvention tool, its status ("works",
"blocked", "mixed", "no recent evidence"), the count of each outcome over the window (the
last `hours`, default 24, ending now), the latest measurement and the witness one with
their API links, and the guidance sentences built from those statuses; a country's networks
each with their own items. On a demo's folder (DataDir.demo) the window ends at the newest
measurement instead, given as `as_of` (null otherwise) and in each guidance sentence. A
parameter that is missing, malformed, unknown or given twice is a 400 whose JSON `error`
names it (query.py's `BadQuery`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from netvigil.observatory.data import iso
from netvigil.observatory.query import CC, BadQuery, asn_number, integer, once
from netvigil.observatory.works_here import Place, Status, guidance, works_here

PARAMETERS = ("probe_cc", "probe_asn", "hours")
MAX_HOURS = 24 * 7


def _item(item: Status, base: str) -> dict[str, Any]:
    def link(uid: str | None) -> str | None:
        return f"{base}/api/v1/measurement/{uid}" if uid else None

    return {
        "test_name": item.test_name,
        "name": item.name,
        "kind": item.kind,
        "status": item.status,
        "measurements": item.measurements,
        "counts": item.counts,
        "latest_outcome": item.latest_outcome,
        "latest_time": iso(item.latest_time) if item.latest_time else None,
        "latest_uid": item.latest_uid,
        "witness_uid": item.witness_uid,
        "witness_outcome": item.witness_outcome,
        "witness_url": link(item.witness_uid),
    }


def as_json(place: Place, base: str) -> dict[str, Any]:
    return {
        "probe_cc": place.probe_cc,
        "probe_asn": f"AS{place.probe_asn}" if place.probe_asn is not None else None,
        "since": iso(place.since),
        "until": iso(place.until),
        "as_of": iso(place.as_of) if place.as_of else None,
        "items": [_item(i, base) for i in place.items],
        "guidance": [
            f"{words}, as of {iso(place.as_of)}" if place.as_of else words
            for words in guidance(place.items, place.until)
        ],
        "networks": [
            {"probe_asn": f"AS{n.probe_asn}", "items": [_item(i, base) for i in n.items]}
            for n in place.networks
        ],
    }


def routes(
    tables: Path, now: Callable[[], dt.datetime], as_of_newest: Callable[[], bool] = lambda: False
) -> list[Route]:
    async def works(request: Request) -> Response:
        pairs = request.query_params.multi_items()
        once(pairs)
        for name, _ in pairs:
            if name not in PARAMETERS:
                raise BadQuery(f"{name}: not a parameter here (takes {', '.join(PARAMETERS)})")
        params, base = request.query_params, str(request.base_url).rstrip("/")
        cc = params.get("probe_cc")
        if cc is None:
            raise BadQuery("probe_cc is required: a country, two letters (IR)")
        if not re.fullmatch(CC, cc):
            raise BadQuery(f"probe_cc: expected two letters, got {cc!r}")
        asn = asn_number(params["probe_asn"]) if "probe_asn" in params else None
        window = dt.timedelta(hours=integer(params, "hours", 24, 1, MAX_HOURS))
        moment = now()

        def handler() -> Response:
            place = works_here(
                tables, cc.upper(), now=moment, window=window, asn=asn, as_of_newest=as_of_newest()
            )
            return JSONResponse(as_json(place, base))

        return await asyncio.to_thread(handler)

    return [Route("/api/v1/works_here", works, methods=["GET"])]
