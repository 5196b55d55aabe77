"""Webhooks: a durable outbox, signed deliveries (Standard Webhooks), retries with backoff.

- An event is written to the outbox in the transaction that makes the change (one row per
  subscription that may read the incident, or that had it before, for a retraction), so a
  restart loses none and no event exists without its change.
- Each row has one `webhook-id` for all its attempts; receivers deduplicate on it, which
  makes retries idempotent (standardwebhooks.com: "webhook-id ... the same when retried").
- Bodies are signed with the subscription's `whsec_` secret: `webhook-id`,
  `webhook-timestamp` and `webhook-signature` headers (HMAC-SHA256), by the reference
  `standardwebhooks` library.
- Backoff: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, then it gives up (recorded).
- Destinations are checked against private, loopback and link-local ranges at every delivery,
  on the address actually connected to (no SSRF, no DNS rebinding), unless the server was
  started for a lab with `--allow-private-targets`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import ssl
import time
from collections.abc import Callable
from typing import Any

import msgspec
import sqlalchemy as sa
from standardwebhooks import Webhook
from uuid6 import uuid7

from netvigil.addresses import is_bogon
from netvigil.incidents import accounts, db, store
from netvigil.incidents.access import can_read
from netvigil.incidents.model import Incident
from netvigil.incidents.signing import Keyring
from netvigil.incidents.views import visible
from netvigil.net.backend import Backend
from netvigil.net.connect import tls_context
from netvigil.net.posting import post_json

BACKOFF = (5, 30, 120, 600, 1800, 3600, 7200, 14400)  # seconds before attempt 2, 3, ...
DEADLINE = 10.0
EVENTS = ("incident.created", "incident.updated", "incident.published", "incident.retracted")


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Outbox:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def enqueue(
        self, connection: sa.Connection, event: str, incident: Incident, now: dt.datetime
    ) -> None:
        sharing = store.sharing_of(connection, incident)
        had = {
            r.subscription_id
            for r in connection.execute(
                sa.select(db.outbox.c.subscription_id).where(db.outbox.c.incident_id == incident.id)
            )
        }
        active = connection.execute(sa.select(db.subscriptions).where(db.subscriptions.c.active))
        for subscription in active.fetchall():
            who = accounts.member(connection, subscription.member_id)
            if who is None:
                continue
            readable = can_read(who, sharing)
            if not readable and not (event == "incident.retracted" and subscription.id in had):
                continue
            data: dict[str, Any] = (
                msgspec.to_builtins(visible(who, incident, sharing, self.keyring))
                if readable
                else {"id": incident.id, "status": "retracted"}  # all they may learn now
            )
            payload = {"type": event, "timestamp": now.isoformat(), "data": data}
            connection.execute(
                sa.insert(db.outbox).values(
                    webhook_id=f"msg_{uuid7().hex}",
                    subscription_id=subscription.id,
                    incident_id=incident.id,
                    event=event,
                    payload=json.dumps(payload, separators=(",", ":")),
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )


class OverQuota(Exception):
    """The member already has `quota` subscriptions."""


def subscribe(
    engine: sa.Engine,
    member_id: str,
    url: str,
    *,
    actor: str,
    now: dt.datetime,
    quota: int | None = None,
) -> tuple[str, str]:
    """(subscription id, secret); the secret is shown once."""
    if not url.startswith(("https://", "http://")) or len(url) > 2000:
        raise ValueError("url: an http:// or https:// URL")
    ident, secret = str(uuid7()), new_secret()
    with engine.begin() as connection:
        store.lock_member(connection, member_id)
        org = connection.execute(
            sa.select(db.members.c.org_id).where(db.members.c.id == member_id)
        ).scalar()
        if org is None:
            raise ValueError(f"no member {member_id!r}")
        connection.execute(
            sa.insert(db.subscriptions).values(
                id=ident,
                member_id=member_id,
                url=url,
                secret=secret,
                active=True,
                created_at=now,
            )
        )
        if quota is not None and store.owned(connection, db.subscriptions, member_id) > quota:
            raise OverQuota(member_id)
        store.record_audit(
            connection,
            at=now,
            actor=actor,
            action="subscribe",
            object_type="subscription",
            object_id=ident,
            org_id=org,
            after={"url": url},
        )
    return ident, secret


async def deliver_due(
    engine: sa.Engine,
    backend: Backend,
    now: dt.datetime,
    *,
    allow_private: bool = False,
    context: ssl.SSLContext | None = None,
    limit: int = 100,
    wall: Callable[[], float] = time.time,
) -> int:
    """Attempt every due delivery once; the number delivered.

    `now` schedules (what is due, when to retry); `wall` stamps `webhook-timestamp`, which
    receivers compare with their own clock to refuse replays, so it is always real time.
    """
    box, subs = db.outbox, db.subscriptions
    with engine.connect() as connection:
        due = connection.execute(
            sa.select(box, subs.c.url, subs.c.secret)
            .join(subs, subs.c.id == box.c.subscription_id)
            .where(
                box.c.delivered_at.is_(None),
                box.c.next_attempt_at <= now,
                box.c.attempts <= len(BACKOFF),
            )
            .order_by(box.c.id)
            .limit(limit)
        ).fetchall()
    delivered = 0
    for row in due:
        sent = dt.datetime.fromtimestamp(int(wall()), dt.UTC)
        signature = Webhook(row.secret).sign(row.webhook_id, sent, row.payload)
        headers = (
            ("webhook-id", row.webhook_id),
            ("webhook-timestamp", str(int(sent.timestamp()))),
            ("webhook-signature", signature),
        )
        exchange = await post_json(
            backend,
            row.url,
            row.payload.encode(),
            deadline=DEADLINE,
            ssl_context=context or tls_context(None),
            max_body=64 << 10,
            headers=headers,
            allow=(lambda a: True) if allow_private else (lambda a: not is_bogon(a)),
        )
        ok = exchange.failure is None and 200 <= exchange.status < 300
        attempts = row.attempts + 1
        values: dict[str, Any] = {"attempts": attempts}
        if ok:
            values["delivered_at"] = now
            delivered += 1
        else:
            values["last_error"] = (exchange.failure or f"HTTP {exchange.status}")[:300]
            if attempts <= len(BACKOFF):
                values["next_attempt_at"] = now + dt.timedelta(seconds=BACKOFF[attempts - 1])
        with engine.begin() as connection:
            connection.execute(sa.update(box).where(box.c.id == row.id).values(**values))
    return delivered
