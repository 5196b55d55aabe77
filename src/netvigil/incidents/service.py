"""Incident operations: create, revise, publish (with review), release, retract, sight, read.

Each operation is one transaction: the authorisation check on the object it loads, the new
signed revision, the audit entry, and the webhook events (commits.py: the outbox is written
in the same transaction, so an event exists exactly when its change does). Time is a
parameter (`now`) so embargoes and retractions can be tested by moving the clock. An object
the caller may not read is "not found", never "forbidden": existence is information too.
Reading gives what the caller may read, never more, after any embargo that has passed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import msgspec
import sqlalchemy as sa
from uuid6 import uuid7

from netvigil.incidents import access, store
from netvigil.incidents.access import Principal
from netvigil.incidents.commits import ASKER, Commits, Events, may_ask, next_revision, released
from netvigil.incidents.errors import Forbidden, NotFound
from netvigil.incidents.events import EventType
from netvigil.incidents.model import STATUS_ORDER, Incident, IncidentInput, Sighting
from netvigil.incidents.normalise import Evidence, build
from netvigil.incidents.signing import Keyring
from netvigil.incidents.validate import InvalidIncident, check
from netvigil.incidents.views import visible

__all__ = ["Events", "Evidence", "Incidents"]  # what the instance is built from


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
        self.evidence, self.now = evidence, now
        self.commits = Commits(keyring, events)

    # --- writing ---------------------------------------------------------------------------

    def create(
        self, who: Principal, data: IncidentInput, org: str | None = None, ident: str | None = None
    ) -> Incident:
        """A new incident by the caller's organisation (the operator names one). `ident`: an
        id chosen by the caller (alerts derive it from the event, so a second try finds it)."""
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
                id=ident or str(uuid7()),
                revision=1,
                created_at=now,
                now=now,
                instance=self.instance,
                author_org=author,
            )
            may_ask(connection, who, None, incident)
            return self.commits.commit(
                connection, who, "create", None, incident, "incident.created"
            )

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
            may_ask(connection, who, old, new)
            return self.commits.commit(connection, who, "revise", old, new, "incident.updated")

    def request_publication(self, who: Principal, incident_id: str) -> Incident:
        with self.engine.begin() as connection:
            old = self._readable(connection, who, incident_id)
            if not access.can_ask_to_publish(who, store.sharing_of(connection, old)):
                raise Forbidden(ASKER)
            if old.publication == "requested" and store.requested_by(connection, old.id):
                raise InvalidIncident(
                    ["publication: already requested; a second person approves or rejects it"]
                )
            new = next_revision(old, self.now(), publication="requested")
            return self.commits.commit(
                connection, who, "request_publication", old, new, None, asks=True
            )

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
                new = next_revision(old, self.now(), publication="none")
                return self.commits.commit(connection, who, "reject_publication", old, new, None)
            new = next_revision(old, self.now(), publication="approved")
            until = new.embargo_until
            new = released(new) if until is None or until <= self.now() else new
            event: EventType | None = "incident.published" if new.visibility == "public" else None
            return self.commits.commit(connection, who, "approve_publication", old, new, event)

    def release_due(self) -> list[str]:
        """Publish approved incidents whose embargo has passed (any reader calls this)."""
        now = self.now()
        with self.engine.begin() as connection:
            due = store.due_for_release(connection, now)
            for incident_id in due:
                old = store.load(connection, incident_id)
                if old is not None:
                    new = released(next_revision(old, self.now()))
                    self.commits.commit(
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
            new = next_revision(old, self.now(), status="retracted", retraction_reason=reason)
            return self.commits.commit(connection, who, "retract", old, new, "incident.retracted")

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
            new = next_revision(old, self.now(), sightings=[*old.sightings, sighting])
            return self.commits.commit(connection, who, "sight", old, new, "incident.updated")

    # --- reading ---------------------------------------------------------------------------

    def get(self, who: Principal, incident_id: str, revision: int | None = None) -> Incident:
        self.release_due()
        with self.engine.connect() as connection:
            return self._readable(connection, who, incident_id, revision)

    def readable_ids(self, who: Principal) -> list[str]:
        """The incidents the caller may read, most recently updated first."""
        self.release_due()
        with self.engine.connect() as connection:
            return [
                i for i, sharing in store.sharing_rows(connection) if access.can_read(who, sharing)
            ]

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

    # --- checks ----------------------------------------------------------------------------

    @staticmethod
    def _readable(
        connection: sa.Connection, who: Principal, incident_id: str, revision: int | None = None
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

    @staticmethod
    def _check_refs(connection: sa.Connection, data: IncidentInput, author: str) -> None:
        problems = check(data)
        missing = set(data.recipients) - store.org_ids(connection, list(data.recipients))
        problems += [f"recipients: no organisation {org!r}" for org in sorted(missing)]
        if data.sharing_group and not store.group_exists(connection, data.sharing_group):
            problems.append(f"sharing_group: no group {data.sharing_group!r}")
        if not store.org_ids(connection, [author]):
            problems.append(f"author_org: no organisation {author!r}")
        if problems:
            raise InvalidIncident(problems)
