"""Scoring on hand-made events: what is found, what is a false alert, how late."""

from __future__ import annotations

import datetime as dt

from netvigil.detect.model import Event, Kind, Level, event_id
from netvigil.lab.outage_score import Tally, add, score
from netvigil.lab.outages import Outage

T0 = 1_600_000_000
HOUR = 3600
WEEK = 7 * 86400


def at(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def event(
    where: str,
    start: int,
    end: int | None,
    detected: int,
    level: Level = "critical",
    kind: Kind = "outage",
) -> Event:
    return Event(
        id=event_id(where, kind, at(start)),
        entity=where,
        kind=kind,
        level=level,
        start=at(start),
        end=None if end is None else at(end),
        detected=at(detected),
        confidence=0.9,
        cause="unknown",
        summary="",
    )


COUNTRY = Outage(
    entity="country:XA",
    start=T0,
    end=T0 + 4 * HOUR,
    kind="shutdown",
    affected=("country:XA", "asn:64512"),
    labels=("a",),
)
REGION = Outage(
    entity="region:XA-North",
    start=T0 + 10 * HOUR,
    end=T0 + 12 * HOUR,
    kind="outage",
    affected=("region:XA-North", "asn:64513"),
    labels=("b",),
)


def test_found_true_false_and_latency() -> None:
    tally = Tally()
    events = [
        event("country:XA", T0 + 120, T0 + 4 * HOUR, T0 + 180, kind="shutdown"),  # found, 180 s
        event("asn:64512", T0 + 60, T0 + 4 * HOUR, T0 + 120),  # its network: true, not recall
        event("country:XA", T0 + 20 * HOUR, T0 + 21 * HOUR, T0 + 20 * HOUR + 60),  # false
        event("country:XA", T0 + 10 * HOUR, T0 + 11 * HOUR, T0 + 10 * HOUR + 60),  # false:
        # the country claimed for a region's outage
        event("region:XA-North", T0 + 13 * HOUR - 60, None, T0 + 13 * HOUR),  # within 1 h after
        event("region:XA-North", T0 + 30 * HOUR, None, T0 + 30 * HOUR, level="warning"),
    ]
    add(tally, events, (COUNTRY, REGION), T0 - 8 * 86400, T0 - 8 * 86400 + 2 * WEEK)
    got = score(tally)
    assert (got.injected, got.found, got.critical, got.false) == (2, 2, 5, 2)
    assert got.recall == 1.0
    assert got.precision == 3 / 5
    assert got.fa_week == 2 / 2  # two false alerts in two entity-weeks
    # latencies: 180 s (country) and 3 h (region: detected at 13:00, outage began 10:00)
    assert (got.median_s, got.p95_s) == ((180 + 3 * HOUR) / 2, 180 + 0.95 * (3 * HOUR - 180))
    assert got.kind_accuracy == 1.0  # shutdown for the shutdown, outage for the outage


def test_the_slack_is_one_hour_either_side() -> None:
    tally = Tally()
    early = event("country:XA", T0 - 2 * HOUR, T0 - HOUR, T0 - 2 * HOUR + 60)  # ends 1 h before
    late = event("country:XA", T0 + 5 * HOUR + 1, None, T0 + 5 * HOUR + 60)  # 1 h 1 s after
    add(tally, [early, late], (COUNTRY,), T0 - 86400, T0 + 86400)
    got = score(tally)
    assert (got.found, got.false) == (1, 1)
    assert got.median_s == -2 * HOUR + 60  # an alert before the outage counts as it is
    assert got.kind_accuracy == 0.0  # "outage" for a shutdown


def test_nothing_found_nothing_raised() -> None:
    tally = Tally()
    add(tally, [], (COUNTRY,), T0, T0 + WEEK)
    got = score(tally)
    assert (got.recall, got.precision, got.fa_week, got.found) == (0.0, 0.0, 0.0, 0)
    assert got.median_s != got.median_s  # NaN: no latency without a find
