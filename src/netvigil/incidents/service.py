"""Incident operations: create, revise, publish (with review), release, retract, sight, read.

Each operation is one transaction: the authorisation check on the object it loads, the new
signed revision, the audit entry, and the webhook events (the outbox is written in the same
transaction, so an event exists exactly when its change does). Time is a parameter (`now`)
so embargoes and retractions can be tested by moving the clock. An object the caller may
not read is "not found", never "forbidden": existence is information too.
"""

from __future__ import annotations

import msgspec
import sqlalchemy as sa
from uuid6 import uuid7

from netvigil.incidents import access, store
from netvigil.incidents.access import Principal
from netvigil.incidents.core import Core, Events, Evidence, Forbidden, NotFound
from netvigil.incidents.levels import Level
from netvigil.incidents.model import STATUS_ORDER, Incident, IncidentInput, Sighting
from netvigil.incidents.normalise import build, estimative
from netvigil.incidents.validate import InvalidIncident

__all__ = ["Events", "Evidence", "Forbidden", "Incidents", "NotFound"]

ASKER = (
    "only a member of the author's organisation asks to publish "
    "(the operator names one: --as MEMBER)"
)


class Incidents(Core):
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
            self._may_ask(connection, who, None, incident)
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
            self._may_ask(connection, who, old, new)
            return self._commit(connection, who, "revise", old, new, "incident.updated")

    def request_publication(self, who: Principal, incident_id: str) -> Incident:
        with self.engine.begin() as connection:
            old = self._readable(connection, who, incident_id)
            if not access.can_ask_to_publish(who, store.sharing_of(connection, old)):
                raise Forbidden(ASKER)
            if old.publication == "requested" and store.requested_by(connection, old.id):
                raise InvalidIncident(
                    ["publication: already requested; a second person approves or rejects it"]
                )
            new = self._next(old, publication="requested")
            return self._commit(connection, who, "request_publication", old, new, None, asks=True)

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

    # --- reading (after any embargo that has passed) -----------------------------------

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

    # --- publication helpers ---------------------------------------------------------

    @staticmethod
    def _may_ask(
        connection: sa.Connection, who: Principal, old: Incident | None, new: Incident
    ) -> None:
        """A revision that asks for `public` is a publication request: a named member's."""
        asking = new.publication == "requested" and (old is None or old.publication != "requested")
        if asking and not access.can_ask_to_publish(who, store.sharing_of(connection, new)):
            raise Forbidden(ASKER)

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
