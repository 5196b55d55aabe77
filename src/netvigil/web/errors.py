"""The server's answers for requests no route serves: one-line JSON errors, as the API's.

Starlette's own 404 and 405 are plain text; every other answer of the API is JSON with an
`error` line, so these are too. A 405's `Allow` lists every method of the path, not only
those of the first route that matched it (several routes can share a path).
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route


def json_errors(routes: list[BaseRoute]) -> dict[Any, Any]:
    """Exception handlers for a Starlette app serving `routes`."""

    async def not_found(request: Request, exc: Exception) -> Response:
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
