"""From alarms to events: fusion across signals and vantage points, scope, kind and cause.

One silent probe or one ISP's router is not a national shutdown (reference/shutdowns.md §7,
SD-1). The alarms of one country (its own series, its regions', its networks') that overlap
in time form one cluster, and the cluster is judged as a whole:

- **country** when the evidence is national: the country's heartbeats fell (nearly all its
  probes silent) with probes in at least two networks silent, or with one outside signal of
  the country agreeing; or two outside signals of the country; or most of its regions (more
  than half of those with data, at least two) fell together. Critical when one of these holds;
  a single national signal is a warning.
- otherwise each network and each region is its own event: a network is critical when at
  least two of its probes went silent or two of its signals fell; a region when two of its
  signals fell. A network whose one probe went silent is a warning whose cause is
  `vantage_point`: nothing shows that anyone but that probe lost anything.

Kind and cause never guess: a `shutdown` needs probes that kept measuring through the gap and
saw their gateway answer and everything beyond it fail (the network failed, not the power);
without that it is an `outage` of unknown cause. A fall of throughput alone (the probes
still heard) is `throttling`, critical once it is at a fifth of its baseline or less for ten
minutes (reference/shutdowns.md §7).
`confidence` is 1 − Π(1 − pᵢ) over the independent witnesses, pᵢ = 1 − e^(−Sᵢ/hᵢ) for an
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
CERTAIN = 0.99  # no amount of agreeing signals is certainty


class Timed(msgspec.Struct, frozen=True, kw_only=True):
    """An alarm with its bins turned into times (detected: the end of the crossing bin)."""

    alarm: Alarm
    start: dt.datetime
    detected: dt.datetime
    end: dt.datetime | None

    def until(self, now: dt.datetime) -> dt.datetime:
        return self.end or now


def clusters(alarms: Sequence[Timed], now: dt.datetime) -> list[list[Timed]]:
    """Alarms whose intervals overlap, chained: a sweep over their starts."""
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


def national(
    cluster: Sequence[Timed],
    country: str,
    regions: int,
    silent: Callable[[Timed], int] = lambda alarm: 0,
) -> str | None:
    """The level the cluster's national evidence reaches, if any. `silent(alarm)` counts
    the networks with no heartbeat at all from a national heartbeat alarm's start to its
    detection: they are silent before their own, slower, tests say so."""
    own = f"country:{country}"
    national_heartbeats = [
        t for t in cluster if t.alarm.entity == own and t.alarm.signal == "heartbeats"
    ]
    outside = {t.alarm.signal for t in cluster if t.alarm.entity == own}
    outside -= {"heartbeats", *THROTTLING_SIGNALS}  # slow is not cut off
    networks = len(
        {
            t.alarm.entity
            for t in cluster
            if t.alarm.signal == "heartbeats" and t.alarm.entity.startswith("asn:")
        }
    )
    networks = max([networks, *(silent(t) for t in national_heartbeats)])
    fallen = {t.alarm.entity for t in cluster if t.alarm.entity.startswith("region:")}
    if (
        (national_heartbeats and (networks >= 2 or outside))
        or len(outside) >= 2
        or (len(fallen) >= 2 and 2 * len(fallen) > regions)
    ):
        return "critical"
    return "warning" if national_heartbeats or outside else None


def _local(
    witnesses: Sequence[Timed], checks: Sequence[LocalCheck], start: dt.datetime, end: dt.datetime
) -> dict[int, tuple[int, int]]:
    """Per silent network: the most probes measuring locally in one minute, and of those the
    most that saw the gateway answer and nothing beyond it."""
    silent = {
        int(t.alarm.entity[4:])
        for t in witnesses
        if t.alarm.signal == "heartbeats" and t.alarm.entity.startswith("asn:")
    }
    seen: dict[int, tuple[int, int]] = {}
    for check in checks:
        if check.asn in silent and start <= check.time <= end:
            cut = min(check.gateway_up, check.upstream_down)
            measuring, was_cut = seen.get(check.asn, (0, 0))
            seen[check.asn] = (max(measuring, check.measuring), max(was_cut, cut))
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
    cut = [asn for asn, (_, was_cut) in local.items() if was_cut > 0]
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
