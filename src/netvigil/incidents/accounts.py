"""Organisations, members, sharing groups and API keys (logging in: logins.py).

- API keys are `nvk_<id>_<secret>`: the id finds the row, the secret is stored only as its
  sha256 (a 256-bit random secret needs no slow hash), keys are scoped (read, write,
  publish, admin — never more than the member's role allows) and expire.
- Passwords are hashed with scrypt (stdlib; N=2^14, r=8, p=1, 16-byte salt).
Every change is written to the audit log (reliability.md §6, S5).
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
    can_revoke_key,
    mint_problem,
)

KEY_PREFIX = "nvk"


class AccountError(ValueError):
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


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _audit(
    c: sa.Connection,
    now: dt.datetime,
    actor: str,
    action: str,
    kind: str,
    ident: str,
    org: str | None,
    after: object,
) -> None:
    store.record_audit(
        c,
        at=now,
        actor=actor,
        action=action,
        object_type=kind,
        object_id=ident,
        org_id=org,
        after=after,
    )


def create_org(engine: sa.Engine, name: str, *, actor: str, now: dt.datetime) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise AccountError("organisation name: 1 to 200 characters")
    ident = str(uuid7())
    with engine.begin() as c:
        if c.execute(sa.select(db.orgs.c.id).where(db.orgs.c.name == name)).first():
            raise AccountError(f"an organisation named {name!r} exists")
        c.execute(sa.insert(db.orgs).values(id=ident, name=name, created_at=now))
        _audit(c, now, actor, "create_org", "org", ident, ident, {"name": name})
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
        _audit(c, now, actor, "create_member", "member", ident, org, {"name": name, "role": role})
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
        _audit(c, now, actor, "create_group", "group", ident, None, {"orgs": members})
    return ident


class KeyRefused(PermissionError):
    """The caller may not make or revoke this key (one line)."""


class NoKey(LookupError):
    """No such key, or not one the caller may revoke (the same answer on purpose)."""


def create_key(
    engine: sa.Engine,
    member: str,
    scopes: Iterable[str],
    *,
    days: int,
    actor: str,
    now: dt.datetime,
    maker: Principal | None = None,
) -> str:
    """A new API key; the secret is shown once, here, and never stored. Made through a key
    (`maker`), it has at most that key's scopes and expires no later than it."""
    wanted = set(scopes)
    if not wanted or not wanted <= SCOPES:
        raise AccountError(f"scopes: some of {', '.join(sorted(SCOPES))}")
    if not 1 <= days <= 366:
        raise AccountError("expiry: 1 to 366 days")
    expires = now + dt.timedelta(days=days)
    problem = mint_problem(maker, frozenset(wanted), expires) if maker else None
    if problem is not None:
        raise KeyRefused(problem)
    ident, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    with engine.begin() as c:
        row = c.execute(sa.select(db.members).where(db.members.c.id == member)).first()
        if row is None:
            raise AccountError(f"no member {member!r}")
        beyond = wanted - ROLE_SCOPES[Role(row.role)]
        if beyond:
            raise AccountError(f"scopes: a {row.role} has no {', '.join(sorted(beyond))} scope")
        c.execute(
            sa.insert(db.api_keys).values(
                id=ident,
                member_id=member,
                hash=_sha(secret),
                scopes=",".join(sorted(wanted)),
                expires_at=expires,
                revoked=False,
                created_at=now,
            )
        )
        _audit(
            c, now, actor, "create_key", "api_key", ident, row.org_id, {"scopes": sorted(wanted)}
        )
    return f"{KEY_PREFIX}_{ident}_{secret}"


def revoke_key(engine: sa.Engine, ident: str, who: Principal, now: dt.datetime) -> None:
    """Revoke a key for good (it is kept, revoked, for the audit log)."""
    with engine.begin() as c:
        found = c.execute(
            sa.select(db.api_keys, db.members.c.org_id)
            .join(db.members, db.members.c.id == db.api_keys.c.member_id)
            .where(db.api_keys.c.id == ident)
        ).first()
        scopes = frozenset(found.scopes.split(",")) if found else frozenset()
        if found is None or not (
            who.key_id == ident or can_revoke_key(who, found.member_id, found.org_id, scopes)
        ):
            raise NoKey(f"no key {ident!r}")
        c.execute(sa.update(db.api_keys).where(db.api_keys.c.id == ident).values(revoked=True))
        actor = who.member_id or who.kind
        _audit(c, now, actor, "revoke_key", "api_key", ident, found.org_id, {"revoked": True})


def _principal(
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
    return _principal(row, SCOPES) if row else None


def by_key(engine: sa.Engine, token: str, now: dt.datetime) -> Principal | None:
    parts = token.split("_", 2)  # the secret may contain "_" too
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    with engine.connect() as c:
        key = c.execute(sa.select(db.api_keys).where(db.api_keys.c.id == parts[1])).first()
        if key is None or key.revoked or aware(key.expires_at) <= now:
            return None
        if not hmac.compare_digest(key.hash, _sha(parts[2])):
            return None
        row = c.execute(sa.select(db.members).where(db.members.c.id == key.member_id)).first()
    return _principal(row, frozenset(key.scopes.split(",")), key) if row else None


def aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite drops the zone
