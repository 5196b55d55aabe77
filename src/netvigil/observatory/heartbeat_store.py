"""What the observatory keeps of heartbeats: counts per network and minute, nothing more.

docs/design/008-detection.md ("Heartbeats") says what and why. On disk (SQLite,
`heartbeats.sqlite` in the data folder), per (country, asn, minute): how many distinct
probes were heard, and how many recorded a local check (of them, how many saw their gateway,
how many reached nothing beyond it). No pseudonym, no address, no time finer than the minute
is written. In memory only: the pseudonyms heard in the current minute (to count each probe
once) and the (pseudonym, minute) pairs of local checks received today (a batch sent twice
counts once; pseudonyms rotate at UTC midnight, so yesterday's pairs can never match again).

And the minutes the server itself was listening (`up`): a minute it was down is unknown
(NaN), never zero heartbeats, or every restart would look like every network going silent.

Rows older than RETENTION are deleted as the minutes pass.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from netvigil.detect.model import LocalCheck, Series

RETENTION = dt.timedelta(days=35)
STEP = 60
# Bounds on what memory holds, whatever clients send: beyond them, accepted, not counted.
MAX_PSEUDONYMS = 1_000_000  # distinct probes in one minute
MAX_LOCAL_PAIRS = 4_000_000  # (pseudonym, minute) pairs of local checks in one day

_SCHEMA = """
CREATE TABLE IF NOT EXISTS heard (
    cc TEXT NOT NULL, asn INTEGER NOT NULL, minute INTEGER NOT NULL, probes INTEGER NOT NULL,
    PRIMARY KEY (cc, asn, minute)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS up (minute INTEGER PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS local (
    cc TEXT NOT NULL, asn INTEGER NOT NULL, minute INTEGER NOT NULL,
    measuring INTEGER NOT NULL, gateway_up INTEGER NOT NULL, upstream_down INTEGER NOT NULL,
    PRIMARY KEY (cc, asn, minute)) WITHOUT ROWID;
"""


def minute_of(moment: dt.datetime) -> int:
    return int(moment.timestamp()) // STEP * STEP


def _first_minute(moment: dt.datetime) -> int:
    """The first minute that starts at or after `moment`."""
    return math.ceil(moment.timestamp() / STEP) * STEP


def _time(minute: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(minute, dt.UTC)


class HeartbeatStore:
    def __init__(self, path: Path, *, now: Callable[[], dt.datetime]) -> None:
        self.now = now
        self._lock = threading.Lock()  # detection may read from another thread
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # a power cut may lose the last counts
        self._db.executescript(_SCHEMA)
        self._minute, self._heard = -1, set[str]()
        self._day, self._local_seen = dt.date.min, set[tuple[str, int]]()
        self._pruned = -1

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def heard(self, cc: str, asn: int, pseudonym: str) -> str | None:
        """Count a live heartbeat in the server's current minute; None when counted, else
        why not (this probe was counted this minute already, or memory is full)."""
        minute = minute_of(self.now())
        with self._lock:
            self._new_minute(minute)
            if pseudonym in self._heard:
                return "this probe was already counted in this minute"
            if len(self._heard) >= MAX_PSEUDONYMS:
                return "the server counts no more probes in this minute"
            self._heard.add(pseudonym)
            self._db.execute(
                "INSERT INTO heard VALUES (?, ?, ?, 1) ON CONFLICT (cc, asn, minute) "
                "DO UPDATE SET probes = probes + 1",
                (cc, asn, minute),
            )
        return None

    def local(
        self, cc: str, asn: int, pseudonym: str, checks: Sequence[tuple[int, bool, bool]]
    ) -> int:
        """Count local checks (minute, gateway_up, upstream_down), one per probe and minute;
        the number counted (the others were received before, or memory is full)."""
        today = self.now().astimezone(dt.UTC).date()
        rows = []
        with self._lock:
            if today != self._day:
                self._day, self._local_seen = today, set()
            for minute, up, down in checks:
                if (pseudonym, minute) in self._local_seen:
                    continue
                if len(self._local_seen) >= MAX_LOCAL_PAIRS:
                    break
                self._local_seen.add((pseudonym, minute))
                # upstream_down counts, of the probes whose gateway answered, those that
                # reached nothing beyond it (LocalCheck: "of them"): the cut, not a dead LAN
                rows.append((cc, asn, minute, int(up), int(up and down)))
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT INTO local VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (cc, asn, minute) "
                    "DO UPDATE SET measuring = measuring + 1, "
                    "gateway_up = gateway_up + excluded.gateway_up, "
                    "upstream_down = upstream_down + excluded.upstream_down",
                    rows,
                )
        return len(rows)

    def _new_minute(self, minute: int) -> None:
        if minute != self._minute:
            self._minute, self._heard = minute, set()
            self._db.execute("INSERT OR IGNORE INTO up VALUES (?)", (minute,))
            self._prune(minute)

    def tick(self) -> None:
        """Note that the server is listening in this minute (also done by every heartbeat)."""
        with self._lock:
            self._new_minute(minute_of(self.now()))

    async def run(self, interval: float = 15.0) -> None:
        """Tick every `interval` seconds while the server runs."""
        while True:
            self.tick()
            await asyncio.sleep(interval)

    def _prune(self, minute: int) -> None:
        cutoff = minute - int(RETENTION.total_seconds())
        for table in ("heard", "local", "up"):
            self._db.execute(f"DELETE FROM {table} WHERE minute < ?", (cutoff,))

    def series(self, since: dt.datetime, until: dt.datetime) -> list[Series]:
        """Distinct probes heard per network and minute in [since, until): 0 in a minute
        after the network was first heard and before the current one, when the server was
        listening; NaN before it was first heard, in a minute the server was down, and for
        the current minute, still being counted, and later ones."""
        start, end = _first_minute(since), _first_minute(until)
        current = minute_of(self.now())
        times = np.arange(start, max(start, end), STEP, dtype=np.int64)
        with self._lock:
            first = self._db.execute(
                "SELECT cc, asn, MIN(minute) FROM heard GROUP BY cc, asn ORDER BY asn, cc"
            ).fetchall()
            rows = self._db.execute(
                "SELECT cc, asn, minute, probes FROM heard WHERE minute >= ? AND minute < ?",
                (start, end),
            ).fetchall()
            listening = np.array(
                [
                    minute
                    for (minute,) in self._db.execute(
                        "SELECT minute FROM up WHERE minute >= ? AND minute < ?", (start, end)
                    )
                ],
                dtype=np.int64,
            )
        counts: dict[tuple[str, int], list[tuple[int, int]]] = {}
        for cc, asn, minute, probes in rows:
            counts.setdefault((cc, asn), []).append((minute, probes))
        found: list[Series] = []
        for cc, asn, heard_first in first:
            known = (times >= heard_first) & (times < current) & np.isin(times, listening)
            values = np.where(known, 0.0, np.nan)
            for minute, probes in counts.get((cc, asn), []):
                if minute < current:
                    values[(minute - start) // STEP] = probes
            found.append(Series(f"asn:{asn}", "heartbeats", STEP, times, values, country=cc))
        return found

    def local_checks(self, since: dt.datetime, until: dt.datetime) -> list[LocalCheck]:
        """What probes cut off from the server recorded, per network and minute."""
        with self._lock:
            rows = self._db.execute(
                "SELECT minute, cc, asn, measuring, gateway_up, upstream_down FROM local "
                "WHERE minute >= ? AND minute < ? ORDER BY minute, asn, cc",
                (_first_minute(since), _first_minute(until)),
            ).fetchall()
        return [
            LocalCheck(
                time=_time(minute),
                country=cc,
                asn=asn,
                measuring=measuring,
                gateway_up=up,
                upstream_down=down,
            )
            for minute, cc, asn, measuring, up, down in rows
        ]
