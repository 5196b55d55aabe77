"""`/`: what this server is, what it holds, and where to go next.

Until the explorer exists, a newcomer who opens the server's address gets one page, not a
bare 404: the counts of what is loaded (measurements, countries, networks, the time range,
public incidents), links to the data API, the OpenAPI document and the incident pages. It is
plain HTML: no JavaScript, no CDN, nothing fetched (the incident pages' stylesheet is local).
A client that asks for JSON (`Accept: application/json` before text/html) gets the same facts
as an object, so a script can check what an instance holds without scraping.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from netvigil import __version__
from netvigil.incidents.access import ANONYMOUS
from netvigil.incidents.filters import Filter
from netvigil.incidents.instance import Instance

HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'self'"}
LINKS = (
    ("/api/v1/measurements", "measurements (OONI-compatible search)"),
    ("/api/v1/aggregation?axis_x=probe_cc&axis_y=outcome", "counts by country and outcome"),
    ("/api/v1/analysis?outcome=blocked", "our layered verdicts: what was blocked, and how"),
    ("/openapi.json", "the OpenAPI document of every operation"),
    ("/incidents", "incidents: verified reports, with their evidence"),
    ("/api/v1/incidents/feed", "public incidents as an Atom feed"),
)


def facts(
    tables: Path, instance: Instance, query: Callable[..., list[dict[str, Any]]]
) -> dict[str, Any]:
    """What is loaded: counts over the analysis table and the public incidents."""
    (row,) = query(
        tables,
        "SELECT count(*) AS measurements, count(DISTINCT probe_cc) AS countries, "
        "count(DISTINCT probe_asn) AS networks, "
        "strftime(min(measurement_start_time), '%Y-%m-%d') AS first, "
        "strftime(max(measurement_start_time), '%Y-%m-%d') AS last FROM analysis",
        [],
    )
    public = instance.select(ANONYMOUS, Filter(limit=10**9))
    return {
        "name": "netvigil observatory",
        "version": __version__,
        **row,
        "public_incidents": len(public),
        "links": dict(LINKS),
    }


def page(known: dict[str, Any]) -> str:
    e = html.escape
    if known["measurements"]:
        held = (
            f"<p>It holds <strong>{known['measurements']:,}</strong> measurements from "
            f"<strong>{known['countries']}</strong> countries and {known['networks']} networks, "
            f"measured from {e(str(known['first']))} to {e(str(known['last']))}, and "
            f"<strong>{known['public_incidents']}</strong> public incidents.</p>"
        )
    else:
        held = (
            "<p>It holds no measurements yet: probes submit them here, or an operator "
            "imports OONI's files with <code>netvigil ingest</code> (or restarts with "
            f"<code>--demo</code>). Public incidents: {known['public_incidents']}.</p>"
        )
    links = "\n".join(f'<li><a href="{e(p)}">{e(p)}</a>: {e(t)}</li>' for p, t in LINKS)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>netvigil observatory</title>
<link rel="stylesheet" href="/static/netvigil.css">
</head>
<body>
<main>
<h1>netvigil observatory</h1>
<p>An open observatory for Internet censorship and shutdowns, interoperable with OONI: a
collector and probe services for OONI's probes, a control test helper at <code>/th/</code>,
a data API over every measurement with an explainable verdict per layer (DNS, TCP, TLS,
HTTP), and incidents shared at graded levels.</p>
{held}
<h2>Start here</h2>
<ul>
{links}
</ul>
<p><small>netvigil {e(known["version"])}. This server keeps no record of its visitors'
addresses.</small></p>
</main>
</body>
</html>
"""


def endpoint(
    tables: Path, instance: Instance, query: Callable[..., list[dict[str, Any]]]
) -> Callable[[Request], Any]:
    async def home(request: Request) -> Response:
        known = await asyncio.to_thread(facts, tables, instance, query)
        accept = request.headers.get("accept", "")
        wants_json = "application/json" in accept and (
            "text/html" not in accept
            or accept.index("application/json") < accept.index("text/html")
        )
        if wants_json:
            return JSONResponse(known)
        return HTMLResponse(page(known), headers=HEADERS)

    return home
