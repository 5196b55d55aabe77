"""What detection reads and what it says: entities, series, local checks and events.

- An **entity** is where something happened: `country:CC`, `region:CC-NAME` (an ISO 3166-2
  code or any name without a comma) or `asn:N` (reference/shutdowns.md §1.1, IODA's entity
  types; `geoasn` is a network inside one country, which our vantage points always are).
- A **series** is one signal of one entity at a fixed step: values at bin starts, NaN where
  nothing is known (a gap is no evidence of anything). Arrays, not records, because the
  detector reads millions of points (a frozen dataclass holding numpy arrays).
- A **local check** is what probes recorded while they could not reach the server: they had
  power, and saw their gateway answer and everything beyond it fail. It is the evidence that
  separates a network cut from a power cut (DESIGN.md: never say more than the data shows).
- An **event** is the product (reference/shutdowns.md §1.7: "an event object, not raw
  alerts"): entity, kind, start, end or None while ongoing, when it was detected, confidence,
  cause, the signals that fired with their baselines, the vantage points per network and
  the evidence.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from typing import Literal

import msgspec
import numpy as np
import numpy.typing as npt

Kind = Literal["shutdown", "outage", "throttling", "service_block", "blocking_change"]
Level = Literal["warning", "critical"]
# Why a connectivity event happened, as far as the data shows; never a guess at an order.
Cause = Literal[
    "unknown",  # outside signals or silent probes only: power, cable or order alike
    "network_cut",  # probes kept measuring through the gap: power on, the network failed
    "vantage_point",  # only our own probes went silent, every other signal is normal
    "blocking",  # a change-point of blocking (blocking_change, service_block)
    "throttling",  # throughput fell while connectivity stayed
]

# Signals whose values are counts of discrete things (Poisson-like): probes heard, measurements
# received, replies to active probes (Monash pings). The rest are levels.
COUNT_SIGNALS = frozenset({"heartbeats", "measurements", "responses"})
# Signals at the same rate day and night by design: our probes' heartbeats (baseline.py).
STEADY_SIGNALS = frozenset({"heartbeats"})

_ENTITY = re.compile(r"^(country:[A-Z]{2}|region:[A-Z]{2}-[^,\n]+|asn:[1-9][0-9]{0,9})$")


class EntityError(ValueError):
    """An entity that is none of `country:CC`, `region:CC-NAME`, `asn:N`."""


def entity(text: str) -> str:
    """`text` as an entity, checked; raises EntityError with the reason in one line."""
    cleaned = text.strip()
    if cleaned.startswith("country:") or cleaned.startswith("region:"):
        kind, _, rest = cleaned.partition(":")
        cleaned = f"{kind}:{rest[:2].upper()}{rest[2:]}"
    if not _ENTITY.match(cleaned) or (cleaned.startswith("asn:") and int(cleaned[4:]) > 2**32 - 1):
        raise EntityError(f"unknown entity {text!r}: expected country:CC, region:CC-NAME or asn:N")
    return cleaned


def country_of(name: str) -> str | None:
    """The country an entity lies in, when its name says so (`asn:N` does not)."""
    kind, _, rest = name.partition(":")
    return rest[:2] if kind in ("country", "region") else None


@dataclasses.dataclass(frozen=True, eq=False)
class Series:
    """One signal of one entity: `values[i]` for the bin `[times[i], times[i] + step)`.

    `times` are Unix seconds, strictly increasing, on the step's grid; `values` NaN where
    nothing was received. `country` is the country of an `asn:` entity's vantage points
    (one network can span countries; our probes are in one). `region` is the region an
    `asn:` network serves when it serves one only (`region:CC-NAME`): public knowledge about
    the network (its registry, its prefixes' geolocation), never the probe's own location.
    """

    entity: str
    signal: str
    step: int
    times: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    country: str | None = None
    region: str | None = None

    def __post_init__(self) -> None:
        if self.times.shape != self.values.shape or self.times.ndim != 1:
            raise ValueError("a series needs one value per time")
        if self.step <= 0 or (len(self.times) > 1 and bool(np.any(np.diff(self.times) <= 0))):
            raise ValueError("a series' times must be strictly increasing on a positive step")

    @property
    def counts(self) -> bool:
        return self.signal in COUNT_SIGNALS


class LocalCheck(msgspec.Struct, frozen=True, kw_only=True):
    """Probes of one network that measured locally in one minute while cut off."""

    time: dt.datetime  # the minute
    country: str
    asn: int
    measuring: int  # probes that recorded a local check in that minute
    gateway_up: int  # of them, those whose gateway (first hop or resolver) answered
    upstream_down: int  # of those whose gateway answered, those that reached nothing beyond


class Fired(msgspec.Struct, frozen=True, kw_only=True):
    """One signal's part in an event: what was expected, what was seen, how sure."""

    entity: str
    signal: str
    at: dt.datetime  # when this signal's test crossed its threshold
    baseline: float  # the expected value at that time (seasonal, robust, inpainted)
    value: float  # the value seen then
    ratio: float  # the median of value / baseline over the alarm (baseline / value: latency)
    statistic: float  # the test's statistic at the crossing (CUSUM, in nats)
    threshold: float


class Network(msgspec.Struct, frozen=True, kw_only=True):
    """Our vantage points in one network of the entity during the event."""

    asn: int
    probes: int  # probes heard from before the event
    silent: int  # of them, those that went silent
    measured_locally: int = 0  # of the silent ones, those that kept measuring (local checks)


class Event(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    entity: str
    kind: Kind
    level: Level
    start: dt.datetime
    end: dt.datetime | None  # None: ongoing
    detected: dt.datetime  # when the evidence first crossed the threshold
    confidence: float  # 0..1
    cause: Cause
    summary: str  # one sentence a person reads first
    signals: tuple[Fired, ...] = ()
    networks: tuple[Network, ...] = ()
    evidence: tuple[str, ...] = ()  # measurement uids and the like
    country: str | None = None  # the country the entity lies in (an asn: included)
    target: str | None = None  # what was blocked: "DOMAIN by TECHNIQUE" (blocking_change)


def event_id(entity_name: str, kind: str, start: dt.datetime) -> str:
    """Stable across reruns over the same data: the same event keeps its id as it grows."""
    digest = hashlib.sha256(f"{entity_name}|{kind}|{start.isoformat()}".encode()).hexdigest()
    return f"ev_{digest[:20]}"
