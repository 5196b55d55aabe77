"""Bounding password guesses per account without letting a stranger lock the member out.

OWASP's "device cookies" (Authentication Cheat Sheet, "Slow down online guessing attacks
with device cookies"), with the counters in the database:

- Every attempt first takes one of `ATTEMPTS` per `WINDOW` from a counter, in one
  conditional `UPDATE ... SET attempts = attempts + 1 WHERE attempts < limit`: concurrent
  guesses cannot pass the limit (on SQLite and PostgreSQL alike), and a restart keeps the
  count. A right password gives its counter back.
- From a browser the member has not logged in from, the counter is the account's, keyed by
  the sha256 of the name as typed: a name that does not exist is limited the same way (no
  oracle), and what someone typed as a name is not stored.
- A browser holding a device cookie (given at a successful login, stored as its sha256)
  counts against a counter of its own: strangers who use up the account's attempts do not
  lock the member out of a browser they have used before.
- A session is a random token in a cookie, stored as its sha256, with its own CSRF token.
- No client address is read, stored or logged. Time is a parameter (`now`).

Its SQL stays here, beside the rules (as the accounts' does in accounts.py): the limit *is*
the conditional UPDATE, and splitting the statement from its reason would hide both.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Literal

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from netvigil.incidents import accounts, db
from netvigil.incidents.access import Principal

ATTEMPTS = 5
WINDOW = dt.timedelta(minutes=15)
DEVICE_DAYS = 365
SESSION_HOURS = 12


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["ok", "wrong", "throttled"]
    session: str = ""
    csrf: str = ""
    device: str = ""  # the device cookie to set (the same one, or a new one)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def take(engine: sa.Engine, key: str, now: dt.datetime) -> bool:
    """Take one attempt from the counter `key`; False when its window has none left."""
    table = db.login_limits
    start = db.login_limits.c.window_start
    insert = (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)(table)
    with engine.begin() as connection:  # writes only: SQLite takes its write lock at once
        connection.execute(sa.delete(table).where(start <= now - WINDOW))  # windows that ended
        connection.execute(
            insert.values(key=key, attempts=0, window_start=now).on_conflict_do_nothing()
        )
        taken = connection.execute(
            sa.update(table)
            .where(table.c.key == key, table.c.attempts < ATTEMPTS)
            .values(attempts=table.c.attempts + 1)
        )
    return taken.rowcount == 1


def give_back(engine: sa.Engine, key: str) -> None:
    with engine.begin() as connection:
        connection.execute(sa.delete(db.login_limits).where(db.login_limits.c.key == key))


def _device_member(engine: sa.Engine, token: str, name: str, now: dt.datetime) -> str | None:
    """The member a live device cookie was given to, if it is the member named `name`."""
    if not token:
        return None
    found = sa.select(db.members.c.id).join(db.devices, db.devices.c.member_id == db.members.c.id)
    with engine.connect() as connection:
        return connection.execute(
            found.where(
                db.devices.c.hash == _sha(token),
                db.devices.c.expires_at > now,
                db.members.c.name == name,
            )
        ).scalar()


def attempt(engine: sa.Engine, name: str, password: str, device: str, now: dt.datetime) -> Outcome:
    """One login attempt, from a browser holding the device cookie `device` (or "")."""
    known = _device_member(engine, device, name, now) is not None
    counter = f"device:{_sha(device)}" if known else f"account:{_sha(name.casefold())}"
    if not take(engine, _sha(counter), now):
        return Outcome(status="throttled")
    found = _session(engine, name, password, now)
    if found is None:
        return Outcome(status="wrong")
    give_back(engine, _sha(counter))
    kept = device if known else _new_device(engine, name, now)
    return Outcome(status="ok", session=found[0], csrf=found[1], device=kept)


def _new_device(engine: sa.Engine, name: str, now: dt.datetime) -> str:
    """A device cookie for the member `name`, who has just logged in from this browser."""
    token = secrets.token_urlsafe(32)
    with engine.begin() as connection:
        connection.execute(sa.delete(db.devices).where(db.devices.c.expires_at <= now))
        member = connection.execute(
            sa.select(db.members.c.id).where(db.members.c.name == name)
        ).scalar()
        connection.execute(
            sa.insert(db.devices).values(
                hash=_sha(token),
                member_id=member,
                created_at=now,
                expires_at=now + dt.timedelta(days=DEVICE_DAYS),
            )
        )
    return token


def _session(
    engine: sa.Engine, name: str, password: str, now: dt.datetime
) -> tuple[str, str] | None:
    """(session token, CSRF token) for a right password; None otherwise."""
    with engine.begin() as c:
        row = c.execute(sa.select(db.members).where(db.members.c.name == name)).first()
        if not accounts.password_ok(password, row.password_hash if row else None) or row is None:
            return None
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        c.execute(
            sa.insert(db.sessions).values(
                hash=_sha(token),
                member_id=row.id,
                csrf=csrf,
                expires_at=now + dt.timedelta(hours=SESSION_HOURS),
            )
        )
    return token, csrf


def by_session(engine: sa.Engine, token: str, now: dt.datetime) -> tuple[Principal, str] | None:
    """(principal, CSRF token) of a live session."""
    with engine.connect() as c:
        session = c.execute(sa.select(db.sessions).where(db.sessions.c.hash == _sha(token))).first()
        if session is None or accounts.aware(session.expires_at) <= now:
            return None
        found = accounts.member(c, session.member_id)
    return (found, session.csrf) if found else None


def logout(engine: sa.Engine, token: str) -> None:
    with engine.begin() as c:
        c.execute(sa.delete(db.sessions).where(db.sessions.c.hash == _sha(token)))
