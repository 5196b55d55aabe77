"""Detection, whole: series, local checks and verdicts in; events out, oldest first.

1. Every network's heartbeats are also summed per country (a `country:CC` heartbeat series):
   the national test needs nearly all probes silent, the per-network one shows which.
2. Each series gets its alarms (alarms.py: seasonal baseline with inpainting, a CUSUM suited
   to the signal).
3. Per country, overlapping alarms are one cluster, judged national or not (fusion.py), and
   become `shutdown`, `outage` or `throttling` events with their witnesses.
4. The verdicts become `blocking_change` events (blocking.py, OONI's CUSUM).

Pure: `now` is the end of the data (an event not yet over at `now` is ongoing); nothing here
reads a clock, a file or the network.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from netvigil.detect import fusion
from netvigil.detect.alarms import Alarm, alarms
from netvigil.detect.blocking import BlockingEvent, Verdict, blocking_events
from netvigil.detect.cusum import THRESHOLD
from netvigil.detect.fusion import Timed
from netvigil.detect.model import Event, LocalCheck, Series, event_id


def _at(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(seconds), dt.UTC)


def national_heartbeats(series: Sequence[Series]) -> list[Series]:
    """Per country, the sum of its networks' heartbeat series on one grid (NaN where no
    network has data: nobody knew anything then)."""
    by_country: dict[tuple[str, int], list[Series]] = defaultdict(list)
    for one in series:
        if one.signal == "heartbeats" and one.entity.startswith("asn:") and one.country:
            by_country[(one.country, one.step)].append(one)
    out = []
    for (country, step), networks in sorted(by_country.items()):
        first = min(int(n.times[0]) for n in networks if len(n.times))
        last = max(int(n.times[-1]) for n in networks if len(n.times))
        grid = np.arange(first, last + step, step, dtype=np.int64)
        total = np.zeros(len(grid))
        known = np.zeros(len(grid), dtype=bool)
        for network in networks:
            index = (network.times - first) // step
            seen = ~np.isnan(network.values)
            np.add.at(total, index[seen], network.values[seen])
            known[index[seen]] = True
        total[~known] = np.nan
        out.append(Series(f"country:{country}", "heartbeats", step, grid, total, country))
    return out


def _timed(alarm: Alarm, series: Series) -> Timed:
    times = series.times
    return Timed(
        alarm=alarm,
        start=_at(times[alarm.start]),
        detected=_at(times[alarm.detected] + series.step),
        end=_at(times[alarm.end]) if alarm.end is not None else None,
    )


class _Probes:
    """How many probes a network had before a time: the median of its heartbeats in the
    hour before (heartbeats per minute = probes heard)."""

    def __init__(self, series: Sequence[Series]) -> None:
        self.series = {s.entity: s for s in series if s.signal == "heartbeats"}

    def __call__(self, network: str, before: dt.datetime) -> int:
        found = self.series.get(network)
        if found is None:
            return 0
        at = int(before.timestamp())
        window = found.values[(found.times < at) & (found.times >= at - 3600)]
        window = window[~np.isnan(window)]
        return round(float(np.median(window))) if len(window) else 0


class _Silent:
    """Networks of a country with no heartbeat at all from a national alarm's start to its
    detection (each had probes in the hour before)."""

    def __init__(self, series: Sequence[Series]) -> None:
        self.networks: dict[str, list[Series]] = defaultdict(list)
        for one in series:
            if one.signal == "heartbeats" and one.entity.startswith("asn:") and one.country:
                self.networks[one.country].append(one)

    def __call__(self, alarm: Timed) -> int:
        start, seen = int(alarm.start.timestamp()), int(alarm.detected.timestamp())
        count = 0
        for network in self.networks.get(alarm.alarm.country or "", []):
            before = network.values[(network.times >= start - 3600) & (network.times < start)]
            during = network.values[(network.times >= start) & (network.times < seen)]
            heard = np.nansum(before) > 0
            count += int(heard and len(during) > 0 and np.nansum(during) == 0)
        return count


def _regions(series: Sequence[Series]) -> dict[str, int]:
    known: dict[str, set[str]] = defaultdict(set)
    for one in series:
        if one.entity.startswith("region:"):
            known[one.entity[7:9]].add(one.entity)
    return {country: len(names) for country, names in known.items()}


def _local_critical(entity: str) -> Callable[[Sequence[Timed]], bool]:
    def critical(witnesses: Sequence[Timed]) -> bool:
        silent = sum(round(t.alarm.silent) for t in witnesses if t.alarm.signal == "heartbeats")
        signals = {t.alarm.signal for t in witnesses}
        return silent >= 2 or len(signals) >= 2

    return critical


def _connectivity(
    series: Sequence[Series], local: Sequence[LocalCheck], now: dt.datetime
) -> list[Event]:
    timed = [_timed(alarm, one) for one in series for alarm in alarms(one)[0]]
    probes = _Probes(series)
    silent = _Silent(series)
    regions = _regions(series)
    events = []
    for country, group in fusion.grouped(timed).items():
        for cluster in fusion.clusters(group, now):
            cc = country if len(country) == 2 else None
            level = fusion.national(cluster, cc, regions.get(cc, 0), silent) if cc else None
            if cc and level:

                def critical(seen: Sequence[Timed], cc: str = cc) -> bool:
                    return fusion.national(seen, cc, regions.get(cc, 0), silent) == "critical"

                events.append(
                    fusion.event(f"country:{cc}", cc, cluster, critical, local, probes, now)
                )
                continue
            by_entity: dict[str, list[Timed]] = defaultdict(list)
            for one in cluster:
                by_entity[one.alarm.entity].append(one)
            for entity, witnesses in sorted(by_entity.items()):
                events.append(
                    fusion.event(entity, cc, witnesses, _local_critical(entity), local, probes, now)
                )
    return events


def _blocking(found: BlockingEvent) -> Event:
    """A blocking change as an event. Its start and end are the change points as OONI's
    detector reports them (when the CUSUM crossed its threshold), so that ours and OONI's
    can be compared one for one; where the statistic last was zero, the earliest the change
    can have begun, is said in the summary (008-detection.md)."""
    change = found.change
    entity = f"asn:{found.probe_asn}"
    target = f"{found.domain} by {found.technique}"
    began = f"; it began at the earliest at {change.start:%Y-%m-%d %H:%M}Z"
    if change.end is not None:
        began += f" and ended at the earliest at {change.end:%Y-%m-%d %H:%M}Z"
    return Event(
        id=event_id(f"{entity}|{found.probe_cc}|{target}", found.kind, change.start),
        entity=entity,
        kind="service_block" if found.kind == "service_block" else "blocking_change",
        level="critical",
        start=change.started_detected,
        end=change.ended_detected,
        detected=change.started_detected,
        confidence=round(min(1 - float(np.exp(-change.statistic / THRESHOLD)), 0.99), 3),
        cause="blocking",
        summary=f"{found.kind}: {found.domain} blocked by {found.technique} on "
        f"AS{found.probe_asn} ({found.probe_cc}){began}",
        evidence=(*change.before, *change.during, *change.after),
        country=found.probe_cc,
        target=target,
    )


def detect(
    series: Sequence[Series],
    *,
    local: Sequence[LocalCheck] = (),
    verdicts: Sequence[Verdict] = (),
    now: dt.datetime | None = None,
) -> list[Event]:
    """Every event in the data, oldest first (then by entity)."""
    usable = [one for one in series if len(one.times) >= 2]
    everything = [*usable, *national_heartbeats(usable)]
    if now is None:
        ends = [_at(one.times[-1] + one.step) for one in everything]
        now = max(ends) if ends else dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    events = _connectivity(everything, local, now)
    events += [_blocking(found) for found in blocking_events(verdicts)]
    return sorted(events, key=lambda e: (e.start, e.entity, e.kind))
