"""detect() on real series (IODA's Iran export, Monash's Bago pings) and on controls."""

from __future__ import annotations

import collections
import csv
import datetime as dt
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from netvigil.detect.engine import detect
from netvigil.detect.model import Event, LocalCheck, Series

SERIES = Path("../shared/corpus/shutdowns/series")
IRAN = SERIES / "ioda-iran-2025-12-01_2026-01-29.csv"
BAGO = SERIES / "monash-mmr-2021-04-09_Bago.csv"
UTC = dt.UTC


def iran() -> list[Series]:
    """The dashboard export as series (the importer has its own tests; here the columns are
    read directly so this test depends on the detector only)."""
    with IRAN.open(newline="") as handle:
        rows = list(csv.reader(handle))
    names = ["google", "telescope", "bgp", "active_probing", "mozilla"]
    times = np.array(
        [int(dt.datetime.fromisoformat(r[0]).replace(tzinfo=UTC).timestamp()) for r in rows[1:]]
    )
    return [
        Series(
            "country:IR",
            name,
            1800,
            times,
            np.array([float(r[column + 1]) if r[column + 1] else np.nan for r in rows[1:]]),
        )
        for column, name in enumerate(names)
    ]


def test_irans_blackout_is_one_national_critical_event_from_the_drop() -> None:
    events = detect(iran())
    critical = [e for e in events if e.level == "critical"]
    assert len(critical) == 1
    (blackout,) = critical
    # the file: active probing 90.2 at 16:00 UTC on 2026-01-08, 6.6 at 17:00
    drop = dt.datetime(2026, 1, 8, 16, 0, tzinfo=UTC)
    assert abs(blackout.start - drop) <= dt.timedelta(hours=1)
    assert blackout.entity == "country:IR"
    # outside signals only: an outage whose cause the data does not show
    assert (blackout.kind, blackout.cause) == ("outage", "unknown")
    fired = {f.signal: f for f in blackout.signals}
    assert {"active_probing", "google"} <= set(fired)
    assert "bgp" not in fired  # BGP only fell to ~87 %: visible /24s stayed
    assert fired["active_probing"].ratio < 0.1
    # active probing is back above half its level on 2026-01-27 (24.7 at 00:00, 85.9 at 12:00)
    assert blackout.end is not None
    assert (
        dt.datetime(2026, 1, 26, tzinfo=UTC) < blackout.end < dt.datetime(2026, 1, 28, tzinfo=UTC)
    )


def test_iran_has_no_other_critical_event_and_warnings_are_single_signals() -> None:
    others = [e for e in detect(iran()) if e.level != "critical"]
    assert all(len({f.signal for f in e.signals}) == 1 for e in others)


