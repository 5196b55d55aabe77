"""Scoring a detector on the replay world: recall, precision, false alerts, latency.

Only *critical* events count: they are what an alert rule fires on (reference/shutdowns.md
§7, "event precision ≥ 95 % at critical"). Definitions:

- an outage is **found** when a critical event of its own entity overlaps it within
  `SLACK` (± 1 h, §7); its latency is the earliest such event's `detected` − the outage's
  start (`detected` is a bin's end: the data of [t, t + step) is known at t + step);
- a critical event is **true** when it overlaps, within the slack, an outage whose
  `affected` entities include the event's: the outage's own entity or one of its networks
  that went dark. A country event over a region's outage is *not* true: the issue asks for
  regional events and no national one, so claiming the country is a false alert;
- **fa_week**: false (not true) critical events per entity-week, over the summed lengths of
  all windows (one entity watched per window);
- **kind accuracy**: of found outages, those whose matching event's kind is the expected
  one (shutdown when deliberate with local checks, outage otherwise).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

import msgspec
import numpy as np

from netvigil.detect.model import Event
from netvigil.lab.outages import Outage, World

SLACK = 3600
WEEK = 7 * 86400


class Tally(msgspec.Struct, kw_only=True):
    """Counts over windows, added one window at a time."""

    injected: int = 0
    found: int = 0
    kind_right: int = 0
    critical: int = 0
    true: int = 0
    seconds: int = 0  # entity-time watched
    latencies: list[float] = msgspec.field(default_factory=list)
    busy: float = 0.0  # seconds the detector ran


Detector = Callable[[World], Sequence[Event]]


class Score(msgspec.Struct, frozen=True, kw_only=True):
    recall: float
    precision: float
    fa_week: float
    median_s: float
    p95_s: float
    kind_accuracy: float
    injected: int
    found: int
    critical: int
    false: int

    def line(self, name: str) -> str:
        return (
            f"{name} recall={self.recall:.3f} precision={self.precision:.3f} "
            f"fa_week={self.fa_week:.3f} median_s={self.median_s:.0f} p95_s={self.p95_s:.0f}"
        )


def _seconds(moment: dt.datetime | None, default: int) -> int:
    return default if moment is None else int(moment.timestamp())


def _overlaps(event: Event, outage: Outage, until: int) -> bool:
    start = int(event.start.timestamp())
    end = _seconds(event.end, until)
    return start <= outage.end + SLACK and end >= outage.start - SLACK


def add(
    tally: Tally, events: Iterable[Event], truth: Sequence[Outage], start: int, end: int
) -> None:
    """One window's events against its truth; `end` closes events still ongoing."""
    critical = [e for e in events if e.level == "critical"]
    tally.injected += len(truth)
    tally.seconds += end - start
    tally.critical += len(critical)
    for event in critical:
        if any(event.entity in o.affected and _overlaps(event, o, end) for o in truth):
            tally.true += 1
    for outage in truth:
        mine = [e for e in critical if e.entity == outage.entity and _overlaps(e, outage, end)]
        if not mine:
            continue
        first = min(mine, key=lambda e: e.detected)
        tally.found += 1
        tally.kind_right += first.kind == outage.kind
        tally.latencies.append(first.detected.timestamp() - outage.start)


def score(tally: Tally) -> Score:
    """The figures; a ratio with nothing to count is 0 (recall, precision) or NaN (latency)."""
    latencies = np.array(tally.latencies)
    weeks = tally.seconds / WEEK
    false = tally.critical - tally.true
    return Score(
        recall=tally.found / tally.injected if tally.injected else 0.0,
        precision=tally.true / tally.critical if tally.critical else 0.0,
        fa_week=false / weeks if weeks else 0.0,
        median_s=float(np.median(latencies)) if len(latencies) else float("nan"),
        p95_s=float(np.percentile(latencies, 95)) if len(latencies) else float("nan"),
        kind_accuracy=tally.kind_right / tally.found if tally.found else 0.0,
        injected=tally.injected,
        found=tally.found,
        critical=tally.critical,
        false=false,
    )


def replay(worlds: Iterable[World], detectors: Mapping[str, Detector]) -> dict[str, Tally]:
    """Every detector on every world, one world at a time (a world is built once and then
    dropped: the full label set does not fit in memory at once)."""
    tallies = {name: Tally() for name in detectors}
    for world in worlds:
        for name, detector in detectors.items():
            begin = time.perf_counter()
            events = detector(world)
            tallies[name].busy += time.perf_counter() - begin
            add(tallies[name], events, world.truth, world.start, world.end)
    return tallies
