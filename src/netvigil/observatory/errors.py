"""What the observatory refuses, and how it says so: one base carrying its HTTP status.

A refusal is raised where it is found (a query parameter the API cannot use, a report id this
collector did not open, a body over its bound) as an `ObservatoryError` whose class carries
the status; `respond` is the one edge that turns it into the answer, `{"error": message}`
with the error's headers (server.py registers it for every route). Messages are one line,
written for the client. Anything else an endpoint raises is a bug, and stays a 500.
"""

from __future__ import annotations

from typing import ClassVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class ObservatoryError(Exception):
    """A request the observatory will not serve as asked."""

    status: ClassVar[int] = 400

    def __init__(self, message: str, **headers: str) -> None:
        super().__init__(message)
        self.message, self.headers = message, headers


class BadRequest(ObservatoryError):
    """The request is not one the observatory can read."""


class NotFound(ObservatoryError):
    status = 404


class TooSlow(ObservatoryError):
    status = 408


class Conflict(ObservatoryError):
    """The request contradicts itself (a measurement its report does not describe)."""

    status = 409


class TooLarge(ObservatoryError):
    status = 413


class NotStored(ObservatoryError):
    """The observatory could not keep what it was given (the disk failed): retry later."""

    status = 500


class Busy(ObservatoryError):
    """Over a bound the observatory keeps for everyone: retry later."""

    status = 503


def error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


async def respond(request: Request, exc: Exception) -> Response:
    """The edge: an observatory error as the JSON answer (a Starlette exception handler)."""
    if not isinstance(exc, ObservatoryError):
        raise exc  # registered for ObservatoryError only: anything else is not ours to answer
    return error(exc.status, exc.message, **exc.headers)


HANDLERS = {ObservatoryError: respond}
