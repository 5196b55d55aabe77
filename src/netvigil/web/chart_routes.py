"""`/charts/{name}.{svg,png,json,csv}`: every chart as an image, its spec, and its table.

- `.svg`, `.png`: drawn on the server (render.py), so a page shows its charts without
  JavaScript; `Content-Disposition: inline; filename="netvigil-outcomes-IR.png"`, so saving
  the image (or a link with `download`) names the file;
- `.json`: the Vega-Lite spec for vega-embed in the browser (the maps' topology by URL);
- `.csv`: the chart's table alternative, for the charts whose API query has no CSV (an
  event's signals).

SVG, JSON and CSV are gzipped for a client that accepts it (the server has no compression
of its own): the world map's SVG is 150 KB, 45 KB gzipped, on a page that must stay within
300 KB over a slow link (issue 12).

Names: outcomes, heatmap, event, events, world, country (chart_data.py says what each
takes). A bad parameter is a 400, an unknown chart or event a 404, every slot of the renderer
busy a 503 with Retry-After: `{"error": "..."}` on one line (observatory/errors.py), never a
500. The images are served with a CSP that lets them run nothing.
"""

from __future__ import annotations

import asyncio
import csv
import functools
import gzip
import io
import re

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from netvigil.observatory.errors import NotFound, ObservatoryError, error
from netvigil.observatory.query import once
from netvigil.web.chart_data import BUILDERS, words
from netvigil.web.charts import Chart
from netvigil.web.event_series import Sources
from netvigil.web.render import Renderer

FILE = re.compile(r"^([a-z]{1,16})\.(svg|png|json|csv)$")
TYPES = {
    "svg": "image/svg+xml",
    "png": "image/png",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
}
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "public, max-age=300",
    # the chart's words are in the reader's language; text is gzipped when the client takes it
    "Vary": "Accept-Language, Cookie, Accept-Encoding",
}


def table_csv(chart: Chart) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    writer.writerow([key for key, _ in chart.columns])
    for row in chart.table:
        writer.writerow(["" if row.get(k) is None else row.get(k) for k, _ in chart.columns])
    return buffer.getvalue().encode()


def _gzip_accepted(header: str) -> bool:
    """Whether Accept-Encoding takes gzip (RFC 9110 §12.5.3; `gzip;q=0` refuses it)."""
    for part in header.lower().split(","):
        name, _, quality = part.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            return quality.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def routes(site: Sources, renderer: Renderer | None = None) -> list[Route]:
    drawer = renderer or Renderer()

    async def answer(request: Request) -> Response:
        try:
            return await _answer(request)
        except ObservatoryError as exc:
            return error(exc.status, exc.message, **exc.headers)

    async def _answer(request: Request) -> Response:
        matched = FILE.fullmatch(request.path_params["file"])
        if matched is None or matched[1] not in BUILDERS:
            raise NotFound(
                f"no chart {request.path_params['file']!r}; charts are "
                f"{', '.join(BUILDERS)} as .svg, .png, .json or .csv"
            )
        name, ext = matched[1], matched[2]
        once(request.query_params.multi_items())
        params = dict(request.query_params)
        # in the page's language: the switch, the cookie, the header
        build = functools.partial(BUILDERS[name], site, params, **words(request))
        chart = await asyncio.to_thread(build)
        headers = dict(HEADERS)
        if ext in ("svg", "png", "csv"):
            headers["Content-Disposition"] = f'inline; filename="{chart.filename}.{ext}"'
        if ext == "svg":
            body = await drawer.svg(chart.spec)
        elif ext == "png":
            body = await drawer.png(chart.spec)
        elif ext == "json":
            drawer.check(chart.spec)  # the browser would draw every row too
            body = msgspec.json.encode(chart.browser or chart.spec)
        else:
            body = table_csv(chart)
        if ext != "png" and _gzip_accepted(request.headers.get("accept-encoding", "")):
            body = gzip.compress(body, compresslevel=6, mtime=0)
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type=TYPES[ext], headers=headers)

    # Images and specs for the pages, like the pages not operations of the data API (whose
    # queries each chart links to): outside the OpenAPI document.
    return [Route("/charts/{file}", answer, methods=["GET"], include_in_schema=False)]
