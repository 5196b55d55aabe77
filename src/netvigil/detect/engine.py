"""Detection, whole: series, local checks and verdicts in; events out, oldest first.

1. Every network's heartbeats are also summed per country (a `country:CC` heartbeat series),
   and per region for networks known to serve one: the wide test needs nearly all probes
   silent, the per-network one shows which.
2. Each series gets its alarms (alarms.py: seasonal baseline with inpainting, a CUSUM suited
   to the signal).
3. Per country, overlapping alarms are one cluster (fusion.py), judged national, regional
   or a network's (scope.py), and become `shutdown`, `outage` or `throttling` events with
   their witnesses.
4. The verdicts become `blocking_change` events (blocking.py, OONI's CUSUM).
5. Completed speed tests become `throttling` events where a network's throughput fell
   against its own baseline (throughput.py).

Pure: `now` is the end of the data (an event not yet over at `now` is ongoing); nothing here
reads a clock, a file or the network.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from netvigil.detect import fusion, scope
from netvigil.detect.alarms import Alarm, alarms
from netvigil.detect.blocking import BlockingEvent, Verdict, blocking_events
from netvigil.detect.cusum import THRESHOLD
from netvigil.detect.fusion import Timed
from netvigil.detect.model import Event, LocalCheck, Series, event_id
from netvigil.detect.throughput import Throughput, throttling_events

Rule = Callable[[Sequence[Timed]], bool]  # when an event's witnesses make it critical


def _at(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(seconds), dt.UTC)


def wide_heartbeats(series: Sequence[Series]) -> list[Series]:
    """Per country, and per region whose networks we know, the sum of the networks'
    heartbeat series on one grid (NaN where no network has data: nobody knew anything)."""
    by_entity: dict[tuple[str, str, int], list[Series]] = defaultdict(list)
    for one in series:
        if one.signal == "heartbeats" and one.entity.startswith("asn:") and one.country:
            by_entity[(f"country:{one.country}", one.country, one.step)].append(one)
            if one.region:
                by_entity[(one.region, one.country, one.step)].append(one)
    out = []
    for (entity, country, step), networks in sorted(by_entity.items()):
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
        out.append(Series(entity, "heartbeats", step, grid, total, country))
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
    """Networks of a wide entity with no heartbeat at all from its alarm's start to its
    detection (each had probes in the hour before)."""

    def __init__(self, series: Sequence[Series]) -> None:
        self.networks: dict[str, list[Series]] = defaultdict(list)
        for one in series:
            if one.signal == "heartbeats" and one.entity.startswith("asn:") and one.country:
                self.networks[f"country:{one.country}"].append(one)
                if one.region:
                    self.networks[one.region].append(one)

    def __call__(self, alarm: Timed) -> int:
        start, seen = int(alarm.start.timestamp()), int(alarm.detected.timestamp())
        count = 0
        for network in self.networks.get(alarm.alarm.entity, []):
            before = network.values[(network.times >= start - 3600) & (network.times < start)]
            during = network.values[(network.times >= start) & (network.times < seen)]
            heard = np.nansum(before) > 0
            count += int(heard and len(during) > 0 and np.nansum(during) == 0)
        return count


def _regions(series: Sequence[Series]) -> dict[str, set[str]]:
    """Per country, its regions with data (their own series, or networks known to serve)."""
    known: dict[str, set[str]] = defaultdict(set)
    for one in series:
        if one.entity.startswith("region:"):
            known[one.entity[7:9]].add(one.entity)
    return known


def _connectivity(
    series: Sequence[Series], local: Sequence[LocalCheck], now: dt.datetime
) -> list[Event]:
    timed = [_timed(alarm, one) for one in series for alarm in alarms(one)[0]]
    probes = _Probes(series)
    silent = _Silent(series)
    regions = _regions(series)
    events = []

    def wide(entity: str, parts: int) -> Callable[[Sequence[Timed]], bool]:
        def critical(seen: Sequence[Timed]) -> bool:
            return scope.level(seen, entity, regions=parts, silent=silent) == "critical"

        return critical

    def add(entity: str, country: str | None, witnesses: Sequence[Timed], rule: Rule) -> None:
        events.append(fusion.event(entity, country, witnesses, rule, local, probes, now))

    for country, group in fusion.grouped(timed).items():
        cc = country if len(country) == 2 else None
        for cluster in fusion.clusters(group, now):
            left = list(cluster)
            if cc is not None:
                national = wide(f"country:{cc}", len(regions.get(cc, ())))
                if national(cluster):
                    add(f"country:{cc}", cc, cluster, national)
                    continue
                named = {t.alarm.entity for t in cluster if t.alarm.entity.startswith("region:")}
                named |= {t.alarm.region for t in cluster if t.alarm.region}
                for region in sorted(named):
                    regional = wide(region, 0)
                    if regional(cluster):
                        witnesses = scope.members(left, region)
                        add(region, cc, witnesses, regional)
                        left = [t for t in left if t not in witnesses]
            by_entity: dict[str, list[Timed]] = defaultdict(list)
            for one in left:
                by_entity[one.alarm.entity].append(one)
            for entity, witnesses in sorted(by_entity.items()):
                rule = (
                    scope.network_critical
                    if entity.startswith(("asn:", "region:"))
                    else wide(entity, len(regions.get(cc or "", ())))
                )
                add(entity, cc, witnesses, rule)
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
    throughput: Sequence[Throughput] = (),
    now: dt.datetime | None = None,
) -> list[Event]:
    """Every event in the data, oldest first (then by entity)."""
    usable = [one for one in series if len(one.times) >= 2]
    everything = [*usable, *wide_heartbeats(usable)]
    if now is None:
        ends = [_at(one.times[-1] + one.step) for one in everything]
        now = max(ends) if ends else dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    events = _connectivity(everything, local, now)
    events += [_blocking(found) for found in blocking_events(verdicts)]
    events += throttling_events(throughput)
    return sorted(events, key=lambda e: (e.start, e.entity, e.kind))
