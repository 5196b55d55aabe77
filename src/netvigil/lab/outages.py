"""A synthetic, seeded world in which the real outages of labels_unified.csv happen again.

Each entity's labels are grouped into *windows* (a world of their own): a warm-up of 8 days
before the first label, so a 7-day baseline exists, and a day after the last; labels less
than 8 days apart share a window, so recurring exam and nightly cuts stay together and a
baseline that learnt them as normal would miss the later ones. In a window live the entity's
outside series (BGP-like /24s every 5 min, active-probing-like /24s up every 10 min), its
measurement counts (10 min) and the heartbeats of 3-5 probes in 2-3 networks (1 min), with
daily and weekly seasonality, negative-binomial noise, collector gaps (NaN: no evidence of
anything) and benign ±10-25 % level shifts; a region or a network lives inside its country,
whose series it drags down by its share, and beside a network that stays up.
(reference/shutdowns.md §7, "How to measure it here".)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import msgspec
import numpy as np

from netvigil.detect.model import LocalCheck, Series
from netvigil.lab.outage_labels import DAY, HOUR, Label
from netvigil.lab.outage_signals import Place, entity_series, gap, heartbeats, local_checks

WARMUP = 8 * DAY  # a full 7-day median (IODA's active-probing history) plus a day of slack
COOLDOWN = DAY
KEEP_CLEAR = 2 * HOUR  # gaps and level shifts stay this far from any outage


class Outage(msgspec.Struct, frozen=True, kw_only=True):
    """What a detector should report: overlapping labels of one entity are one outage."""

    entity: str
    start: int
    end: int
    kind: str  # shutdown: deliberate, and the probes measured through it; outage otherwise
    affected: tuple[str, ...]  # the entity and its networks that went dark: events there are true
    labels: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class World:
    """One window: what a detector reads (series, local checks) and what it should find."""

    entity: str
    start: int
    end: int
    series: tuple[Series, ...]
    local: tuple[LocalCheck, ...]
    truth: tuple[Outage, ...]


def group(labels: Sequence[Label]) -> list[list[Label]]:
    """Each entity's labels in windows: a label within WARMUP of the last one joins it."""
    by_entity: dict[str, list[Label]] = {}
    for label in sorted(labels, key=lambda lab: (lab.entity, lab.start)):
        by_entity.setdefault(label.entity, []).append(label)
    windows: list[list[Label]] = []
    for found in by_entity.values():
        current = [found[0]]
        for label in found[1:]:
            if label.start - max(lab.end for lab in current) < WARMUP:
                current.append(label)
            else:
                windows.append(current)
                current = [label]
        windows.append(current)
    return sorted(windows, key=lambda w: (w[0].start, w[0].entity))


def truth_of(labels: Sequence[Label], places: Sequence[Place]) -> tuple[Outage, ...]:
    """Overlapping labels merged: one outage found once, deliberate if any of them was."""
    dark = tuple(p.name for p in places if p.probes and p.hit == 1)
    merged: list[Outage] = []
    for label in sorted(labels, key=lambda lab: lab.start):
        kind = "shutdown" if label.deliberate else "outage"
        if merged and label.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = msgspec.structs.replace(
                last,
                end=max(last.end, label.end),
                kind="shutdown" if "shutdown" in (last.kind, kind) else "outage",
                labels=(*last.labels, label.source_id),
            )
        else:
            merged.append(
                Outage(
                    entity=label.entity,
                    start=label.start,
                    end=label.end,
                    kind=kind,
                    affected=(label.entity, *dark),
                    labels=(label.source_id,),
                )
            )
    return tuple(merged)


