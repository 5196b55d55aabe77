"""Throttling: a sustained fall of a network's download throughput against its own past.

One speed test says how fast a path was, not that anyone slowed it (ts-022 "Possible
conclusions"; analysis/speed.py gives no "throttled" verdict). A network's own history can:
the completed speed tests of one (country, network) — ours and OONI's ndt summaries, the
analysis table's `throughput` column — become an hourly series (the median kbit/s of each
hour that has any, `asn:N`, signal "throughput"), and each hour is scored against the
network's baseline:

- the **baseline** is the median of the previous 7 days' hours that were not themselves a
  fall (at least MIN_HOURS of them; before that, no score: a young series says nothing). A
  fall never teaches itself to the baseline, as inpainting keeps outages out of the
  connectivity baselines (baseline.py) — whose seasonal median needs dense, daily data
  that sparse speed tests do not have;
- the **score** is the fraction lost, `max(0, 1 − value / baseline)`: 0 at or above the
  baseline, 0.7 for a path throttled to 30 %.

The scores go through OONI's two-sided CUSUM (cusum.py: µ0 = 0, µ1 = 0.7, h = 7), so the
ordinary ±20 % of speed tests never accumulates (each such hour moves the statistic by less
than nothing), a fall to 30 % is seen after 11 hours with tests, and the event starts at the
first hour of the fall. Each change becomes a `throttling` event of the network (a warning:
congestion looks the same in one network's data; a comparison across networks is the
reader's next step). Pure: points in, events out.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence

import msgspec
import numpy as np

from netvigil.detect.cusum import JUMP, THRESHOLD, Change, Hour, changes, hourly
from netvigil.detect.model import Event, Fired, Series, event_id

WINDOW = dt.timedelta(days=7)  # how far back the baseline looks
MIN_HOURS = 6  # hours with tests in that window before any hour is scored
SIGNAL = "throughput"


class Throughput(msgspec.Struct, frozen=True, kw_only=True):
    """One completed speed test: its download speed in kbit/s."""

    uid: str
    time: dt.datetime
    probe_cc: str
    probe_asn: int
    download: float


class Scored(msgspec.Struct, frozen=True, kw_only=True):
    hour: Hour  # the score (fraction lost) and the tests of the hour
    value: float  # the hour's median kbit/s
    baseline: float


def by_network(points: Iterable[Throughput]) -> dict[tuple[str, int], list[Hour]]:
    """The hourly median kbit/s of each (country, network)."""
    found: dict[tuple[str, int], list[tuple[dt.datetime, float, str]]] = defaultdict(list)
    for point in points:
        if point.download > 0:
            found[(point.probe_cc, point.probe_asn)].append((point.time, point.download, point.uid))
    return {key: hourly(seen) for key, seen in sorted(found.items())}


def series(points: Iterable[Throughput]) -> list[Series]:
    """The networks' hourly series (NaN in hours without a test), for charts and exports."""
    out = []
    for (cc, asn), hours in by_network(points).items():
        first = int(hours[0].start.timestamp())
        times = np.arange(first, int(hours[-1].start.timestamp()) + 3600, 3600, dtype=np.int64)
        values = np.full(len(times), np.nan)
        for hour in hours:
            values[(int(hour.start.timestamp()) - first) // 3600] = hour.value
        out.append(Series(f"asn:{asn}", SIGNAL, 3600, times, values, country=cc))
    return out


def scored(hours: Sequence[Hour]) -> list[Scored]:
    """Each hour that has a baseline, scored by the fraction of it lost."""
    normal: list[Hour] = []  # hours that were not a fall, the baseline's material
    out = []
    for hour in hours:
        normal = [h for h in normal if h.start >= hour.start - WINDOW]
        if len(normal) < MIN_HOURS:
            normal.append(hour)
            continue
        baseline = statistics.median(h.value for h in normal)
        lost = max(0.0, 1.0 - hour.value / baseline)
        out.append(
            Scored(
                hour=Hour(start=hour.start, value=lost, uids=hour.uids),
                value=hour.value,
                baseline=baseline,
            )
        )
        if lost < JUMP / 2:
            normal.append(hour)
    return out


def throttling_events(points: Iterable[Throughput], *, threshold: float = THRESHOLD) -> list[Event]:
    """Every sustained fall of throughput, per network, oldest first."""
    events = []
    for (cc, asn), hours in by_network(points).items():
        judged = scored(hours)
        at = {s.hour.start: s for s in judged}
        for change in changes([s.hour for s in judged], threshold=threshold):
            events.append(_event(cc, asn, change, at, threshold))
    return sorted(events, key=lambda e: (e.start, e.entity))


def _event(
    cc: str, asn: int, change: Change, at: dict[dt.datetime, Scored], threshold: float
) -> Event:
    first = at[change.start]
    during = [
        s
        for s in at.values()
        if s.hour.start >= change.start and (change.end is None or s.hour.start < change.end)
    ]
    ratio = statistics.median(s.value / s.baseline for s in during)
    entity = f"asn:{asn}"
    fired = Fired(
        entity=entity,
        signal=SIGNAL,
        at=change.started_detected,
        baseline=round(first.baseline, 3),
        value=round(first.value, 3),
        ratio=round(ratio, 3),
        statistic=change.statistic,
        threshold=threshold,
    )
    return Event(
        id=event_id(f"{entity}|{cc}|{SIGNAL}", "throttling", change.start),
        entity=entity,
        kind="throttling",
        level="warning",
        start=change.start,
        end=change.end,
        detected=change.started_detected,
        confidence=round(min(1 - float(np.exp(-change.statistic / threshold)), 0.99), 3),
        cause="throttling",
        summary=f"throttling: download throughput on AS{asn} ({cc}) fell to {ratio:.0%} of "
        f"its own baseline ({first.baseline:.0f} kbit/s) from {change.start:%Y-%m-%d %H:%M}Z",
        signals=(fired,),
        evidence=(*change.before, *change.during, *change.after),
        country=cc,
    )
