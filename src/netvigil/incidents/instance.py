"""One instance's incident side: database, keys, service, and its background work.

Built once per server (and per CLI command) from the data folder. Its background work —
releasing embargoed incidents on their date, and delivering webhooks from the outbox — runs
as two tasks of its own, so neither waits on the other (a webhook endpoint that never
answers cannot hold up a release); both take the time from `now`, so tests move a clock.
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

from uuid6 import uuid7

from netvigil.datadir import DataDir
from netvigil.incidents import accounts, db, keys, store, subscribers, webhooks
from netvigil.incidents.access import Principal, can_read_audit
from netvigil.incidents.delivery import DEADLINE, Deliveries
from netvigil.incidents.errors import Forbidden, OverQuota
from netvigil.incidents.events import AuditEntry, AuditLine
from netvigil.incidents.filters import BadFilter, Filter, parse_filter
from netvigil.incidents.model import Incident
from netvigil.incidents.service import Evidence, Incidents
from netvigil.incidents.signing import Keyring
from netvigil.net.backend import Backend

DELIVERY_INTERVAL = 1.0
FEEDS_PER_MEMBER = 50  # saved feeds and webhooks per member: no one fills the database
WEBHOOKS_PER_MEMBER = 20


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
        self.keyring = Keyring(DataDir(root=data_dir).signing_keys)
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
            return store.org_names(connection)

    def group_names(self) -> list[tuple[str, str]]:
        with self.engine.connect() as connection:
            return store.group_names(connection)

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
            subscribers.add_feed(
                connection,
                ident=ident,
                token_hash=hashlib.sha256(token.encode()).hexdigest(),
                member_id=who.member_id,
                name=name[:200] or "saved filter",
                saved=json.dumps(chosen.saved(), default=str),
                now=now,
            )
            if store.owned(connection, "feeds", who.member_id) > FEEDS_PER_MEMBER:
                raise OverQuota("saved feeds", FEEDS_PER_MEMBER)
            entry = AuditEntry.of(
                at=now,
                actor=who.member_id,
                action="create_feed",
                object_type="feed",
                object_id=ident,
                org_id=who.org_id,
                after=chosen.saved(),
            )
            store.record_audit(connection, entry)
        return {"id": ident, "url": f"{self.url}/api/v1/feeds/{token}"}

    def feed(self, token: str) -> tuple[Principal, Filter] | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        with self.engine.connect() as connection:
            found = subscribers.feed(connection, digest)
            owner = accounts.member(connection, found[0]) if found else None
        if found is None or owner is None:
            return None
        return owner, parse_filter(json.loads(found[1]), paged=False)

    def subscribe(self, who: Principal, url: str) -> dict[str, str]:
        if who.kind != "member" or not who.may("read") or who.member_id is None:
            raise Forbidden("webhooks are for members")
        ident, secret = webhooks.subscribe(
            self.engine,
            who.member_id,
            url,
            actor=who.member_id,
            now=self.now(),
            quota=WEBHOOKS_PER_MEMBER,
        )
        return {"id": ident, "secret": secret}

    def new_key(self, who: Principal, scopes: Any, days: int) -> dict[str, Any]:
        """A key for the caller, with at most the scopes and the lifetime of the caller's."""
        if who.kind != "member" or who.member_id is None:
            raise Forbidden("API keys are for members")
        wanted = {str(s) for s in scopes} if isinstance(scopes, list) else set()
        now = self.now()
        key = keys.create_key(
            self.engine, who.member_id, wanted, days=days, actor=who.member_id, now=now, maker=who
        )
        expires = now + dt.timedelta(days=days)
        return {"key": key, "id": key.split("_")[1], "expires_at": expires.isoformat()}

    def revoke_key(self, who: Principal, ident: str) -> dict[str, Any]:
        keys.revoke_key(self.engine, ident, who, self.now())
        return {"id": ident, "revoked": True}

    def audit(self, who: Principal) -> list[AuditLine]:
        """The entries the caller may read; one about an incident only for who may read
        that incident (the readable set is worked out once, not per entry)."""
        with self.engine.connect() as connection:
            entries = store.audit_entries(connection)
        readable = set(self.service.readable_ids(who)) if who.kind != "operator" else None
        return [
            AuditLine.of(e)
            for e in entries
            if can_read_audit(who, e.org_id)
            and (readable is None or e.object_type != "incident" or e.object_id in readable)
        ]

    # --- background work -------------------------------------------------------------------

    async def run(
        self, backend: Backend, *, allow_private: bool, deadline: float = DEADLINE
    ) -> None:
        """Release embargoes and deliver webhooks (each delivery within `deadline` seconds),
        side by side, until cancelled."""
        deliveries = Deliveries(
            self.engine, backend, allow_private=allow_private, deadline=deadline
        )
        async with asyncio.TaskGroup() as group:
            group.create_task(self.release_embargoes(DELIVERY_INTERVAL))
            group.create_task(deliveries.run(self.now, DELIVERY_INTERVAL))

    async def release_embargoes(self, interval: float) -> None:
        while True:
            await asyncio.to_thread(self.service.release_due)
            await asyncio.sleep(interval)