def build(labels: Sequence[Label], rng: np.random.Generator) -> World:
    """The world of one window of one entity's labels."""
    first = labels[0]
    start = (min(lab.start for lab in labels) - WARMUP) // HOUR * HOUR
    end = -(-(max(lab.end for lab in labels) + COOLDOWN) // HOUR) * HOUR
    places = places_of(first, rng)
    busy = [(lab.start - KEEP_CLEAR, lab.end + KEEP_CLEAR) for lab in labels]
    gaps = {source: gap(rng, start, end, busy) for source in ("hb", "bgp", "ap", "m")}
    series: list[Series] = []
    local: list[LocalCheck] = []
    for place in places:
        if place.probes:
            series.append(heartbeats(place, labels, start, end, gaps["hb"], rng))
            local.extend(local_checks(place, labels))
        else:
            series.extend(entity_series(place, labels, start, end, gaps, busy, rng))
    return World(
        entity=first.entity,
        start=start,
        end=end,
        series=tuple(series),
        local=tuple(local),
        truth=truth_of(labels, places),
    )


def places_of(label: Label, rng: np.random.Generator) -> list[Place]:
    """The entity, its country when it lies in one, and the networks our probes are in.

    Networks are private-use ASNs (RFC 6996) unless the label names one. A network has one
    beside it that stays up (2 probes); a region has two networks with 3-5 probes each and
    two other regions in the rest of its country, all staying up: "all of the country's
    probes went silent" or "most of its regions fell" is never true when only part did.
    """
    country = label.country
    kind = label.entity.partition(":")[0]
    share = 1.0 if kind == "country" else float(rng.uniform(0.05, 0.3))
    level = float(rng.lognormal(np.log(2000.0), 1.0))
    phase = int(rng.integers(0, DAY))  # one local time for the entity and its country
    places = [Place(name=label.entity, level=level * share, hit=1.0, phase=phase)]
    if kind != "country" and country is not None:
        places.append(Place(name=f"country:{country}", level=level, hit=share, phase=phase))
    if kind == "region":  # the rest of the country is seen too: one region of three drops
        for other in ("Elsewhere-1", "Elsewhere-2"):
            rest = level * float(rng.uniform(0.05, 0.3))
            places.append(Place(name=f"region:{country}-{other}", level=rest, hit=0.0, phase=phase))
    count = int(rng.integers(3, 6))  # 3-5 probes
    if kind == "asn":
        sizes, asns = [count], [int(label.entity[4:])]
    else:
        first = int(rng.integers(1, count))  # at least two networks
        sizes, asns = [first, count - first], [64512, 64513]
    # a region's probes are in regional networks, which public data says serve it only
    region = label.entity if kind == "region" else None
    for asn, size in zip(asns, sizes, strict=True):
        places.append(
            Place(name=f"asn:{asn}", country=country, region=region, probes=size, hit=1.0)
        )
    if kind == "asn":
        places.append(Place(name="asn:64999", country=country, probes=2, hit=0.0))
    if kind == "region":  # the rest of the country, bigger than the region: 3-5 probes twice
        for asn in (64998, 64999):
            size = int(rng.integers(3, 6))
            places.append(Place(name=f"asn:{asn}", country=country, probes=size, hit=0.0))
    return places


def worlds(labels: Sequence[Label], seed: int) -> Iterator[World]:
    """The windows of `labels`, one at a time, each with its own seeded generator."""
    for number, window in enumerate(group(labels)):
        yield build(window, np.random.default_rng([seed, number]))


def preset(labels: Sequence[Label]) -> list[Label]:
    """A small fixed set for the test: Myanmar's nightly cuts and Syria's exams (ten nights
    and ten exam days, one window each, when in the labels) and the first label of every
    60th other window, so countries, regions and networks from all three sources appear.
    """
    chosen: list[Label] = []
    windows = group(labels)
    nightly = [w for w in windows if w[0].entity == "country:MM" and len(w) >= 10]
    exams = [w for w in windows if w[0].cause == "Exams" and len(w) >= 5]
    for series in (nightly[:1], exams[:1]):
        chosen.extend(label for window in series for label in window[:10])
    taken = {id(w) for w in nightly[:1] + exams[:1]}
    others = [w for w in windows if id(w) not in taken]
    chosen.extend(w[0] for w in others[::60])
    return chosen


# Negative controls (issue 11, "Must show"): worlds whose right answer is known by
# construction. User-assigned ISO codes (XA-XZ) keep them apart from every real country.
CONTROL_AT = 1_700_000_000 // DAY * DAY + WARMUP + 14 * HOUR  # a Tuesday afternoon, 2023


def _control(where: str, country: str, hours: int, *, bgp: bool = True) -> Label:
    return Label(
        source="control",
        source_id=where,
        entity=where,
        country=country,
        start=CONTROL_AT,
        end=CONTROL_AT + hours * HOUR,
        deliberate=False,
        bgp=bgp,
        ap=True,
    )


def probe_dies(seed: int) -> World:
    """One probe of a country's first network dies for good: no event for any entity (at
    most a note about a vantage point)."""
    rng = np.random.default_rng([seed, 1])
    label = _control("country:XA", "XA", 0)
    start, end = CONTROL_AT - WARMUP, CONTROL_AT + 2 * DAY
    series: list[Series] = []
    places = places_of(label, rng)
    largest = max(places, key=lambda p: p.probes)  # its network keeps a probe or more
    for place in places:
        if place.probes:
            dies = CONTROL_AT if place is largest else None
            series.append(heartbeats(place, (), start, end, None, rng, dies=dies))
        else:
            series.extend(entity_series(place, (), start, end, {}, [], rng))
    return World(
        entity=label.entity, start=start, end=end, series=tuple(series), local=(), truth=()
    )


def router_fails(seed: int) -> World:
    """One network's router fails for 3 h: an outage of that `asn:` only, never the country's."""
    return build([_control("asn:64520", "XB", 3)], np.random.default_rng([seed, 2]))


def blackout(seed: int) -> World:
    """A power blackout: every network and its probes dark (no local checks), active probing
    down, BGP barely moved (routers on backup power): a country outage, cause unknown."""
    return build([_control("country:XC", "XC", 4, bgp=False)], np.random.default_rng([seed, 3]))


def regional_disaster(seed: int) -> World:
    """A storm takes down one region for 12 h: that region's outage, no national one."""
    return build([_control("region:XD-North", "XD", 12)], np.random.default_rng([seed, 4]))


def controls(seed: int) -> list[World]:
    return [probe_dies(seed), router_fails(seed), blackout(seed), regional_disaster(seed)]
