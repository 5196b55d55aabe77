"""API keys: `nvk_<id>_<secret>`, scoped and expiring, made and revoked by who may.

The id finds the row, the secret is stored only as its sha256 (a 256-bit random secret needs
no slow hash); a key's scopes are never more than its member's role allows, and a key made
through a key has at most that key's scopes and expires no later than it. Every change is
audited; like accounts.py, each function is one transaction and this module's own store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable

import sqlalchemy as sa

from netvigil.incidents import db
from netvigil.incidents.access import (
    ROLE_SCOPES,
    SCOPES,
    Principal,
    Role,
    can_revoke_key,
    mint_problem,
)
from netvigil.incidents.accounts import AccountError, audit, aware, principal
from netvigil.incidents.errors import Forbidden, NotFound

KEY_PREFIX = "nvk"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class KeyRefused(Forbidden):
    """The caller may not make or revoke this key (one line)."""


class NoKey(NotFound):
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
        audit(c, now, actor, "create_key", "api_key", ident, row.org_id, {"scopes": sorted(wanted)})
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
        audit(c, now, actor, "revoke_key", "api_key", ident, found.org_id, {"revoked": True})


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
    return principal(row, frozenset(key.scopes.split(",")), key) if row else None
