"""The throughput detector on hand-made series: a fall at a known hour, a recovery, noise.

Values are kbit/s of one speed test per hour. The steady level cycles 10,000, 12,000, 9,000
and 11,000 (±14 % around a median of 10,500); the fall is to 3,000. Hand computation of what
the detector must say (detect/throughput.py, cusum.py's µ1 = 0.7, h = 7):

- before the fall each hour loses at most 1 − 9,000/10,500 = 0.143 < 0.35: no accumulation;
- each fallen hour loses 1 − 3,000/10,500 = 0.714 and adds 0.714 − 0.35 = 0.364 to the
  statistic, which passes 7 on the 20th such hour (20 × 0.364 = 7.29; 19 × 0.364 = 6.91):
  the event starts at the fall's first hour and is detected 19 hours later;
- the median ratio during the fall is 3,000 / 10,500 = 0.286.
"""

from __future__ import annotations

import datetime as dt
import math
import random

from netvigil.detect.engine import detect
from netvigil.detect.throughput import Throughput, series, throttling_events

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
STEADY = (10_000.0, 12_000.0, 9_000.0, 11_000.0)
FALL = 3_000.0


def hour(n: int) -> dt.datetime:
    return T0 + dt.timedelta(hours=n)


def speed_tests(values: list[float], asn: int = 30722, cc: str = "IT") -> list[Throughput]:
    return [
        Throughput(
            uid=f"u{asn}-{n}",
            time=hour(n) + dt.timedelta(minutes=17),
            probe_cc=cc,
            probe_asn=asn,
            download=value,
        )
        for n, value in enumerate(values)
    ]


def steady(hours: int) -> list[float]:
    return [STEADY[n % 4] for n in range(hours)]


def test_a_sustained_fall_starts_an_event_at_its_first_hour() -> None:
    points = speed_tests(steady(48) + [FALL] * 24)
    (event,) = throttling_events(points)
    assert (event.kind, event.cause, event.entity, event.country) == (
        "throttling",
        "throttling",
        "asn:30722",
        "IT",
    )
    assert (event.start, event.detected, event.end) == (hour(48), hour(67), None)
    (fired,) = event.signals
    assert (fired.signal, fired.baseline, fired.value, fired.ratio) == (
        "throughput",
        10_500.0,
        3_000.0,
        round(3_000 / 10_500, 3),
    )
    assert "u30722-48" in event.evidence


def test_a_recovery_ends_the_event_at_its_first_hour() -> None:
    points = speed_tests(steady(48) + [FALL] * 30 + steady(40))
    (event,) = throttling_events(points)
    assert (event.start, event.end) == (hour(48), hour(78))


def test_steady_noise_is_no_event() -> None:
    chance = random.Random(13)
    noisy = [value * chance.uniform(0.8, 1.2) for value in steady(24 * 10)]
    assert throttling_events(speed_tests(noisy)) == []


def test_a_short_dip_is_no_event() -> None:
    # 19 fallen hours leave the statistic at 6.91, under h = 7.
    assert throttling_events(speed_tests(steady(48) + [FALL] * 19 + steady(48))) == []


def test_one_network_falling_leaves_its_neighbour_alone() -> None:
    falling = speed_tests(steady(48) + [FALL] * 24, asn=1)
    fine = speed_tests(steady(72), asn=2)
    assert [e.entity for e in throttling_events(falling + fine)] == ["asn:1"]


def test_a_young_series_is_not_scored() -> None:
    # Six hours are the baseline's minimum: a fall before that has nothing to fall from.
    assert throttling_events(speed_tests([FALL] * 5 + [FALL] * 40)) == []


def test_the_engine_emits_throttling_from_speed_tests() -> None:
    events = detect([], throughput=speed_tests(steady(48) + [FALL] * 24))
    assert [(e.kind, e.start) for e in events] == [("throttling", hour(48))]


def test_the_series_is_hourly_per_network_with_gaps() -> None:
    points = speed_tests([100.0, 300.0, 200.0])
    later = Throughput(uid="x", time=hour(5), probe_cc="IT", probe_asn=30722, download=50.0)
    (one,) = series([*points, later])
    assert (one.entity, one.signal, one.country, one.step) == (
        "asn:30722",
        "throughput",
        "IT",
        3600,
    )
    values = [None if math.isnan(v) else v for v in one.values.tolist()]
    assert values == [100.0, 300.0, 200.0, None, None, 50.0]
