"""Rows of what members subscribe to: saved feeds, webhook subscriptions, and the outbox.

The store's second half (store.py holds the records, their sharing and the audit log): every
function takes an open connection, so the caller's transaction holds an event together with
the change it announces. A token or a secret is stored as given to this layer (a feed's
token as its sha256, a webhook's secret as is: it signs every delivery).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import sqlalchemy as sa

from netvigil.incidents import db

Connection = sa.Connection


def add_feed(
    connection: Connection,
    *,
    ident: str,
    token_hash: str,
    member_id: str,
    name: str,
    saved: str,
    now: dt.datetime,
) -> None:
    connection.execute(
        sa.insert(db.feeds).values(
            id=ident,
            token_hash=token_hash,
            member_id=member_id,
            name=name,
            filter=saved,
            created_at=now,
        )
    )


def feed(connection: Connection, token_hash: str) -> tuple[str, str] | None:
    """(member id, saved filter JSON) of the feed with this token."""
    row = connection.execute(
        sa.select(db.feeds.c.member_id, db.feeds.c.filter).where(
            db.feeds.c.token_hash == token_hash
        )
    ).first()
    return (str(row.member_id), str(row.filter)) if row is not None else None


def add_subscription(
    connection: Connection, *, ident: str, member_id: str, url: str, secret: str, now: dt.datetime
) -> None:
    connection.execute(
        sa.insert(db.subscriptions).values(
            id=ident, member_id=member_id, url=url, secret=secret, active=True, created_at=now
        )
    )


def active(connection: Connection) -> list[tuple[str, str]]:
    """(subscription id, member id) of every active subscription."""
    table = db.subscriptions
    rows = connection.execute(sa.select(table.c.id, table.c.member_id).where(table.c.active))
    return [(str(r.id), str(r.member_id)) for r in rows]


def had(connection: Connection, incident_id: str) -> set[str]:
    """The subscriptions that were ever sent an event about this incident."""
    box = db.outbox
    rows = connection.execute(
        sa.select(box.c.subscription_id).where(box.c.incident_id == incident_id)
    )
    return {str(r.subscription_id) for r in rows}


def add_event(
    connection: Connection,
    *,
    webhook_id: str,
    subscription_id: str,
    incident_id: str,
    event: str,
    payload: str,
    now: dt.datetime,
) -> None:
    connection.execute(
        sa.insert(db.outbox).values(
            webhook_id=webhook_id,
            subscription_id=subscription_id,
            incident_id=incident_id,
            event=event,
            payload=payload,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )


class Due(msgspec.Struct, frozen=True, kw_only=True):
    """One delivery to attempt: the outbox row and where it goes."""

    id: int
    webhook_id: str
    url: str
    secret: str
    payload: str
    attempts: int


def due(connection: Connection, now: dt.datetime, *, tries: int, limit: int) -> list[Due]:
    """Undelivered events whose next attempt is due, that have not used up their tries."""
    box, subs = db.outbox, db.subscriptions
    rows = connection.execute(
        sa.select(
            box.c.id, box.c.webhook_id, subs.c.url, subs.c.secret, box.c.payload, box.c.attempts
        )
        .join(subs, subs.c.id == box.c.subscription_id)
        .where(
            box.c.delivered_at.is_(None),
            box.c.next_attempt_at <= now,
            box.c.attempts <= tries,
        )
        .order_by(box.c.id)
        .limit(limit)
    )
    return [Due(**row._asdict()) for row in rows]


def record_attempt(connection: Connection, ident: int, values: dict[str, Any]) -> None:
    """An attempt's outcome: `attempts`, and `delivered_at` or `last_error` (and a retry)."""
    connection.execute(sa.update(db.outbox).where(db.outbox.c.id == ident).values(**values))
