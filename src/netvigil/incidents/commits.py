"""Committing a revision (the signed record, its audit entry, its webhook events), and the
steps of the publication workflow a revision records.

A commit runs inside the caller's transaction, so none of the three exists without the
others (the outbox lives in the same database as the records). It also keeps who asked to
publish: set only by a request (the publish request, or the revision that moves publication
to "requested"), and kept by every later revision, whoever writes it — a sighting by another
organisation must not make the one who asked eligible to approve.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import msgspec
import sqlalchemy as sa

from netvigil.incidents import access, store
from netvigil.incidents.access import Principal
from netvigil.incidents.errors import Forbidden
from netvigil.incidents.events import AuditEntry, EventType
from netvigil.incidents.levels import Level
from netvigil.incidents.model import Incident
from netvigil.incidents.normalise import estimative
from netvigil.incidents.signing import Keyring

ASKER = (
    "only a member of the author's organisation asks to publish "
    "(the operator names one: --as MEMBER)"
)


class Events(Protocol):
    def enqueue(
        self, connection: sa.Connection, event: EventType, incident: Incident, now: dt.datetime
    ) -> None: ...


def next_revision(old: Incident, now: dt.datetime, **changes: object) -> Incident:
    """The revision after `old`, unsigned, with `changes`."""
    return msgspec.structs.replace(
        old,
        revision=old.revision + 1,
        supersedes=old.revision,
        updated_at=now,
        signature=None,
        **changes,
    )


def asker(
    connection: sa.Connection, who: Principal, old: Incident | None, new: Incident, asks: bool
) -> str | None:
    """Who asked to publish `new`. A request for an incident nobody is known to have asked
    for (`asks`) sets it too."""
    if new.publication == "none":
        return None
    kept = store.requested_by(connection, new.id) if old is not None else None
    newly = new.publication == "requested" and (old is None or old.publication != "requested")
    if newly or (asks and kept is None):
        return who.member_id or who.kind
    return kept


def released(incident: Incident) -> Incident:
    """An approved incident as published: public, for everyone."""
    return msgspec.structs.replace(
        incident,
        visibility=Level.PUBLIC.label,
        tlp=Level.PUBLIC.tlp,
        recipients=[],
        sharing_group=None,
        estimative=estimative(incident.confidence),
    )


def may_ask(connection: sa.Connection, who: Principal, old: Incident | None, new: Incident) -> None:
    """A revision that asks for `public` is a publication request: a named member's."""
    asking = new.publication == "requested" and (old is None or old.publication != "requested")
    if asking and not access.can_ask_to_publish(who, store.sharing_of(connection, new)):
        raise Forbidden(ASKER)


class Commits:
    def __init__(self, keyring: Keyring, events: Events) -> None:
        self.keyring, self.events = keyring, events

    def commit(
        self,
        connection: sa.Connection,
        who: Principal,
        action: str,
        old: Incident | None,
        new: Incident,
        event: EventType | None,
        *,
        actor: str | None = None,
        asks: bool = False,
    ) -> Incident:
        """Sign `new`, store it, audit the change from `old` and announce `event`."""
        signed = self.keyring.sign(new)
        name = actor or (who.member_id or who.kind)
        store.save(
            connection, signed, actor=name, requested_by=asker(connection, who, old, new, asks)
        )
        entry = AuditEntry.of(
            at=new.updated_at,
            actor=name,
            action=action,
            object_type="incident",
            object_id=new.id,
            org_id=new.author_org,
            before=old,
            after=signed,
        )
        store.record_audit(connection, entry)
        if event is not None:
            self.events.enqueue(connection, event, signed, new.updated_at)
        return signed