def bago() -> Series:
    """Monash's Bago pings: replies per hour (local time is UTC+6:30)."""
    offset = dt.timedelta(hours=6, minutes=30)
    counts: collections.Counter[int] = collections.Counter()
    with BAGO.open(newline="") as handle:
        for row in csv.DictReader(handle):
            local = dt.datetime.fromisoformat(row["time_local_str"][:19])
            counts[int((local - offset).replace(tzinfo=UTC).timestamp()) // 3600 * 3600] += 1
    times = np.arange(min(counts), max(counts) + 3600, 3600, dtype=np.int64)
    values = np.array([float(counts.get(int(t), 0)) for t in times])
    return Series("region:MM-02", "responses", 3600, times, values)


def nights(events: list[Event]) -> set[dt.date]:
    """The local dates whose 03:00–06:00 (Myanmar time) an event covers."""
    local = dt.timezone(dt.timedelta(hours=6, minutes=30))
    covered = set()
    for event in events:
        assert event.end is not None
        day = event.start.astimezone(local).date()
        for date in (day, day + dt.timedelta(days=1)):
            night = dt.datetime.combine(date, dt.time(3), local)
            if event.start <= night and night + dt.timedelta(hours=3) <= event.end:
                covered.add(date)
    return covered


def test_bagos_nightly_cuts_are_recurring_events_not_noise() -> None:
    events = [e for e in detect([bago()]) if e.end is not None]
    covered = nights(events)
    # The file: no replies from 01:00 to 09:00 local every night from 15 Feb to 27 Apr
    # 2021 (the nightly mobile data shutdowns), replies again at night from 28 Apr.
    first, last = dt.date(2021, 2, 15), dt.date(2021, 4, 27)
    every_night = {first + dt.timedelta(days=n) for n in range((last - first).days + 1)}
    assert covered == every_night
    assert all(e.kind == "outage" and e.entity == "region:MM-02" for e in events)


T0 = 1_767_225_600  # 2026-01-01 00:00 UTC
MINUTES = 9 * 1440
CUT = 8 * 1440 + 100


def probes(count: int, seed: int, silent: range | None = None) -> npt.NDArray[np.float64]:
    """Heartbeats per minute of `count` probes, each lost 1 % of the time."""
    heard = (np.random.default_rng(seed).random((count, MINUTES)) > 0.01).sum(axis=0)
    values: npt.NDArray[np.float64] = heard.astype(float)
    if silent is not None:
        values[silent.start : silent.stop] = 0.0
    return values


def network(asn: int, values: npt.NDArray[np.float64]) -> Series:
    times = T0 + 60 * np.arange(MINUTES, dtype=np.int64)
    return Series(f"asn:{asn}", "heartbeats", 60, times, values, "XX")


def checks(asns: list[int], minutes: range) -> list[LocalCheck]:
    return [
        LocalCheck(
            time=dt.datetime.fromtimestamp(T0 + 60 * minute, UTC),
            country="XX",
            asn=asn,
            measuring=2,
            gateway_up=2,
            upstream_down=2,
        )
        for asn in asns
        for minute in minutes
    ]


CUT_MINUTES = range(CUT, CUT + 120)


def test_a_national_cut_with_probes_measuring_through_it_is_a_shutdown() -> None:
    series = [network(64500, probes(2, 1, CUT_MINUTES)), network(64501, probes(2, 2, CUT_MINUTES))]
    (event,) = detect(series, local=checks([64500, 64501], CUT_MINUTES))
    assert (event.entity, event.kind, event.cause, event.level) == (
        "country:XX",
        "shutdown",
        "network_cut",
        "critical",
    )
    onset = dt.datetime.fromtimestamp(T0 + 60 * CUT, UTC)
    assert event.start == onset
    # 4 probes: the national count crosses in the second silent minute, and both networks
    # had no heartbeat at all by then
    assert event.detected == onset + dt.timedelta(minutes=2)
    assert event.end == onset + dt.timedelta(minutes=120)
    assert [(n.asn, n.probes, n.silent, n.measured_locally) for n in event.networks] == [
        (64500, 2, 2, 2),
        (64501, 2, 2, 2),
    ]


def test_a_blackout_where_the_devices_go_dark_too_is_an_outage_of_unknown_cause() -> None:
    series = [network(64500, probes(2, 1, CUT_MINUTES)), network(64501, probes(3, 2, CUT_MINUTES))]
    (event,) = detect(series)
    assert (event.entity, event.kind, event.cause, event.level) == (
        "country:XX",
        "outage",
        "unknown",
        "critical",
    )


def test_one_networks_router_failing_is_that_networks_event_only() -> None:
    series = [network(64500, probes(2, 1, CUT_MINUTES)), network(64501, probes(2, 2))]
    (event,) = detect(series)
    assert (event.entity, event.kind, event.level) == ("asn:64500", "outage", "critical")
    assert event.country == "XX"


def test_one_probe_dying_is_no_event_when_its_network_has_others() -> None:
    dying = probes(2, 1)
    dying[CUT:] -= 1  # one of two gone for good
    assert detect([network(64500, dying), network(64501, probes(2, 2))]) == []


def test_a_lone_probe_going_silent_is_a_vantage_point_warning() -> None:
    series = [network(64500, probes(1, 1, CUT_MINUTES)), network(64501, probes(2, 2))]
    (event,) = detect(series)
    assert (event.entity, event.level, event.cause) == ("asn:64500", "warning", "vantage_point")


def regional(names: list[str], fallen: set[str]) -> list[Series]:
    """Hourly up-/24 counts per region for 10 days; the fallen ones drop to 5 % on day 9."""
    hours = 10 * 24
    times = T0 + 3600 * np.arange(hours, dtype=np.int64)
    out = []
    for index, name in enumerate(names):
        noise = np.random.default_rng(index).normal(0, 1, hours)
        values = 100 + noise
        if name in fallen:
            values[9 * 24 : 9 * 24 + 5] = 5.0
        for signal in ("bgp", "active_probing"):
            out.append(Series(f"region:XX-{name}", signal, 3600, times, values.copy()))
    return out


def test_a_regional_disaster_is_a_regional_event_and_no_national_one() -> None:
    events = detect(regional(["01", "02", "03", "04"], {"02"}))
    assert [(e.entity, e.level) for e in events] == [("region:XX-02", "critical")]


def test_most_regions_falling_together_is_a_national_event() -> None:
    events = detect(regional(["01", "02", "03", "04"], {"01", "02", "03"}))
    assert [(e.entity, e.level) for e in events] == [("country:XX", "critical")]


@pytest.mark.parametrize("scale", [0.1, 1.0, 1000.0])
def test_a_0_to_10_index_and_a_0_to_100_index_behave_alike(scale: float) -> None:
    series = [
        Series(s.entity, s.signal, s.step, s.times, s.values * scale)
        for s in regional(["01", "02"], {"01", "02"})
    ]
    events = detect(series)
    assert [(e.entity, e.start, e.end) for e in events] == [
        (
            "country:XX",
            dt.datetime.fromtimestamp(T0 + 9 * 24 * 3600, UTC),
            dt.datetime.fromtimestamp(T0 + (9 * 24 + 5) * 3600, UTC),
        )
    ]


def throughput(minutes: int, slow: range) -> Series:
    """Throughput samples every minute for 4 days (a seasonal past), 2 % noise."""
    values = 8000 * (1 + np.random.default_rng(5).normal(0, 0.02, minutes))
    values[slow.start : slow.stop] *= 0.1
    times = T0 + 60 * np.arange(minutes, dtype=np.int64)
    return Series("asn:64500", "throughput", 60, times, values, "XX")


def test_throughput_at_a_tenth_for_half_an_hour_is_critical_throttling() -> None:
    minutes = 4 * 1440 + 120
    slow = range(4 * 1440, 4 * 1440 + 30)
    (event,) = detect([throughput(minutes, slow)])
    onset = dt.datetime.fromtimestamp(T0 + 60 * slow.start, UTC)
    assert (event.entity, event.kind, event.cause, event.level) == (
        "asn:64500",
        "throttling",
        "throttling",
        "critical",
    )
    assert event.start == onset
    assert event.detected == onset + dt.timedelta(minutes=10)
    assert event.end == onset + dt.timedelta(minutes=30)


def test_five_slow_minutes_are_a_throttling_warning_only() -> None:
    minutes = 4 * 1440 + 120
    (event,) = detect([throughput(minutes, range(4 * 1440, 4 * 1440 + 5))])
    assert (event.kind, event.level) == ("throttling", "warning")


def test_an_events_id_stays_while_it_grows() -> None:
    """Detection runs again as data arrives: the same event keeps its id, ongoing then ended."""
    whole = [network(64500, probes(2, 1, CUT_MINUTES)), network(64501, probes(2, 2, CUT_MINUTES))]

    def upto(minute: int) -> list[Series]:
        return [
            Series(s.entity, s.signal, s.step, s.times[:minute], s.values[:minute], s.country)
            for s in whole
        ]

    (early,) = detect(upto(CUT + 10))
    (late,) = detect(whole)
    assert early.end is None
    assert late.end is not None
    assert early.id == late.id
    assert early.start == late.start


def test_regions_falling_together_on_one_signal_each_make_a_national_event() -> None:
    """IODA's regional data often has one signal per region (active probing)."""
    series = [s for s in regional(["01", "02", "03"], {"01", "02"}) if s.signal != "bgp"]
    events = detect(series)
    assert [(e.entity, e.level) for e in events] == [("country:XX", "critical")]


def test_one_regions_single_signal_is_a_regional_warning() -> None:
    series = [s for s in regional(["01", "02", "03"], {"01"}) if s.signal != "bgp"]
    assert [(e.entity, e.level) for e in detect(series)] == [("region:XX-01", "warning")]


def test_one_minute_of_local_checks_is_not_measuring_through_the_gap() -> None:
    series = [network(64500, probes(2, 1, CUT_MINUTES)), network(64501, probes(2, 2, CUT_MINUTES))]
    one = checks([64500, 64501], range(CUT + 60, CUT + 61))  # 1 minute of 120, each network
    (event,) = detect(series, local=one)
    assert (event.kind, event.cause) == ("outage", "unknown")
    # a check every 5 minutes through the gap is (20 % of its minutes)
    every_five = checks([64500, 64501], range(CUT, CUT + 120, 5))
    (event,) = detect(series, local=every_five)
    assert (event.kind, event.cause) == ("shutdown", "network_cut")


def test_latency_rising_tenfold_is_throttling_and_falling_is_nothing() -> None:
    minutes = 4 * 1440 + 120
    slow = range(4 * 1440, 4 * 1440 + 30)
    times = T0 + 60 * np.arange(minutes, dtype=np.int64)
    values = 40 * (1 + np.random.default_rng(6).normal(0, 0.02, minutes))
    rising, falling = values.copy(), values.copy()
    rising[slow.start : slow.stop] *= 10
    falling[slow.start : slow.stop] /= 10
    (event,) = detect([Series("asn:64500", "latency", 60, times, rising, "XX")])
    assert (event.kind, event.level) == ("throttling", "critical")
    assert event.start == dt.datetime.fromtimestamp(T0 + 60 * slow.start, UTC)
    assert detect([Series("asn:64500", "latency", 60, times, falling, "XX")]) == []


def test_a_step_that_does_not_divide_a_day_is_still_tested() -> None:
    step = 420  # 7 minutes
    bins = 5 * 86400 // step
    times = T0 + step * np.arange(bins + 40, dtype=np.int64)
    values = np.full(len(times), 100.0)
    values[bins : bins + 20] = 3.0
    (event,) = detect([Series("country:XX", "active_probing", step, times, values)])
    assert event.start == dt.datetime.fromtimestamp(int(times[bins]), UTC)
