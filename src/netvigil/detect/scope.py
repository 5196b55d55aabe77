"""How wide an outage is: national, regional, or one network's.

The rule for a wide entity (a country, or a region whose networks we know) is the same:

- its heartbeats fell to a quarter or less (nearly all its probes silent), with probes in
  at least two networks silent, or with one outside signal of it fallen to half or less; or
- two of its outside signals fell to half or less; or, for a country,
- most of its regions with data (more than half, at least two) fell within an hour of each
  other, each by its own evidence as below or by an outside level fallen to half or less.

One silent probe or one ISP's router is not a national shutdown (reference/shutdowns.md §7,
SD-1): a network's own event needs two of its probes silent or two of its signals fallen.
A shallow fall (above half) is a warning at most. Throughput and latency never count here:
slow is not cut off.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from netvigil.detect.fusion import THROTTLING_SIGNALS, Timed
from netvigil.detect.model import COUNT_SIGNALS

NEARLY_ALL = 0.25  # a wide entity's heartbeats at a quarter or less: nearly all silent
TOGETHER = dt.timedelta(hours=1)  # regions whose falls began this close fell together
SLOW_SIGNALS = {"heartbeats", *THROTTLING_SIGNALS}

Silent = Callable[[Timed], int]


def _within(timed: Timed, entity: str) -> bool:
    """A network's alarm that speaks for `entity` (its country, or the region it serves)."""
    alarm = timed.alarm
    if not alarm.entity.startswith("asn:"):
        return False
    if entity.startswith("country:"):
        return alarm.country == entity[8:]
    return alarm.region == entity


def level(
    cluster: Sequence[Timed], entity: str, *, regions: int = 0, silent: Silent | None = None
) -> str | None:
    """The level the cluster's evidence about the wide `entity` reaches, if any. `silent(t)`
    counts the networks with no heartbeat at all from a wide heartbeat alarm's start to its
    detection (silent before their own, slower, tests say so); `regions`: how many regions
    of a country have data."""
    own = [t for t in cluster if t.alarm.entity == entity]
    heartbeats = [t for t in own if t.alarm.signal == "heartbeats" and t.alarm.ratio <= NEARLY_ALL]
    outside = [t for t in own if t.alarm.signal not in {"heartbeats", *THROTTLING_SIGNALS}]
    deep = {t.alarm.signal for t in outside if t.alarm.critical}
    networks = len(
        {t.alarm.entity for t in cluster if t.alarm.signal == "heartbeats" and _within(t, entity)}
    )
    if silent is not None:
        networks = max([networks, *(silent(t) for t in heartbeats)])
    fallen = _fallen(cluster, entity) if entity.startswith("country:") else set()
    if (
        (heartbeats and (networks >= 2 or deep))
        or len(deep) >= 2
        or (len(fallen) >= 2 and 2 * len(fallen) > regions)
    ):
        return "critical"
    return "warning" if own else None


def _fallen(cluster: Sequence[Timed], country: str) -> set[str]:
    """The country's regions that fell together: each critical by its own evidence, or with
    an outside *level* (/24s, traffic) fallen deep, IODA's regional signal (a quiet hour of
    one region's measurement counts is no regional outage), all within TOGETHER of the first."""
    first: dict[str, dt.datetime] = {}
    for t in cluster:
        name = t.alarm.entity
        if not name.startswith(f"region:{country[8:]}-") or not t.alarm.critical:
            continue
        own = level(cluster, name) == "critical" or network_critical(members(cluster, name))
        if own or (t.alarm.signal not in COUNT_SIGNALS and t.alarm.signal not in SLOW_SIGNALS):
            first[name] = min(first.get(name, t.start), t.start)
    if not first:
        return set()
    earliest = min(first.values())
    return {name for name, start in first.items() if start - earliest <= TOGETHER}


def network_critical(witnesses: Sequence[Timed]) -> bool:
    """A network's (or an unknown region's) own evidence: two silent probes or two signals
    fallen to half or less."""
    silent = sum(round(t.alarm.silent) for t in witnesses if t.alarm.signal == "heartbeats")
    deep = {t.alarm.signal for t in witnesses if t.alarm.critical}
    return silent >= 2 or len(deep) >= 2


def members(cluster: Sequence[Timed], entity: str) -> list[Timed]:
    """The alarms of a wide entity's event: its own and its networks'."""
    return [t for t in cluster if t.alarm.entity == entity or _within(t, entity)]
