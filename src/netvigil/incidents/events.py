"""What the incident layer records and announces: audit entries and webhook events, typed.

- An `AuditEntry` is written in the transaction of the change it records (who, what, which
  object, the sha256 of the object's JSON before and after); an `AuditLine` is what a reader
  of `/api/v1/audit` is shown of one (not the organisation, which decides who may read it).
- A `WebhookEvent` is the body of a delivery: the event's type, when it happened, and the
  incident as the subscriber may read it — or, for a retraction of one they no longer may
  read, only that it was retracted (`Retracted`).

The wire forms are the ones the API and the webhooks have always sent: times as Python's
`isoformat()` writes them (`+00:00`), and a webhook body as `json.dumps` writes it
(ASCII-only, no spaces), which receivers may have pinned in their signature checks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Literal

import msgspec

from netvigil.incidents.model import Incident

EventType = Literal[
    "incident.created", "incident.updated", "incident.published", "incident.retracted"
]


def digest(value: Any) -> str:
    """sha256 of an object's JSON (for the audit log's before/after)."""
    data = value if isinstance(value, bytes) else msgspec.json.encode(value)
    return hashlib.sha256(data).hexdigest()


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    org_id: str | None  # the organisation the object belongs to: who may read the entry
    before_hash: str | None = None
    after_hash: str | None = None

    @classmethod
    def of(cls, *, before: Any = None, after: Any = None, **fields: Any) -> AuditEntry:
        """An entry for a change from `before` to `after` (None: there was none)."""
        return cls(
            before_hash=digest(before) if before is not None else None,
            after_hash=digest(after) if after is not None else None,
            **fields,
        )


class AuditLine(msgspec.Struct, frozen=True, kw_only=True):
    at: str  # isoformat(), as the API has always written it
    actor: str
    action: str
    object_type: str
    object_id: str
    before_hash: str | None
    after_hash: str | None

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditLine:
        at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=dt.UTC)  # SQLite's
        return cls(
            at=at.isoformat(),
            actor=entry.actor,
            action=entry.action,
            object_type=entry.object_type,
            object_id=entry.object_id,
            before_hash=entry.before_hash,
            after_hash=entry.after_hash,
        )


class Retracted(msgspec.Struct, frozen=True):
    """All a subscriber who had an incident, and may no longer read it, learns of it now."""

    id: str
    status: Literal["retracted"] = "retracted"


class WebhookEvent(msgspec.Struct, frozen=True, kw_only=True):
    type: EventType
    timestamp: str  # isoformat()
    data: Incident | Retracted

    def body(self) -> str:
        """The delivery's body, exactly as it has always been written (and signed)."""
        return json.dumps(msgspec.to_builtins(self), separators=(",", ":"))
