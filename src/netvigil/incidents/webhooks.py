"""Webhooks: a durable outbox, signed deliveries (Standard Webhooks), retries with backoff.

- An event is written to the outbox in the transaction that makes the change (one row per
  subscription that may read the incident, or that had it before, for a retraction), so a
  restart loses none and no event exists without its change.
- Each row has one `webhook-id` for all its attempts; receivers deduplicate on it, which
  makes retries idempotent (standardwebhooks.com: "webhook-id ... the same when retried").
- Bodies are signed with the subscription's `whsec_` secret: `webhook-id`,
  `webhook-timestamp` and `webhook-signature` headers (HMAC-SHA256), by the reference
  `standardwebhooks` library.
- Delivering, retrying with backoff and refusing private destinations: delivery.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets

import sqlalchemy as sa
from uuid6 import uuid7

from netvigil.incidents import accounts, store, subscribers
from netvigil.incidents.access import can_read
from netvigil.incidents.errors import BadInput, OverQuota
from netvigil.incidents.events import AuditEntry, EventType, Retracted, WebhookEvent
from netvigil.incidents.model import Incident
from netvigil.incidents.signing import Keyring
from netvigil.incidents.views import visible


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Outbox:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def enqueue(
        self, connection: sa.Connection, event: EventType, incident: Incident, now: dt.datetime
    ) -> None:
        sharing = store.sharing_of(connection, incident)
        had = subscribers.had(connection, incident.id)
        for subscription, member_id in subscribers.active(connection):
            who = accounts.member(connection, member_id)
            if who is None:
                continue
            readable = can_read(who, sharing)
            if not readable and not (event == "incident.retracted" and subscription in had):
                continue
            data = (
                visible(who, incident, sharing, self.keyring)
                if readable
                else Retracted(incident.id)  # all they may learn now
            )
            subscribers.add_event(
                connection,
                webhook_id=f"msg_{uuid7().hex}",
                subscription_id=subscription,
                incident_id=incident.id,
                event=event,
                payload=WebhookEvent(type=event, timestamp=now.isoformat(), data=data).body(),
                now=now,
            )


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
        raise BadInput("url: an http:// or https:// URL")
    ident, secret = str(uuid7()), new_secret()
    with engine.begin() as connection:
        store.lock_member(connection, member_id)
        org = accounts.org_of(connection, member_id)
        if org is None:
            raise BadInput(f"no member {member_id!r}")
        subscribers.add_subscription(
            connection, ident=ident, member_id=member_id, url=url, secret=secret, now=now
        )
        if quota is not None and store.owned(connection, "subscriptions", member_id) > quota:
            raise OverQuota("webhooks", quota)
        entry = AuditEntry.of(
            at=now,
            actor=actor,
            action="subscribe",
            object_type="subscription",
            object_id=ident,
            org_id=org,
            after={"url": url},
        )
        store.record_audit(connection, entry)
    return ident, secret
