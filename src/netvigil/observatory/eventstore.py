"""The detector's current events, kept between rounds, and the changes to hand on.

Each round of detection (detection.py) gives the events it sees now; the store upserts them
by `Event.id` (SQLite in the data folder, `DataDir.events`) and remembers when each was
first seen and when it last *changed*. A change is what someone may need to act on:

- `opened`: a new event (or one that had ended and goes on again);
- `ended`: it has an end now;
- `raised`: its level rose (warning → critical), or an outage became a shutdown. Should the
  engine give the grown event a new id, the new one takes the place of the stored one it
  overlaps on the same entity (no longer reported) and keeps its `lineage`, the first id
  of the line, so an alert opened for the outage is updated, not doubled;
- `withdrawn`: an event inside the window the detector read that it no longer reports (more
  data changed its mind). It stays in the store, out of every listing.

A change is written in the event's transaction, `handed = 0`; the worker hands it on, then
marks it handed, so a crash between the two hands it again after a restart: the callback
must be idempotent (alerts are, one incident per lineage). Other updates (confidence,
signals, evidence growing) replace the stored event silently.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal

import msgspec

from netvigil.detect.model import Event

ChangeKind = Literal["opened", "ended", "raised", "withdrawn"]
Found = tuple[Event, tuple[str, ...]]  # an event, and the countries of its vantage points
LEVELS = {"warning": 0, "critical": 1}
# Kinds one event can grow into: the same cut, once the evidence shows it was deliberate.
GROWS = {"outage": 0, "shutdown": 1}

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY, entity TEXT NOT NULL, kind TEXT NOT NULL, level TEXT NOT NULL,
    start TEXT NOT NULL, "end" TEXT, confidence REAL NOT NULL, countries TEXT NOT NULL,
    lineage TEXT NOT NULL, body TEXT NOT NULL, first_seen TEXT NOT NULL,
    last_changed TEXT NOT NULL, withdrawn TEXT);
CREATE INDEX IF NOT EXISTS events_start ON events (start);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, change TEXT NOT NULL,
    at TEXT NOT NULL, handed INTEGER NOT NULL DEFAULT 0);
"""


def stamp(moment: dt.datetime) -> str:
    """A fixed-width UTC text: SQLite compares these as the times they are."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


class Stored(msgspec.Struct, frozen=True, kw_only=True):
    event: Event
    countries: tuple[str, ...]  # where its vantage points are (an asn: entity says none)
    lineage: str
    first_seen: dt.datetime
    last_changed: dt.datetime


class Change(msgspec.Struct, frozen=True, kw_only=True):
    seq: int  # its order: changes are handed on oldest first
    change: ChangeKind
    at: dt.datetime
    stored: Stored


class Query(msgspec.Struct, frozen=True, kw_only=True):
    """The API's filters, checked (events_api.py); None matches anything."""

    entity: str | None = None
    entity_prefix: str | None = None
    country: str | None = None
    kind: str | None = None
    level: str | None = None
    since: dt.datetime | None = None  # events overlapping [since, until)
    until: dt.datetime | None = None
    min_confidence: float | None = None
    ongoing: bool | None = None
    limit: int = 100


_COLUMNS = "body, countries, lineage, first_seen, last_changed"
_CHANGE = "INSERT INTO changes (event_id, change, at) VALUES (?, ?, ?)"
_DECODE = msgspec.json.Decoder(Event)


def _stored(row: sqlite3.Row) -> Stored:
    return Stored(
        event=_DECODE.decode(row["body"]),
        countries=tuple(c for c in row["countries"].split(",") if c),
        lineage=row["lineage"],
        first_seen=_time(row["first_seen"]),
        last_changed=_time(row["last_changed"]),
    )


def _overlaps(a: Event, b: Event) -> bool:
    return (a.end is None or b.start <= a.end) and (b.end is None or a.start <= b.end)


def _raised(old: Event, new: Event) -> bool:
    kind = new.kind in GROWS and old.kind in GROWS and GROWS[new.kind] > GROWS[old.kind]
    return kind or LEVELS[new.level] > LEVELS[old.level]


def _grown(gone: Iterable[Stored], event: Event) -> Stored | None:
    """The stored event a new one grew out of: same entity, overlapping, no longer reported,
    and of a lower level or kind."""
    same = (s for s in gone if s.event.entity == event.entity and _overlaps(s.event, event))
    return next((s for s in same if _raised(s.event, event)), None)


def _change(old: sqlite3.Row, event: Event) -> ChangeKind | None:
    before = _DECODE.decode(old["body"])
    if old["withdrawn"] is not None or (before.end is not None and event.end is None):
        return "opened"  # back, or going on again
    if _raised(before, event):
        return "raised"
    return "ended" if before.end is None and event.end is not None else None


class EventStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(self.path, timeout=30)) as db:
            db.execute("PRAGMA journal_mode = WAL")  # the API reads while the worker writes
            db.executescript(SCHEMA)

    @contextlib.contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """One connection per operation (the API reads from threads); a write takes the
        database's write lock at once and commits on success, or rolls back."""
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield db
            db.execute("COMMIT")
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")
            db.close()

    def update(
        self, found: Sequence[Found], *, since: dt.datetime, now: dt.datetime
    ) -> list[Change]:
        """Upsert a round's events (each with its countries); the changes it made, in order.
        `since` is the start of the window the round read: only events inside it can be
        withdrawn (one that began before it was not looked for)."""
        at = stamp(now)
        with self._connect(write=True) as db:
            current = {
                r["id"]: _stored(r)
                for r in db.execute(f"SELECT id, {_COLUMNS} FROM events WHERE withdrawn IS NULL")
            }
            seen = {event.id for event, _ in found}
            gone = {i: s for i, s in current.items() if i not in seen}
            for event, countries in found:
                old = db.execute(
                    f"SELECT {_COLUMNS}, withdrawn FROM events WHERE id = ?", [event.id]
                ).fetchone()
                lineage, change = (
                    (old["lineage"], _change(old, event)) if old else (event.id, "opened")
                )
                grown = None if old else _grown(gone.values(), event)
                if grown is not None:  # the same cut, now a shutdown: the line goes on
                    lineage, change = grown.lineage, "raised"
                    db.execute("UPDATE events SET withdrawn = ? WHERE id = ?", [at, grown.event.id])
                    del gone[grown.event.id]
                first = old["first_seen"] if old is not None else at
                changed = at if change or old is None else old["last_changed"]
                db.execute(
                    'INSERT OR REPLACE INTO events (id, entity, kind, level, start, "end", '
                    "confidence, countries, lineage, body, first_seen, last_changed, withdrawn) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                    [
                        event.id, event.entity, event.kind, event.level, stamp(event.start),
                        stamp(event.end) if event.end else None, event.confidence,
                        f",{','.join(countries)},", lineage,
                        msgspec.json.encode(event).decode(), first, changed,
                    ],
                )  # fmt: skip
                if change:
                    db.execute(_CHANGE, [event.id, change, at])
            for ident in (i for i, s in gone.items() if s.event.start >= since):
                db.execute(
                    "UPDATE events SET withdrawn = ?, last_changed = ? WHERE id = ?",
                    [at, at, ident],
                )
                db.execute(_CHANGE, [ident, "withdrawn", at])
        return self.pending()

    def pending(self) -> list[Change]:
        """Changes not yet handed on, oldest first, each with its event as it is now."""
        with self._connect() as db:
            rows = db.execute(
                f"SELECT seq, change, at, {_COLUMNS} FROM changes JOIN events "
                "ON events.id = changes.event_id WHERE handed = 0 ORDER BY seq"
            ).fetchall()
        return [
            Change(seq=r["seq"], change=r["change"], at=_time(r["at"]), stored=_stored(r))
            for r in rows
        ]

    def handed(self, seq: int) -> None:
        with self._connect(write=True) as db:
            db.execute("UPDATE changes SET handed = 1 WHERE seq = ?", [seq])

    def get(self, ident: str) -> Stored | None:
        with self._connect() as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM events WHERE id = ? AND withdrawn IS NULL", [ident]
            ).fetchone()
        return _stored(row) if row is not None else None

    def select(self, query: Query) -> list[Stored]:
        """Current events matching `query`, the latest start first."""
        q, prefix = query, query.entity_prefix or ""
        since, until = stamp(q.since) if q.since else "", stamp(q.until) if q.until else ""
        wanted: list[tuple[bool, str, list[object]]] = [
            (q.entity is not None, "entity = ?", [q.entity]),
            (q.kind is not None, "kind = ?", [q.kind]),
            (q.level is not None, "level = ?", [q.level]),
            (q.entity_prefix is not None, "substr(entity, 1, ?) = ?", [len(prefix), prefix]),
            (q.country is not None, "instr(countries, ?) > 0", [f",{q.country},"]),
            (q.since is not None, '("end" IS NULL OR "end" > ?)', [since]),
            (q.until is not None, "start < ?", [until]),
            (q.min_confidence is not None, "confidence >= ?", [q.min_confidence]),
            (q.ongoing is True, '"end" IS NULL', []),
            (q.ongoing is False, '"end" IS NOT NULL', []),
        ]  # fmt: skip
        clauses = " AND ".join(["withdrawn IS NULL", *(sql for on, sql, _ in wanted if on)])
        args = [arg for on, _, given in wanted if on for arg in given]
        sql = f"SELECT {_COLUMNS} FROM events WHERE {clauses} ORDER BY start DESC, id LIMIT ?"
        with self._connect() as db:
            return [_stored(r) for r in db.execute(sql, [*args, q.limit]).fetchall()]
