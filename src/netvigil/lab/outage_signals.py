"""The replay world's signals: one place's series, with outages cut into them at their times.

Shapes follow IODA's datasources (reference/shutdowns.md §1.1): `bgp`, visible /24s every
5 min, flat with tiny noise; `active_probing` (IODA's `ping-slash24`), /24s up every 10 min,
diurnal; plus ours:
`measurements` per 10 min (negative-binomial, daily and weekly seasonality: people measure by
day and less at weekends) and `heartbeats`, probes heard per minute.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import msgspec
import numpy as np
import numpy.typing as npt

from netvigil.detect.model import LocalCheck, Series
from netvigil.lab.outage_labels import DAY, Label

Floats = npt.NDArray[np.float64]
Interval = tuple[int, int]

HEARTBEAT_LOSS = 0.02  # a heartbeat lost on the way (one in fifty): noise, not an outage
LOCAL_STEP = 300  # a cut-off probe checks gateway and destinations every 5 min
NB_SIZE = 10.0  # negative-binomial size: variance = mean + mean² / 10, over-dispersed counts
DAILY = {"active_probing": 0.1, "measurements": 0.4}  # diurnal amplitude, relative
WEEKEND = 0.2  # measurements fall by a fifth on Saturdays and Sundays (local)
REMAINS = {"bgp": (0.02, 0.3), "active_probing": (0.02, 0.2), "measurements": (0.0, 0.05)}


class Place(msgspec.Struct, frozen=True, kw_only=True):
    """An entity of a window: outside series (`probes` 0) or a network with our probes."""

    name: str
    country: str | None = None  # set on networks (Series.country)
    region: str | None = None  # a network serving one region only (Series.region)
    level: float = 0.0  # visible /24s of an entity with outside series
    probes: int = 0
    hit: float  # the part of this place an outage of the window's entity takes down
    phase: int = 0  # seconds added to UTC for the place's local time: when its day peaks


def cover(times: npt.NDArray[np.int64], step: int, label: Label) -> Floats:
    """The part of each bin [t, t + step) inside the label's outage."""
    inside = np.minimum(times + step, label.end) - np.maximum(times, label.start)
    part: Floats = np.clip(inside, 0, step).astype(np.float64) / step
    return part


def _mask(times: npt.NDArray[np.int64], step: int, span: Interval | None) -> npt.NDArray[np.bool_]:
    if span is None:
        return np.zeros(times.shape, dtype=np.bool_)
    return (times + step > span[0]) & (times < span[1])


def gap(
    rng: np.random.Generator, start: int, end: int, busy: Sequence[Interval]
) -> Interval | None:
    """A collector down for 30 min to 3 h, clear of every outage, or none (three in ten)."""
    if rng.random() < 0.3:
        return None
    length = int(rng.integers(3, 19)) * 600
    for _ in range(20):  # bounded: a window crowded with outages may have no room
        at = int(rng.integers(start + DAY, end - length)) // 600 * 600
        if all(at + length <= b[0] or at >= b[1] for b in busy):
            return at, at + length
    return None


def _season(times: npt.NDArray[np.int64], signal: str, phase: int) -> Floats:
    local = times + phase
    daily = 1 + DAILY.get(signal, 0.0) * np.sin(2 * np.pi * (local % DAY) / DAY)
    if signal != "measurements":
        return daily
    weekday = (local // DAY + 3) % 7  # 1970-01-01 was a Thursday: Monday is 0
    return daily * np.where(weekday >= 5, 1 - WEEKEND, 1.0)


def entity_series(
    place: Place,
    labels: Sequence[Label],
    start: int,
    end: int,
    gaps: dict[str, Interval | None],
    busy: Sequence[Interval],
    rng: np.random.Generator,
    *,
    shifts: bool = True,
) -> list[Series]:
    """BGP, active probing and measurement counts of a place with outside series; `shifts`
    False: no benign level shift (the tests measure seasonality and noise without one)."""
    phase = place.phase
    found = []
    for signal, step, source in (
        ("bgp", 300, "bgp"),
        ("active_probing", 600, "ap"),
        ("measurements", 600, "m"),
    ):
        times = np.arange(start, end, step, dtype=np.int64)
        mean = _season(times, signal, phase)
        if signal == "measurements":
            mean = mean * float(np.clip(30 * np.sqrt(place.level / 2000), 3, 100))
        else:
            mean = mean * place.level * (0.6 if signal == "active_probing" else 1.0)
        if (
            rng.random() < 0.5 and shifts
        ):  # a benign level shift: a collector peer, a new prefix block
            shift = _clear(rng, start + DAY, end, busy)
            size = float(rng.uniform(0.1, 0.25)) * (1 if rng.random() < 0.5 else -1)
            mean = mean * np.where(times >= shift, 1 + size, 1.0)
        for label in labels:
            shown = {"bgp": label.bgp, "active_probing": label.ap}.get(signal, True)
            remains = float(rng.uniform(*REMAINS[signal]))
            if shown:
                mean = mean * (1 - place.hit * (1 - remains) * cover(times, step, label))
        if signal == "measurements":
            values = rng.negative_binomial(NB_SIZE, NB_SIZE / (NB_SIZE + mean)).astype(np.float64)
        else:
            noise = 0.002 if signal == "bgp" else 0.01
            values = np.round(mean * (1 + rng.normal(0, noise, times.shape)))
        values[_mask(times, step, gaps.get(source))] = np.nan
        country = place.country if place.name.startswith("asn:") else None
        found.append(Series(place.name, signal, step, times, values, country=country))
    return found


def _clear(rng: np.random.Generator, start: int, end: int, busy: Sequence[Interval]) -> int:
    at = end
    for _ in range(20):  # bounded; `end` (no shift) when nothing is clear
        at = int(rng.integers(start, end)) // 600 * 600
        if all(not b[0] <= at < b[1] for b in busy):
            return at
    return end


def heartbeats(
    place: Place,
    labels: Sequence[Label],
    start: int,
    end: int,
    down: Interval | None,
    rng: np.random.Generator,
    *,
    dies: int | None = None,
) -> Series:
    """Probes of a network heard each minute; `dies`: one of them is dead from then on."""
    times = np.arange(start, end, 60, dtype=np.int64)
    alive = np.ones(times.shape)
    for label in labels:
        alive = alive * (1 - place.hit * cover(times, 60, label))
    probes = np.full(times.shape, place.probes)
    if dies is not None:
        probes[times >= dies] -= 1
    values = rng.binomial(probes, (1 - HEARTBEAT_LOSS) * alive).astype(np.float64)
    values[_mask(times, 60, down)] = np.nan  # our own collector down: nothing known
    return Series(
        place.name, "heartbeats", 60, times, values, country=place.country, region=place.region
    )


def local_checks(place: Place, labels: Sequence[Label]) -> list[LocalCheck]:
    """Deliberate cuts: every probe kept power, saw its gateway and nothing beyond it.

    Power cuts and outages of unknown cause leave the devices dark: no local checks (a cable
    cut would leave them measuring too; the labels rarely say which, so it is not modelled).
    """
    if place.hit < 1 or place.country is None:
        return []
    found = []
    for label in labels:
        if not label.deliberate:
            continue
        first = -(-label.start // 60) * 60
        for at in range(first, label.end, LOCAL_STEP):
            found.append(
                LocalCheck(
                    time=dt.datetime.fromtimestamp(at, dt.UTC),
                    country=place.country,
                    asn=int(place.name[4:]),
                    measuring=place.probes,
                    gateway_up=place.probes,
                    upstream_down=place.probes,
                )
            )
    return found
