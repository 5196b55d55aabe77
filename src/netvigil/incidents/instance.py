"""One instance's incident side: database, keys, service, and its background work.

Built once per server (and per CLI command) from the data folder. Its background work —
releasing embargoed incidents on their date and delivering webhooks from the outbox — runs
as tasks in the server's task group; both take the time from `now`, so tests move a clock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from uuid6 import uuid7

from netvigil.incidents import accounts, db, store, webhooks
from netvigil.incidents.access import Principal, can_read_audit
from netvigil.incidents.filters import BadFilter, Filter, parse_filter
from netvigil.incidents.model import Incident
from netvigil.incidents.service import Evidence, Forbidden, Incidents, NotFound
from netvigil.incidents.signing import Keyring
from netvigil.net.backend import Backend

DELIVERY_INTERVAL = 1.0
FEEDS_PER_MEMBER = 50  # saved feeds and webhooks per member: no one fills the database
WEBHOOKS_PER_MEMBER = 20


class OverQuota(Exception):
    """A member already has as many of these as one may (a 403 naming the quota)."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(f"quota: at most {limit} {what} per member")
        self.what, self.limit = what, limit


class Instance:
    def __init__(
        self,
        data_dir: Path,
        *,
        url: str,
        evidence: Evidence,
        database: str | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.url, self.now = url.rstrip("/"), now
        self.engine = db.open_database(db.database_url(data_dir, database))
        self.keyring = Keyring(data_dir / "keys")
        self.service = Incidents(
            self.engine,
            self.keyring,
            instance=self.url,
            evidence=evidence,
            events=webhooks.Outbox(self.keyring),
            now=now,
        )

    def org_names(self) -> dict[str, str]:
        with self.engine.connect() as connection:
            return {r.id: r.name for r in connection.execute(sa.select(db.orgs))}

    def group_names(self) -> list[tuple[str, str]]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(db.sharing_groups).order_by(db.sharing_groups.c.name)
            )
            return [(str(r.id), str(r.name)) for r in rows]

    def select(self, who: Principal, chosen: Filter) -> list[Incident]:
        """Every incident the caller may read that matches, most recently updated first."""
        found = self.service.load_many(self.service.readable_ids(who))
        return [i for i in found if chosen.matches(i)]

    # --- feeds, webhooks, keys, audit ------------------------------------------------------

    def create_feed(self, who: Principal, name: str, wanted: Any) -> dict[str, str]:
        if who.kind != "member" or not who.may("read") or who.member_id is None:
            raise Forbidden("saved feeds are for members")
        if not isinstance(wanted, dict):
            raise BadFilter("filter: a JSON object")
        chosen = parse_filter(wanted, paged=False)
        token = secrets.token_urlsafe(32)
        now = self.now()
        with self.engine.begin() as connection:
            ident = str(uuid7())
            store.lock_member(connection, who.member_id)
            connection.execute(
                sa.insert(db.feeds).values(
                    id=ident,
                    token_hash=hashlib.sha256(token.encode()).hexdigest(),
                    member_id=who.member_id,
                    name=name[:200] or "saved filter",
                    filter=json.dumps(chosen.saved(), default=str),
                    created_at=now,
                )
            )
            if store.owned(connection, db.feeds, who.member_id) > FEEDS_PER_MEMBER:
                raise OverQuota("saved feeds", FEEDS_PER_MEMBER)
            store.record_audit(
                connection,
                at=now,
                actor=who.member_id,
                action="create_feed",
                object_type="feed",
                object_id=ident,
                org_id=who.org_id,
                after=chosen.saved(),
            )
        return {"id": ident, "url": f"{self.url}/api/v1/feeds/{token}"}

    def feed(self, token: str) -> tuple[Principal, Filter] | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(db.feeds).where(db.feeds.c.token_hash == digest)
            ).first()
            owner = accounts.member(connection, row.member_id) if row else None
        if row is None or owner is None:
            return None
        return owner, parse_filter(json.loads(row.filter), paged=False)

    def subscribe(self, who: Principal, url: str) -> dict[str, str]:
        if who.kind != "member" or not who.may("read") or who.member_id is None:
            raise Forbidden("webhooks are for members")
        try:
            ident, secret = webhooks.subscribe(
                self.engine,
                who.member_id,
                url,
                actor=who.member_id,
                now=self.now(),
                quota=WEBHOOKS_PER_MEMBER,
            )
        except webhooks.OverQuota:
            raise OverQuota("webhooks", WEBHOOKS_PER_MEMBER) from None
        except ValueError as exc:
            raise BadFilter(str(exc)) from None
        return {"id": ident, "secret": secret}

    def new_key(self, who: Principal, scopes: Any, days: int) -> dict[str, Any]:
        """A key for the caller, with at most the scopes and the lifetime of the caller's."""
        if who.kind != "member" or who.member_id is None:
            raise Forbidden("API keys are for members")
        wanted = {str(s) for s in scopes} if isinstance(scopes, list) else set()
        now = self.now()
        try:
            key = accounts.create_key(
                self.engine,
                who.member_id,
                wanted,
                days=days,
                actor=who.member_id,
                now=now,
                maker=who,
            )
        except accounts.KeyRefused as exc:
            raise Forbidden(str(exc)) from None
        expires = now + dt.timedelta(days=days)
        return {"key": key, "id": key.split("_")[1], "expires_at": expires.isoformat()}

    def revoke_key(self, who: Principal, ident: str) -> dict[str, Any]:
        try:
            accounts.revoke_key(self.engine, ident, who, self.now())
        except accounts.NoKey as exc:
            raise NotFound(str(exc)) from None
        return {"id": ident, "revoked": True}

    def audit(self, who: Principal) -> list[dict[str, Any]]:
        """The entries the caller may read; one about an incident only for who may read
        that incident (the readable set is worked out once, not per entry)."""
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(db.audit).order_by(db.audit.c.id)).fetchall()
        readable = set(self.service.readable_ids(who)) if who.kind != "operator" else None
        return [
            {
                "at": (r.at if r.at.tzinfo else r.at.replace(tzinfo=dt.UTC)).isoformat(),
                "actor": r.actor,
                "action": r.action,
                "object_type": r.object_type,
                "object_id": r.object_id,
                "before_hash": r.before_hash,
                "after_hash": r.after_hash,
            }
            for r in rows
            if can_read_audit(who, r.org_id)
            and (readable is None or r.object_type != "incident" or r.object_id in readable)
        ]

    # --- background work -------------------------------------------------------------------

    async def run(self, backend: Backend, *, allow_private: bool) -> None:
        """Release embargoes and deliver webhooks until cancelled."""
        while True:
            await asyncio.to_thread(self.service.release_due)
            await webhooks.deliver_due(
                self.engine, backend, self.now(), allow_private=allow_private
            )
            await asyncio.sleep(DELIVERY_INTERVAL)
