"""Detection as the server runs it: the detector's inputs from the observatory, every minute.

Each round reads a window, the last 35 days (the baseline looks 7 days back, detect/
baseline.py, and a blocking that lasts weeks is seen whole), and gives `detect.engine.detect`:

- the verdicts of the analysis table (each analysed measurement of a URL: its domain,
  outcome and technique, detect/blocking.py's `Verdict`), for blocking change points;
- hourly measurement counts per network (`asn:N`, with its country) and per country: from
  the first hour the entity sent anything, 0 in an hour it sent nothing (that silence is
  the signal), to the last full hour (the hour under way would look like a drop);
- the heartbeat store's series and local checks (`Heartbeats`; `NO_HEARTBEATS` until then).

The events go to the event store (eventstore.py), each change to `on_change` (server.py
gives the incidents' alerts there: apps never import one another).

Gathering is I/O (DuckDB and SQLite release the GIL), in a thread. Detecting is CPU work
(numpy, and Python loops over entities), in a worker process on a pipe, spawned and owned as
the pipeline's is (worker.py says why not a thread or a pool). Inputs and events cross the
pipe pickled: a few MB, against seconds of CPU.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import multiprocessing
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Protocol, cast

import msgspec
import numpy as np

from netvigil.detect.blocking import VERDICTS, Verdict
from netvigil.detect.engine import detect
from netvigil.detect.model import Event, LocalCheck, Series, country_of
from netvigil.detect.throughput import Throughput
from netvigil.observatory.data import query_rows
from netvigil.observatory.eventstore import Change, EventStore
from netvigil.observatory.worker import reap, receive

WINDOW = dt.timedelta(days=35)
INTERVAL = 60.0
HOUR = 3600
RESTART_AFTER = 5.0  # seconds between a failed worker and the next


class Heartbeats(Protocol):
    def series(self, since: dt.datetime, until: dt.datetime) -> list[Series]: ...

    def local_checks(self, since: dt.datetime, until: dt.datetime) -> list[LocalCheck]: ...


class _NoHeartbeats:
    def series(self, since: dt.datetime, until: dt.datetime) -> list[Series]:
        return []

    def local_checks(self, since: dt.datetime, until: dt.datetime) -> list[LocalCheck]:
        return []


NO_HEARTBEATS: Heartbeats = _NoHeartbeats()


@dataclasses.dataclass(frozen=True)
class Inputs:
    series: list[Series]
    local: list[LocalCheck]
    verdicts: list[Verdict]
    throughput: list[Throughput] = dataclasses.field(default_factory=list)


def verdicts(tables: Path, since: dt.datetime, until: dt.datetime) -> list[Verdict]:
    """Analysed measurements of a URL in [since, until), oldest first."""
    outcomes = ", ".join(f"'{o}'" for o in sorted(VERDICTS))
    rows = query_rows(
        tables,
        "SELECT measurement_uid AS uid, measurement_start_time AS time, probe_cc, probe_asn, "
        "domain, outcome, technique FROM analysis WHERE measurement_start_time >= ? AND "
        f"measurement_start_time < ? AND domain IS NOT NULL AND outcome IN ({outcomes}) "
        "ORDER BY measurement_start_time, measurement_uid",
        [since, until],
    )
    return msgspec.convert(rows, list[Verdict])


def throughput(tables: Path, since: dt.datetime, until: dt.datetime) -> list[Throughput]:
    """Completed speed tests in [since, until) with their download speed, oldest first."""
    rows = query_rows(
        tables,
        "SELECT measurement_uid AS uid, measurement_start_time AS time, probe_cc, probe_asn, "
        "throughput AS download FROM analysis WHERE measurement_start_time >= ? AND "
        "measurement_start_time < ? AND throughput > 0 "
        "ORDER BY measurement_start_time, measurement_uid",
        [since, until],
    )
    return msgspec.convert(rows, list[Throughput])


def measurement_series(tables: Path, since: dt.datetime, until: dt.datetime) -> list[Series]:
    """Hourly measurement counts per network (`asn:N`, its country set) and per country."""
    end = int(until.timestamp()) // HOUR * HOUR  # the hour under way is left out
    rows = query_rows(
        tables,
        "SELECT probe_cc, probe_asn, CAST(epoch(date_trunc('hour', measurement_start_time)) "
        "AS BIGINT) AS bin, count(*) AS n FROM analysis WHERE measurement_start_time >= ? "
        "AND measurement_start_time < ? GROUP BY ALL",
        [since, dt.datetime.fromtimestamp(end, dt.UTC)],
    )
    networks: dict[tuple[str, int], dict[int, int]] = defaultdict(dict)
    countries: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        networks[(r["probe_cc"], int(r["probe_asn"]))][int(r["bin"])] = int(r["n"])
        countries[r["probe_cc"]][int(r["bin"])] += int(r["n"])
    found = [
        _hourly(f"asn:{asn}", counts, end, cc) for (cc, asn), counts in sorted(networks.items())
    ]
    return found + [
        _hourly(f"country:{cc}", counts, end) for cc, counts in sorted(countries.items())
    ]


def _hourly(entity: str, counts: dict[int, int], end: int, country: str | None = None) -> Series:
    times = np.arange(min(counts), end, HOUR, dtype=np.int64)
    values = np.array([counts.get(int(t), 0) for t in times], dtype=np.float64)
    return Series(
        entity=entity, signal="measurements", step=HOUR, times=times, values=values, country=country
    )


def gather(tables: Path, heartbeats: Heartbeats, since: dt.datetime, until: dt.datetime) -> Inputs:
    return Inputs(
        series=[*measurement_series(tables, since, until), *heartbeats.series(since, until)],
        local=heartbeats.local_checks(since, until),
        verdicts=verdicts(tables, since, until),
        throughput=throughput(tables, since, until),
    )


def countries(event: Event, inputs: Inputs) -> tuple[str, ...]:
    """Where the event's vantage points are: the country the engine names, its entity's, or
    for a network the countries its series, checks and verdicts came from."""
    if (own := event.country or country_of(event.entity)) is not None:
        return (own,)
    asn = int(event.entity.removeprefix("asn:"))
    found = {s.country for s in inputs.series if s.entity == event.entity and s.country}
    found |= {c.country for c in inputs.local if c.asn == asn}
    found |= {v.probe_cc for v in inputs.verdicts if v.probe_asn == asn}
    return tuple(sorted(found))


def detect_events(inputs: Inputs, now: dt.datetime) -> list[Event]:
    """The engine over the inputs (in the worker process: a module-level function pickles)."""
    return detect(
        inputs.series,
        local=inputs.local,
        verdicts=inputs.verdicts,
        throughput=inputs.throughput,
        now=now,
    )


class Detection:
    def __init__(
        self,
        tables: Path,
        store: EventStore,
        heartbeats: Heartbeats = NO_HEARTBEATS,
        *,
        on_change: Callable[[Change], None] | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        window: dt.timedelta = WINDOW,
    ) -> None:
        self.tables, self.store, self.heartbeats = tables, store, heartbeats
        self.on_change, self.now, self.window = on_change, now, window

    def gather(self, now: dt.datetime) -> Inputs:
        return gather(self.tables, self.heartbeats, now - self.window, now)

    def keep(self, events: Sequence[Event], inputs: Inputs, now: dt.datetime) -> list[Change]:
        """Store a round's events and hand each change on (then mark it handed)."""
        found = [(e, countries(e, inputs)) for e in events]
        changes = self.store.update(found, since=now - self.window, now=now)
        for change in changes:
            if self.on_change is not None:
                self.on_change(change)
            self.store.handed(change.seq)
        return changes

    def round(self) -> list[Change]:
        """One round in this process (the CLI, tests): gather, detect, keep."""
        now = self.now()
        inputs = self.gather(now)
        return self.keep(detect_events(inputs, now), inputs, now)

    async def run(self, interval: float = INTERVAL) -> None:
        """A round every `interval` seconds until cancelled, the detection in a worker
        process; a worker that dies (out of memory, a bug: its traceback is on stderr) is
        replaced after RESTART_AFTER seconds."""
        while True:
            await self._one_worker(interval)
            print(
                f"error: the detection worker stopped; restarting in {RESTART_AFTER:.0f} s",
                file=sys.stderr,
            )
            await asyncio.sleep(RESTART_AFTER)

    async def _one_worker(self, interval: float) -> None:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        worker = context.Process(target=_worker, args=(theirs,), name="netvigil-detection")
        worker.start()
        theirs.close()  # the worker's end is the worker's alone: its EOF is our end closing
        try:
            while True:
                now = self.now()
                inputs = await asyncio.to_thread(self.gather, now)
                await asyncio.to_thread(ours.send, (inputs, now))
                events = cast(list[Event], await receive(ours))  # what _worker sends
                await asyncio.to_thread(self.keep, events, inputs, now)
                await asyncio.sleep(interval)
        except (EOFError, OSError):
            return  # the worker ended
        finally:
            ours.close()  # the worker finishes its round, reads EOF and exits
            await asyncio.shield(asyncio.to_thread(reap, worker))


def _worker(connection: Connection) -> None:
    """The worker process: one detection per request until the server hangs up. A closed
    pipe (the server ended, or was killed) reads as EOF, so it never outlives the server."""
    try:
        while True:
            inputs, now = connection.recv()
            connection.send(detect_events(inputs, now))
    except (EOFError, BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        return
