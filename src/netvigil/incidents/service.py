"""Incident operations: create, revise, publish (with review), release, retract, sight, read.

Each operation is one transaction: the authorisation check on the object it loads, the new
signed revision, the audit entry, and the webhook events (the outbox is written in the same
transaction, so an event exists exactly when its change does). Time is a parameter (`now`)
so embargoes and retractions can be tested by moving the clock. An object the caller may
not read is "not found", never "forbidden": existence is information too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol

import msgspec
import sqlalchemy as sa
from uuid6 import uuid7

from netvigil.incidents import access, store
from netvigil.incidents.access import Principal
from netvigil.incidents.levels import Level
from netvigil.incidents.model import STATUS_ORDER, Incident, IncidentInput, Sighting
from netvigil.incidents.normalise import build, estimative
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


class Events(Protocol):
    def enqueue(
        self, connection: sa.Connection, event: str, incident: Incident, now: dt.datetime
    ) -> None: ...


class Incidents:
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

    # --- writing ---------------------------------------------------------------------------

    def create(self, who: Principal, data: IncidentInput, org: str | None = None) -> Incident:
        """A new incident by the caller's organisation (the operator names one)."""
        if not access.can_create(who):
            raise Forbidden("creating incidents needs the write scope")
        author = who.org_id if who.kind == "member" else org
        if author is None:
            raise InvalidIncident(["author_org: name the organisation (--org)"])
        now = self.now()
        with self.engine.begin() as connection:
            self._check_refs(connection, data, author)
            incident = build(
                data,
                evidence=self.evidence,
                id=str(uuid7()),
                revision=1,
                created_at=now,
                now=now,
                instance=self.instance,
                author_org=author,
            )
            return self._commit(connection, who, "create", None, incident, "incident.created")

    def revise(self, who: Principal, incident_id: str, data: IncidentInput) -> Incident:
        now = self.now()
        with self.engine.begin() as connection:
            old = self._readable(connection, who, incident_id)
            if not access.can_revise(who, store.sharing_of(connection, old)):
                raise Forbidden("only the author's organisation revises an incident")
            if old.status == "retracted":
                raise InvalidIncident(["status: a retracted incident cannot be revised"])
            if STATUS_ORDER.index(data.status) < STATUS_ORDER.index(old.status):
                raise InvalidIncident(
                    [f"status: cannot go back from {old.status} to {data.status}"]
                )
            self._check_refs(connection, data, old.author_org)
            new = build(
                data,
                evidence=self.evidence,
                id=old.id,
                revision=old.revision + 1,
                created_at=old.created_at,
                now=now,
                instance=old.origin_instance,
                author_org=old.author_org,
                sightings=old.sightings,
                previous=old,
            )
            return self._commit(connection, who, "revise", old, new, "incident.updated")

    def request_publication(self, who: Principal, incident_id: str) -> Incident:
        with self.engine.begin() as connection:
            old = self._readable(connection, who, incident_id)
            if not access.can_revise(who, store.sharing_of(connection, old)):
                raise Forbidden("only the author's organisation asks to publish")
            new = self._next(old, publication="requested")
            return self._commit(connection, who, "request_publication", old, new, None)

    def review(self, who: Principal, incident_id: str, *, approve: bool) -> Incident:
        """The second person's decision on publishing to `public`."""
        with self.engine.begin() as connection:
            old = self._readable(connection, who, incident_id)
            requester = store.requested_by(connection, incident_id)
            if not access.can_review(who, store.sharing_of(connection, old), requester):
                raise Forbidden("publishing needs a second person: an admin who did not ask")
            if old.publication != "requested":  # only once allowed: state is information
                raise InvalidIncident(["publication: nobody asked to publish this incident"])
            if not approve:
                new = self._next(old, publication="none")
                return self._commit(connection, who, "reject_publication", old, new, None)
            new = self._next(old, publication="approved")
            new = self._release(new) if self._due(new) else new
            event = "incident.published" if new.visibility == "public" else None
            return self._commit(connection, who, "approve_publication", old, new, event)

    def release_due(self) -> list[str]:
        """Publish approved incidents whose embargo has passed (any reader calls this)."""
        now = self.now()
        with self.engine.begin() as connection:
            due = store.due_for_release(connection, now)
            for incident_id in due:
                old = store.load(connection, incident_id)
                if old is not None:
                    new = self._release(self._next(old))
                    self._commit(
                        connection,
                        access.OPERATOR,
                        "release",
                        old,
                        new,
                        "incident.published",
                        actor="system:embargo",
                    )
        return due

    def retract(self, who: Principal, incident_id: str, reason: str) -> Incident:
        reason = reason.strip()
        if not reason or len(reason) > 1000:
            raise InvalidIncident(["reason: give a reason (at most 1000 characters)"])
        with self.engine.begin() as connection:
            old = self._readable(connection, who, incident_id)
            if not access.can_retract(who, store.sharing_of(connection, old)):
                raise Forbidden("retracting needs an admin of the author's organisation")
            new = self._next(old, status="retracted", retraction_reason=reason)
            return self._commit(connection, who, "retract", old, new, "incident.retracted")

    def sight(
        self, who: Principal, incident_id: str, kind: str, note: str, org_name: str
    ) -> Incident:
        with self.engine.begin() as connection:
            old = self._readable(connection, who, incident_id)
            if not access.can_sight(who, store.sharing_of(connection, old)):
                raise Forbidden("sightings need the write scope")
            try:
                sighting = msgspec.convert(
                    {"org": org_name, "kind": kind, "at": self.now(), "note": note}, Sighting
                )
            except msgspec.ValidationError as exc:
                raise InvalidIncident([f"sighting: {exc}"]) from None
            new = self._next(old, sightings=[*old.sightings, sighting])
            return self._commit(connection, who, "sight", old, new, "incident.updated")

    # --- reading ---------------------------------------------------------------------------

    def get(self, who: Principal, incident_id: str, revision: int | None = None) -> Incident:
        self.release_due()
        with self.engine.connect() as connection:
            return self._readable(connection, who, incident_id, revision)

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

    def readable_ids(self, who: Principal) -> list[str]:
        """The incidents the caller may read, most recently updated first."""
        self.release_due()
        with self.engine.connect() as connection:
            return [
                i for i, sharing in store.sharing_rows(connection) if access.can_read(who, sharing)
            ]

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
        found = store.load(connection, incident_id, revision)
        if found is None or not access.can_read(who, store.sharing_of(connection, found)):
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

    def _due(self, incident: Incident) -> bool:
        until = incident.embargo_until
        return until is None or until <= self.now()

    @staticmethod
    def _release(incident: Incident) -> Incident:
        return msgspec.structs.replace(
            incident,
            visibility=Level.PUBLIC.label,
            tlp=Level.PUBLIC.tlp,
            recipients=[],
            sharing_group=None,
            estimative=estimative(incident.confidence),
        )

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
    ) -> Incident:
        signed = self.keyring.sign(new)
        requester = who.member_id if new.publication == "requested" else None
        if new.publication == "approved" and old is not None:
            requester = store.requested_by(connection, new.id)
        name = actor or (who.member_id or who.kind)
        store.save(connection, signed, actor=name, requested_by=requester)
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
