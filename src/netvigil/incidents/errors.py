"""What the incident layer refuses, each refusal carrying the HTTP status it is answered with.

Every expected refusal of the service, the accounts, the filters and the API derives from
`IncidentError`; the edges translate it once (api.py into `{"error": ..., **extra}`, the
explorer's web/incident_pages.py into an error page, the CLI into one red line), so no
route keeps its own ladder of `except`s and a new refusal cannot be answered with the wrong
status on one route. Anything that is not an `IncidentError` is a bug and propagates.

- `NotFound` (404): no such object, or none the caller may see — the same answer on purpose
  (existence is information too).
- `Forbidden` (403): the caller may see the object but not do this to it.
- `BadInput` (400): input that cannot be used; its `problems`, one line each, name the
  fields (the first is the message).
- `Unauthorised` (401), `TooLarge` (413): the request itself, before any operation.
"""

from __future__ import annotations

from typing import Any, ClassVar


class IncidentError(Exception):
    """A refusal; `status` is its HTTP status, `extra()` what the JSON answer adds."""

    status: ClassVar[int] = 400

    def extra(self) -> dict[str, Any]:
        return {}


class NotFound(IncidentError, LookupError):
    """No such incident, or none the caller may see (the same answer on purpose)."""

    status = 404


class Forbidden(IncidentError, PermissionError):
    """The caller may see the object but not do this to it."""

    status = 403


class BadInput(IncidentError, ValueError):
    """Input that cannot be used; `problems` name the fields, one line each."""

    status = 400

    def __init__(self, *problems: str) -> None:
        super().__init__(problems[0] if problems else "bad input")
        self.problems = list(problems) or [str(self)]

    def extra(self) -> dict[str, Any]:
        return {"problems": self.problems}


class OverQuota(Forbidden):
    """A member already has as many of these as one may (a 403 naming the quota)."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(f"quota: at most {limit} {what} per member")
        self.what, self.limit = what, limit

    def extra(self) -> dict[str, Any]:
        return {"quota": self.what, "limit": self.limit}


class Unauthorised(IncidentError):
    """A credential was given and is not valid (401); no credential is the public."""

    status = 401


class TooLarge(IncidentError):
    """The request body is over the API's bound (413)."""

    status = 413
