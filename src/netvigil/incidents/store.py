"""Rows in and out of the incident tables: the thin layer under the service.

Everything takes an open connection (the service owns transactions). Revisions are stored
as the exact JSON text that was signed; reading one back decodes that text. The SQL of the
incident layer is here and in its two siblings, never beside the logic that uses it:
subscribers.py (saved feeds, webhook subscriptions, the outbox) and, for the accounts,
accounts.py and logins.py (see there why).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Literal

import msgspec
import sqlalchemy as sa

from netvigil.incidents import db
from netvigil.incidents.access import Sharing
from netvigil.incidents.events import AuditEntry
from netvigil.incidents.levels import Level
from netvigil.incidents.model import Incident

Connection = sa.Connection


def group_orgs(connection: Connection, group: str | None) -> frozenset[str]:
    if group is None:
        return frozenset()
    rows = connection.execute(
        sa.select(db.group_orgs.c.org_id).where(db.group_orgs.c.group_id == group)
    )
    return frozenset(r.org_id for r in rows)


def sharing_of(connection: Connection, incident: Incident) -> Sharing:
    return Sharing(
        author_org=incident.author_org,
        level=Level.parse(incident.visibility),
        recipients=frozenset(incident.recipients),
        group_orgs=group_orgs(connection, incident.sharing_group),
    )


def sharing_rows(connection: Connection) -> list[tuple[str, Sharing]]:
    """(id, sharing) of every incident's current revision, for listing by clearance."""
    groups: dict[str, set[str]] = {}
    for row in connection.execute(sa.select(db.group_orgs)):
        groups.setdefault(row.group_id, set()).add(row.org_id)
    table = db.incidents
    rows = connection.execute(
        sa.select(
            table.c.id,
            table.c.author_org,
            table.c.visibility,
            table.c.recipients,
            table.c.sharing_group,
        ).order_by(table.c.updated_at.desc(), table.c.id)
    )
    return [
        (
            row.id,
            Sharing(
                author_org=row.author_org,
                level=Level.parse(row.visibility),
                recipients=frozenset(json.loads(row.recipients)),
                group_orgs=frozenset(groups.get(row.sharing_group or "", ())),
            ),
        )
        for row in rows
    ]


def load(connection: Connection, incident_id: str, revision: int | None = None) -> Incident | None:
    table = db.revisions
    query = sa.select(table.c.body).where(table.c.incident_id == incident_id)
    if revision is None:
        query = query.order_by(table.c.revision.desc()).limit(1)
    else:
        query = query.where(table.c.revision == revision)
    body = connection.execute(query).scalar()
    return msgspec.json.decode(body, type=Incident) if body is not None else None


def revision_numbers(connection: Connection, incident_id: str) -> list[int]:
    table = db.revisions
    rows = connection.execute(
        sa.select(table.c.revision)
        .where(table.c.incident_id == incident_id)
        .order_by(table.c.revision)
    )
    return [r.revision for r in rows]


def save(
    connection: Connection,
    incident: Incident,
    *,
    actor: str,
    requested_by: str | None,
) -> None:
    """Insert a signed revision and point the incident at it."""
    values = {
        "author_org": incident.author_org,
        "revision": incident.revision,
        "visibility": incident.visibility,
        "status": incident.status,
        "publication": incident.publication,
        "requested_by": requested_by,
        "recipients": json.dumps(incident.recipients),
        "sharing_group": incident.sharing_group,
        "embargo_until": incident.embargo_until,
        "updated_at": incident.updated_at,
    }
    if incident.revision == 1:
        connection.execute(
            sa.insert(db.incidents).values(id=incident.id, created_at=incident.created_at, **values)
        )
    else:
        connection.execute(
            sa.update(db.incidents).where(db.incidents.c.id == incident.id).values(**values)
        )
    body = msgspec.json.encode(incident).decode()
    connection.execute(
        sa.insert(db.revisions).values(
            incident_id=incident.id,
            revision=incident.revision,
            visibility=incident.visibility,
            body=body,
            created_by=actor,
            created_at=incident.updated_at,
        )
    )


def requested_by(connection: Connection, incident_id: str) -> str | None:
    return connection.execute(
        sa.select(db.incidents.c.requested_by).where(db.incidents.c.id == incident_id)
    ).scalar()


def due_for_release(connection: Connection, now: dt.datetime) -> list[str]:
    table = db.incidents
    rows = connection.execute(
        sa.select(table.c.id).where(
            table.c.publication == "approved",
            table.c.visibility != Level.PUBLIC.label,
            table.c.status != "retracted",
            table.c.embargo_until <= now,
        )
    )
    return [r.id for r in rows]


def record_audit(connection: Connection, entry: AuditEntry) -> None:
    connection.execute(sa.insert(db.audit).values(**msgspec.structs.asdict(entry)))


def audit_entries(connection: Connection) -> list[AuditEntry]:
    """The whole audit log, oldest first."""
    rows = connection.execute(sa.select(db.audit).order_by(db.audit.c.id))
    fields = AuditEntry.__struct_fields__
    return [AuditEntry(**{name: getattr(row, name) for name in fields}) for row in rows]


def org_names(connection: Connection) -> dict[str, str]:
    return {r.id: r.name for r in connection.execute(sa.select(db.orgs))}


def group_names(connection: Connection) -> list[tuple[str, str]]:
    """(id, name) of every sharing group, by name."""
    rows = connection.execute(sa.select(db.sharing_groups).order_by(db.sharing_groups.c.name))
    return [(str(r.id), str(r.name)) for r in rows]


def org_ids(connection: Connection, ids: list[str]) -> set[str]:
    rows = connection.execute(sa.select(db.orgs.c.id).where(db.orgs.c.id.in_(ids)))
    return {r.id for r in rows}


def group_exists(connection: Connection, group: str) -> bool:
    found = connection.execute(
        sa.select(db.sharing_groups.c.id).where(db.sharing_groups.c.id == group)
    ).scalar()
    return found is not None


def lock_member(connection: Connection, member_id: str) -> None:
    """Serialise a member's quota-bound inserts: on PostgreSQL lock the member's row; SQLite
    has one writer at a time (and ignores FOR UPDATE)."""
    connection.execute(
        sa.select(db.members.c.id).where(db.members.c.id == member_id).with_for_update()
    )


def owned(connection: Connection, kind: Literal["feeds", "subscriptions"], member_id: str) -> int:
    """How many feeds or webhook subscriptions the member has (counted after an insert, in
    its transaction)."""
    table = db.metadata.tables[kind]
    count = sa.select(sa.func.count()).select_from(table).where(table.c.member_id == member_id)
    return int(connection.execute(count).scalar() or 0)
