"""The core of the incident service: loading with access checks, and committing revisions.

A commit is one transaction: the signed revision, the audit entry (before/after hashes) and
the webhook events (the outbox lives in the same database), so none exists without the
others. Reading is here too: what the caller may read, never more.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Protocol

import msgspec
import sqlalchemy as sa

from netvigil.incidents import access, store
from netvigil.incidents.access import Principal
from netvigil.incidents.model import Incident, IncidentInput
from netvigil.incidents.signing import Keyring
from netvigil.incidents.validate import InvalidIncident, check
from netvigil.incidents.views import visible


class NotFound(LookupError):
    """No such incident, or none the caller may see (the same answer on purpose)."""


class Forbidden(PermissionError):
    """The caller may see the object but not do this to it."""


class Evidence(Protocol):
    def sha256(self, kind: str, ref: str) -> str | None:
        """The hash of what `ref` points to (None: it does not exist); raise LookupError
        for a type whose reference the instance does not read."""

    def networks(self, asns: Sequence[int]) -> dict[int, str]:
        """AS number → the network's name, for those the instance's data names."""

    def seen(self, uids: Sequence[str]) -> dict[str, tuple[str, int, str]]:
        """measurement uid → (country, AS number, network name), for those it holds."""


class Events(Protocol):
    def enqueue(
        self, connection: sa.Connection, event: str, incident: Incident, now: dt.datetime
    ) -> None: ...


class Core:
    def __init__(
        self,
        engine: sa.Engine,
        keyring: Keyring,
        *,
        instance: str,
        evidence: Evidence,
        events: Events,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.engine, self.keyring, self.instance = engine, keyring, instance
        self.evidence, self.events, self.now = evidence, events, now

    # --- reading ---------------------------------------------------------------------------

    def history(self, who: Principal, incident_id: str) -> list[Incident]:
        """Every revision the caller may read, oldest first (each by its own sharing)."""
        with self.engine.connect() as connection:
            self._readable(connection, who, incident_id)
            found = []
            for number in store.revision_numbers(connection, incident_id):
                old = store.load(connection, incident_id, number)
                if old is not None and access.can_read(who, store.sharing_of(connection, old)):
                    found.append(old)
            return found

    def load_many(self, ids: list[str]) -> list[Incident]:
        with self.engine.connect() as connection:
            return [i for i in (store.load(connection, x) for x in ids) if i is not None]

    def view(self, who: Principal, incidents: list[Incident]) -> list[Incident]:
        """What the caller is given of incidents it may read (views.visible)."""
        with self.engine.connect() as connection:
            return [
                visible(who, incident, store.sharing_of(connection, incident), self.keyring)
                for incident in incidents
            ]

    # --- internals -------------------------------------------------------------------------

    def _readable(
        self,
        connection: sa.Connection,
        who: Principal,
        incident_id: str,
        revision: int | None = None,
    ) -> Incident:
        current = store.load(connection, incident_id)
        found = current if revision is None else store.load(connection, incident_id, revision)
        # An old revision follows the incident's visibility now (who may not read the
        # incident may read none of it) as well as its own.
        if (
            current is None
            or found is None
            or not all(
                access.can_read(who, store.sharing_of(connection, x)) for x in (current, found)
            )
        ):
            raise NotFound(f"no incident {incident_id!r}")
        return found

    def _check_refs(self, connection: sa.Connection, data: IncidentInput, author: str) -> None:
        problems = check(data)
        missing = set(data.recipients) - store.org_ids(connection, list(data.recipients))
        problems += [f"recipients: no organisation {org!r}" for org in sorted(missing)]
        if data.sharing_group and not store.group_exists(connection, data.sharing_group):
            problems.append(f"sharing_group: no group {data.sharing_group!r}")
        if not store.org_ids(connection, [author]):
            problems.append(f"author_org: no organisation {author!r}")
        if problems:
            raise InvalidIncident(problems)

    def _next(self, old: Incident, **changes: object) -> Incident:
        return msgspec.structs.replace(
            old,
            revision=old.revision + 1,
            supersedes=old.revision,
            updated_at=self.now(),
            signature=None,
            **changes,
        )

    @staticmethod
    def _asker(
        connection: sa.Connection, who: Principal, old: Incident | None, new: Incident, asks: bool
    ) -> str | None:
        """Who asked to publish: set only by a request (the publish request, or the revision
        that moves publication to "requested"); every later revision keeps it, whoever
        writes it (a sighting by another organisation must not make the asker eligible to
        approve). A request for an incident nobody is known to have asked for sets it."""
        if new.publication == "none":
            return None
        kept = store.requested_by(connection, new.id) if old is not None else None
        newly = new.publication == "requested" and (old is None or old.publication != "requested")
        if newly or (asks and kept is None):
            return who.member_id or who.kind
        return kept

    def _commit(
        self,
        connection: sa.Connection,
        who: Principal,
        action: str,
        old: Incident | None,
        new: Incident,
        event: str | None,
        *,
        actor: str | None = None,
        asks: bool = False,
    ) -> Incident:
        signed = self.keyring.sign(new)
        name = actor or (who.member_id or who.kind)
        store.save(
            connection,
            signed,
            actor=name,
            requested_by=self._asker(connection, who, old, new, asks),
        )
        store.record_audit(
            connection,
            at=new.updated_at,
            actor=name,
            action=action,
            object_type="incident",
            object_id=new.id,
            org_id=new.author_org,
            before=old,
            after=signed,
        )
        if event is not None:
            self.events.enqueue(connection, event, signed, new.updated_at)
        return signed
