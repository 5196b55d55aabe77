"""The test helper's HTTP face: OONI's Web Connectivity TH protocol (ooni.md §2).

- `GET` answers `{"message": "Hello OONItarian!"}`, as oohelperd does; other methods 405.
- `POST` takes a THRequest (at most 16 MiB, oohelperd's limit) and answers a THResponse.
- Over 25 requests in flight (50 for User-Agents starting `ooniprobe-`) it answers 503 with
  `Retry-After`, as oohelperd's handler.go does, instead of queueing without bound.

Probes are volunteers: nothing here reads, logs or stores the client's address. Starlette
exposes it as `request.client`; this module never touches that attribute, and the server
runs with uvicorn's access log off (netvigil.serving).
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from netvigil.bodies import BadBody, decode
from netvigil.net.backend import Backend
from netvigil.records import ControlRequest
from netvigil.testhelper import ndt7
from netvigil.testhelper.measure import HelperSettings, control, no_asn
from netvigil.testlists import url_problem

MAX_REQUEST = 1 << 24
IN_FLIGHT = 25  # twice that for User-Agents starting `ooniprobe-` (oohelperd handler.go)


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def create_app(
    backend: Backend,
    settings: HelperSettings,
    *,
    in_flight: int = IN_FLIGHT,
    asn_of: Callable[[str], int] = no_asn,
    speed: list[BaseRoute] | None = None,
) -> Starlette:
    """The helper as an ASGI app; `in_flight` caps concurrent control measurements, `asn_of`
    gives `ip_info` its AS numbers (from a geoip database), `speed` are the ndt7 routes
    (testhelper/ndt7.py; their own by default, the server shares its own)."""
    state = {"in_flight": 0}

    async def endpoint(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"message": "Hello OONItarian!"})
        agent = request.headers.get("user-agent", "")
        limit = 2 * in_flight if agent.startswith("ooniprobe-") else in_flight
        if state["in_flight"] >= limit:
            return _error(503, "too many requests in flight", **{"Retry-After": "1"})
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_REQUEST:
            return _error(413, f"request body over {MAX_REQUEST} bytes")
        state["in_flight"] += 1
        try:
            body = bytearray()
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_REQUEST:
                    return _error(413, f"request body over {MAX_REQUEST} bytes")
            try:
                th_request = decode(bytes(body), ControlRequest)
            except BadBody as exc:
                return _error(400, f"not a test-helper request: {exc}")
            # The probe's own check of a URL (testlists.url_problem): a URL it would not
            # measure is refused here before any connection, not a 500 further down.
            if (problem := url_problem(th_request.http_request)) is not None:
                return _error(400, f"http_request: {problem}")
            answer = await control(th_request, backend, settings, asn_of)
            return Response(msgspec.json.encode(answer), media_type="application/json")
        finally:
            state["in_flight"] -= 1

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return _error(405, "only GET and POST are supported", Allow="GET, POST")

    return Starlette(
        routes=[Route("/", endpoint, methods=["GET", "POST"]), *(speed or ndt7.routes())],
        exception_handlers={405: not_allowed},
    )
