"""The server: the observatory, the incidents and the test helper composed into one ASGI app.

Each app brings its routes and its background work; this module builds them over one data
folder, hands the incidents the observatory's data through their interface
(`incidents.evidence.Observatory`, implemented by `observatory.data.ObservatoryData`) and the
test helper the observatory's GeoIP database, hands each change of a detected event to the
incidents' alerts (when rules are given), and runs the background work (the archive's
writer, the pipeline, whose analysis runs in a worker process, the detection, and the
incidents' sharing) in a task group owned by the app's lifespan (structured concurrency:
it starts with the server and is cancelled with it).

Only `/api/v1/geolookup` reads `request.client`, to tell a probe its own public address;
the server keeps no trace of its clients, and `netvigil serve` runs uvicorn with its access
log off and proxy headers ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route

from netvigil.addresses import Bogons
from netvigil.datadir import DataDir
from netvigil.incidents.alerts import Alerts, Rules
from netvigil.incidents.api import routes as incident_routes
from netvigil.incidents.evidence import ObservatoryEvidence
from netvigil.incidents.instance import Instance
from netvigil.net.backend import AsyncioBackend
from netvigil.observatory import errors
from netvigil.observatory.app import Observatory
from netvigil.observatory.eventstore import Change
from netvigil.testhelper import ndt7
from netvigil.testhelper.app import create_app as create_helper
from netvigil.testhelper.measure import HelperSettings, no_asn
from netvigil.web import explorer, openapi
from netvigil.web.layout import refusal, wants_html
from netvigil.web.site import Site


def json_errors(routes: list[BaseRoute]) -> dict[Any, Any]:
    """Starlette's own 404 and 405 as the API's one-line JSON errors; a 405's `Allow` lists
    every method of the path, not only those of the first route that matched it."""

    async def not_found(request: Request, exc: Exception) -> Response:
        if wants_html(request):  # a person at a browser: a page saying where to go
            return refusal(request, 404, f"There is no page at {request.url.path}.")
        return JSONResponse({"error": f"no such path: {request.url.path}"}, status_code=404)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        matching = [
            route
            for route in routes
            if isinstance(route, Route) and route.matches(request.scope)[0] is not Match.NONE
        ]
        # `/api/v1/incidents/schema` also matches `/api/v1/incidents/{id}`, but its own route
        # is the one that answers: a literal path names the resource.
        literal = [route for route in matching if "{" not in route.path]
        methods = {method for route in literal or matching for method in route.methods or ()}
        allowed = ", ".join(sorted(methods)) or "GET"
        return JSONResponse(
            {"error": f"{request.method} is not allowed here; allowed: {allowed}"},
            status_code=405,
            headers={"Allow": allowed},
        )

    return {404: not_found, 405: not_allowed, HTTPException: _other}


async def _other(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 400
    detail = exc.detail if isinstance(exc, HTTPException) else "bad request"
    return JSONResponse({"error": str(detail)}, status_code=status)


def create_app(
    data_dir: Path,
    *,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    fsync: Callable[[int], None] = os.fsync,
    capacity: int = 256,
    rate: float = 5000.0,
    allow_private_targets: bool = False,
    geoip: Path | None = None,
    public_url: str = "http://127.0.0.1:8000",
    database: str | None = None,
    alert_rules: Rules | None = None,
    detection_interval: float = 60.0,
    listening_tick: float = 15.0,
    echo_helpers: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
    lab_networks: tuple[str, ...] = (),
) -> Starlette:
    """The app over a data folder; `geoip` defaults to the folder's database.

    Raises GeoIPError (one line) for a database that cannot be read, AlertRulesError for
    rules naming an organisation or group the incidents do not have. Detection runs every
    `detection_interval` seconds; the heartbeat store notes the minutes it listens every
    `listening_tick` seconds (shorter for a sped-up `now`). `echo_helpers`
    (testhelper/echo.py, on their own sockets) run for as long as the app does.
    `lab_networks`: a censorship lab's addresses, analysed (pipeline and pages) as the
    public ones they stand for (addresses.Bogons.with_lab).
    """
    folder = DataDir(root=data_dir)
    alerts: Alerts | None = None  # set below, once the incidents exist

    def alert(change: Change) -> None:
        """A detected event changed: the incidents' alerts decide (in the detection's thread)."""
        if alerts is not None:
            stored = change.stored
            withdrawn = change.change == "withdrawn"
            alerts.handle(
                stored.event,
                lineage=stored.lineage,
                countries=stored.countries,
                withdrawn=withdrawn,
            )

    observatory = Observatory(
        folder,
        now=now,
        fsync=fsync,
        capacity=capacity,
        rate=rate,
        geoip=geoip,
        on_change=alert,
        detection_interval=detection_interval,
        lab_networks=lab_networks,
        listening_tick=listening_tick,
    )
    geo = observatory.geo
    speed = ndt7.routes()  # one pool of speed-test slots, at /ndt/v7/ and /th/ndt/v7/
    helper = create_helper(
        AsyncioBackend(),
        HelperSettings(allow_private=allow_private_targets),
        asn_of=geo.asn_of if geo is not None else no_asn,
        speed=speed,
    )
    incidents = Instance(
        data_dir,
        url=public_url,
        evidence=ObservatoryEvidence(observatory.data),
        database=database,
        now=now,
    )
    if alert_rules is not None:
        alerts = Alerts(incidents.service, alert_rules)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with asyncio.TaskGroup() as group:
            sharing = incidents.run(AsyncioBackend(), allow_private=allow_private_targets)
            extra = [helper() for helper in echo_helpers]
            workers = [
                group.create_task(work) for work in [*observatory.workers(), sharing, *extra]
            ]
            try:
                yield
            finally:
                for worker in workers:
                    worker.cancel()

    site = Site(
        folder=folder,
        data=observatory.data,
        events=observatory.events,
        heartbeats=observatory.heartbeats,
        instance=incidents,
        now=now,
        bogon=Bogons.with_lab(lab_networks),
    )
    routes: list[BaseRoute] = [
        *explorer.routes(site),
        *observatory.routes(),
        *incident_routes(incidents),
        Route("/openapi.json", openapi.endpoint, methods=["GET"]),
        *speed,
        Mount("/th", app=helper),
    ]
    handlers = {**json_errors(routes), **errors.HANDLERS}
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=handlers)
    app.state.archive = observatory.archive
    app.state.incidents = incidents
    return app
