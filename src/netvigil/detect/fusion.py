"""From alarms to events: which alarms belong together, and what the event says.

The alarms of one country (its own series, its regions', its networks') that overlap in time
are one cluster (scope.py says how wide it is: national, regional or a network's). An event
is made of its witnesses, and never says more than they show:

- a `shutdown` needs probes that kept measuring through the gap (local checks in at least 15 %
  of its minutes, in at least half of the silent networks) and saw their gateway answer and
  everything beyond it fail (the network failed, not the power); without that it is an
  `outage` of unknown cause. A fall of throughput alone (the probes still heard) is
  `throttling`, critical once it is at a fifth of its baseline or less for ten minutes
  (reference/shutdowns.md §7). One probe of one network gone silent, and nothing else, is an
  outage whose cause is `vantage_point`, a warning;
- `confidence` is 1 − Π(1 − pᵢ) over the independent witnesses, pᵢ = 1 − e^(−Sᵢ/hᵢ) for an
  alarm whose statistic reached Sᵢ against its threshold hᵢ (≈ 0.63 at the threshold), and
  0.9 for local checks that saw a cut; never above 0.99.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable, Sequence

import msgspec

from netvigil.detect.alarms import Alarm
from netvigil.detect.model import Event, Fired, LocalCheck, Network, event_id

THROTTLING_SIGNALS = frozenset({"throughput", "latency"})
THROTTLED = 0.2  # throughput at a fifth of its baseline or less...
SUSTAINED = dt.timedelta(minutes=10)  # ...for ten minutes is critical throttling
LOCAL_EVIDENCE = 0.9
# Local checks showing the cut in this share of the gap's minutes, at least: the daemon checks
# every minute it cannot reach the server; a probe checking every 5 minutes covers 20 %.
THROUGH = 0.15
CERTAIN = 0.99  # no amount of agreeing signals is certainty


class Timed(msgspec.Struct, frozen=True, kw_only=True):
    """An alarm with its bins turned into times (detected: the end of the crossing bin)."""

    alarm: Alarm
    start: dt.datetime
    detected: dt.datetime
    end: dt.datetime | None

    def until(self, now: dt.datetime) -> dt.datetime:
        return self.end or now


def _sweep(alarms: Sequence[Timed], now: dt.datetime) -> list[list[Timed]]:
    clusters: list[list[Timed]] = []
    reach = dt.datetime.min.replace(tzinfo=dt.UTC)
    for timed in sorted(alarms, key=lambda t: t.start):
        if clusters and timed.start <= reach:
            clusters[-1].append(timed)
        else:
            clusters.append([timed])
            reach = timed.start
        reach = max(reach, timed.until(now))
    return clusters


def clusters(alarms: Sequence[Timed], now: dt.datetime) -> list[list[Timed]]:
    """Alarms whose intervals overlap, chained. Only deep alarms (half or less) chain: a
    shallow one joins the deep cluster it overlaps, else the shallow ones around it, so that
    a week-long slight dip never ties together outages days apart."""
    deep = _sweep([t for t in alarms if t.alarm.critical], now)
    spans = [(min(t.start for t in c), max(t.until(now) for t in c)) for c in deep]
    shallow = []
    for timed in (t for t in alarms if not t.alarm.critical):
        inside = [n for n, (a, b) in enumerate(spans) if timed.start <= b and timed.until(now) >= a]
        if inside:
            deep[inside[0]].append(timed)
        else:
            shallow.append(timed)
    return [*deep, *_sweep(shallow, now)]


def _local(
    witnesses: Sequence[Timed], checks: Sequence[LocalCheck], start: dt.datetime, end: dt.datetime
) -> dict[int, tuple[int, int]]:
    """Per silent network, over [start, end): the most probes measuring locally in one
    minute, and the minutes in which some probe saw its gateway answer and nothing beyond."""
    silent = {
        int(t.alarm.entity[4:])
        for t in witnesses
        if t.alarm.signal == "heartbeats" and t.alarm.entity.startswith("asn:")
    }
    seen: dict[int, tuple[int, int]] = {}
    for check in checks:
        if check.asn in silent and start <= check.time < end:
            cut = int(min(check.gateway_up, check.upstream_down) > 0)
            measuring, minutes = seen.get(check.asn, (0, 0))
            seen[check.asn] = (max(measuring, check.measuring), minutes + cut)
    return seen


def _fired(witness: Timed) -> Fired:
    alarm = witness.alarm
    return Fired(
        entity=alarm.entity,
        signal=alarm.signal,
        at=witness.detected,
        baseline=round(alarm.baseline, 4),
        value=round(alarm.value, 4),
        ratio=round(alarm.ratio, 4),
        statistic=round(alarm.statistic, 4),
        threshold=round(alarm.threshold, 4),
    )


def _confidence(witnesses: Sequence[Timed], local_cut: bool) -> float:
    doubt = math.prod(math.exp(-t.alarm.statistic / t.alarm.threshold) for t in witnesses)
    sure = 1 - doubt * ((1 - LOCAL_EVIDENCE) if local_cut else 1.0)
    return round(min(sure, CERTAIN), 3)


def _critical_at(
    witnesses: Sequence[Timed], critical: Callable[[Sequence[Timed]], bool]
) -> dt.datetime | None:
    """The first time the witnesses detected so far make the event critical."""
    ordered = sorted(witnesses, key=lambda t: t.detected)
    for count in range(1, len(ordered) + 1):
        if critical(ordered[:count]):
            return ordered[count - 1].detected
    return None


def event(
    entity: str,
    country: str | None,
    witnesses: Sequence[Timed],
    critical: Callable[[Sequence[Timed]], bool],
    checks: Sequence[LocalCheck],
    probes: Callable[[str, dt.datetime], int],
    now: dt.datetime,
) -> Event:
    """One event from its witnesses; `probes(network, time)` = probes heard there before."""
    start = min(t.start for t in witnesses)
    ongoing = any(t.end is None for t in witnesses)
    end = None if ongoing else max(t.until(now) for t in witnesses)
    critical_at = _critical_at(witnesses, critical)
    signals = {t.alarm.signal for t in witnesses}
    local = _local(witnesses, checks, start, end or now)
    silent_networks = {
        t.alarm.entity: t
        for t in witnesses
        if t.alarm.signal == "heartbeats" and t.alarm.entity.startswith("asn:")
    }
    networks = []
    for name, timed in sorted(silent_networks.items()):
        asn = int(name[4:])
        heard = max(probes(name, start), round(timed.alarm.baseline))
        measuring, _ = local.get(asn, (0, 0))
        silent = min(heard, max(1, round(timed.alarm.silent)))
        networks.append(Network(asn=asn, probes=heard, silent=silent, measured_locally=measuring))
    # "kept measuring through the gap": cut minutes over a good part of it, not one
    gap = ((end or now) - start) / dt.timedelta(minutes=1)
    cut = [asn for asn, (_, minutes) in local.items() if minutes >= max(1.0, THROUGH * gap)]
    silent_probes = sum(n.silent for n in networks)
    if signals <= THROTTLING_SIGNALS:
        kind, cause = "throttling", "throttling"
    elif networks and 2 * len(cut) >= len(networks):
        kind, cause = "shutdown", "network_cut"
    elif entity.startswith("asn:") and signals == {"heartbeats"} and silent_probes <= 1:
        kind, cause = "outage", "vantage_point"
    else:
        kind, cause = "outage", "unknown"
    level = "critical" if critical_at is not None and cause != "vantage_point" else "warning"
    if kind == "throttling":
        # reference/shutdowns.md §7: a sustained fall of ≥ 80 % for ≥ 10 minutes
        deep = all(t.alarm.ratio <= THROTTLED for t in witnesses)
        sustained = start + SUSTAINED
        level = "critical" if deep and (end or now) >= sustained else "warning"
        critical_at = max(min(t.detected for t in witnesses), sustained) if deep else None
    return Event(
        # the first witness to be detected stays the first as data arrives, so the id does
        # not change when a slower signal later moves the start earlier
        id=event_id(
            entity,
            "connectivity" if kind != "throttling" else kind,
            min(witnesses, key=lambda t: (t.detected, t.start)).start,
        ),
        entity=entity,
        kind=kind,  # type: ignore[arg-type]  # one of the Kind literals above
        level=level,  # type: ignore[arg-type]
        start=start,
        end=end,
        detected=critical_at or min(t.detected for t in witnesses),
        confidence=_confidence(witnesses, bool(cut)),
        cause=cause,  # type: ignore[arg-type]
        summary=_summary(kind, cause, witnesses, networks, len(cut)),
        signals=tuple(_fired(t) for t in sorted(witnesses, key=lambda t: t.detected)),
        networks=tuple(networks),
        country=country,
    )


def _summary(
    kind: str, cause: str, witnesses: Sequence[Timed], networks: Sequence[Network], cut: int
) -> str:
    parts = []
    if networks:
        silent = sum(n.silent for n in networks)
        parts.append(f"{silent} probe(s) in {len(networks)} network(s) went silent")
    outside = sorted({t.alarm.signal for t in witnesses} - {"heartbeats"})
    for signal in outside:
        ratio = min(t.alarm.ratio for t in witnesses if t.alarm.signal == signal)
        parts.append(f"{signal} at {ratio:.0%} of its baseline")
    reason = {
        "network_cut": f"; probes in {cut} network(s) kept measuring: the network failed, "
        "not the power",
        "vantage_point": "; only this probe: nothing else shows an outage",
        "unknown": "; cause unknown",
        "throttling": "",
    }[cause]
    return f"{kind}: " + ", ".join(parts) + reason


def grouped(alarms: Sequence[Timed]) -> dict[str, list[Timed]]:
    """Alarms per country (an asn: series knows its country; one that does not is alone)."""
    out: dict[str, list[Timed]] = defaultdict(list)
    for timed in alarms:
        alarm = timed.alarm
        key = alarm.country or (alarm.entity[8:10] if alarm.entity.startswith("country:") else "")
        if alarm.entity.startswith("region:"):
            key = alarm.entity[7:9]
        out[key or alarm.entity].append(timed)
    return out
