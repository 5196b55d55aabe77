"""Organisations, members and sharing groups (API keys: keys.py; logging in: logins.py).

Passwords are hashed with scrypt (stdlib; N=2^14, r=8, p=1, 16-byte salt). Every change is
written to the audit log (reliability.md §6, S5).

This module is the accounts' store as well as their rules, on purpose: each function is one
transaction whose checks and writes belong together (a name must be free *in* the
transaction that takes it; an organisation must exist in the one that adds its member), and
no other module reads these tables except through it and keys.py (logins.py keeps the login
counters, sessions and device cookies the same way).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from uuid6 import uuid7

from netvigil.incidents import db, store
from netvigil.incidents.access import (
    ROLE_SCOPES,
    SCOPES,
    Principal,
    Role,
)
from netvigil.incidents.errors import BadInput
from netvigil.incidents.events import AuditEntry


class AccountError(BadInput):
    """Bad account input (one line)."""


def _hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    derived = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${salt.hex()}${derived.hex()}"


def password_ok(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        _hash_password(password)  # the same work either way: no timing oracle on names
        return False
    _, salt, _ = stored.split("$")
    return hmac.compare_digest(_hash_password(password, bytes.fromhex(salt)), stored)


def audit(
    c: sa.Connection,
    now: dt.datetime,
    actor: str,
    action: str,
    kind: str,
    ident: str,
    org: str | None,
    after: object,
) -> None:
    entry = AuditEntry.of(
        at=now,
        actor=actor,
        action=action,
        object_type=kind,
        object_id=ident,
        org_id=org,
        after=after,
    )
    store.record_audit(c, entry)


def create_org(engine: sa.Engine, name: str, *, actor: str, now: dt.datetime) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise AccountError("organisation name: 1 to 200 characters")
    ident = str(uuid7())
    with engine.begin() as c:
        if c.execute(sa.select(db.orgs.c.id).where(db.orgs.c.name == name)).first():
            raise AccountError(f"an organisation named {name!r} exists")
        c.execute(sa.insert(db.orgs).values(id=ident, name=name, created_at=now))
        audit(c, now, actor, "create_org", "org", ident, ident, {"name": name})
    return ident


def create_member(
    engine: sa.Engine,
    org: str,
    name: str,
    role: str,
    *,
    password: str | None,
    actor: str,
    now: dt.datetime,
) -> str:
    try:
        Role(role)
    except ValueError:
        raise AccountError(f"role: one of {', '.join(r.value for r in Role)}") from None
    if not name.strip() or len(name) > 200:
        raise AccountError("member name: 1 to 200 characters")
    if password is not None and len(password) < 12:
        raise AccountError("password: at least 12 characters")
    ident = str(uuid7())
    with engine.begin() as c:
        if not store.org_ids(c, [org]):
            raise AccountError(f"no organisation {org!r}")
        if c.execute(sa.select(db.members.c.id).where(db.members.c.name == name)).first():
            raise AccountError(f"a member named {name!r} exists")
        c.execute(
            sa.insert(db.members).values(
                id=ident,
                org_id=org,
                name=name,
                role=role,
                created_at=now,
                password_hash=_hash_password(password) if password else None,
            )
        )
        audit(c, now, actor, "create_member", "member", ident, org, {"name": name, "role": role})
    return ident


def create_group(
    engine: sa.Engine, name: str, orgs: Iterable[str], *, actor: str, now: dt.datetime
) -> str:
    members = sorted(set(orgs))
    ident = str(uuid7())
    with engine.begin() as c:
        missing = set(members) - store.org_ids(c, members)
        if missing:
            raise AccountError(f"no organisation {sorted(missing)[0]!r}")
        c.execute(sa.insert(db.sharing_groups).values(id=ident, name=name, created_at=now))
        for org in members:
            c.execute(sa.insert(db.group_orgs).values(group_id=ident, org_id=org))
        audit(c, now, actor, "create_group", "group", ident, None, {"orgs": members})
    return ident


def principal(
    row: sa.Row[tuple[object, ...]], scopes: frozenset[str], key: sa.Row[Any] | None = None
) -> Principal:
    role = Role(str(row.role))
    return Principal(
        kind="member",
        member_id=str(row.id),
        org_id=str(row.org_id),
        role=role,
        scopes=scopes & ROLE_SCOPES[role],
        name=str(row.name),
        key_id=str(key.id) if key is not None else None,
        key_expires=aware(key.expires_at) if key is not None else None,
    )


def member(connection: sa.Connection, member_id: str) -> Principal | None:
    """A member acting with all the scopes of their role (webhook and feed subscribers)."""
    row = connection.execute(sa.select(db.members).where(db.members.c.id == member_id)).first()
    return principal(row, SCOPES) if row else None


def org_of(connection: sa.Connection, member_id: str) -> str | None:
    """The organisation of a member (None: no such member)."""
    found = connection.execute(
        sa.select(db.members.c.org_id).where(db.members.c.id == member_id)
    ).scalar()
    return str(found) if found is not None else None


def named(engine: sa.Engine, name: str) -> Principal | None:
    """The member with this name or id, acting with all the scopes of their role."""
    with engine.connect() as c:
        row = c.execute(
            sa.select(db.members).where(sa.or_(db.members.c.name == name, db.members.c.id == name))
        ).first()
    return principal(row, SCOPES) if row else None


def aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite drops the zone
