"""The replay world's own properties, read from the labels and the generated series."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from netvigil.detect.model import Series
from netvigil.lab.outage_labels import DAY, HOUR, Label, Labels, country_code, read_labels
from netvigil.lab.outage_signals import NB_SIZE, Place, entity_series, heartbeats
from netvigil.lab.outages import (
    CONTROL_AT,
    KEEP_CLEAR,
    World,
    blackout,
    build,
    group,
    preset,
    probe_dies,
    regional_disaster,
    router_fails,
    worlds,
)
from tests.corpus import CORPUS

LABELS = CORPUS / "shutdowns" / "labels_unified.csv"
# labels_unified.csv line 355: IODA 772CB543, Myanmar, 2021-02-14 18:30 to 02-15 02:30 UTC
MM_START = int(dt.datetime(2021, 2, 14, 18, 30, tzinfo=dt.UTC).timestamp())
MM_END = int(dt.datetime(2021, 2, 15, 2, 30, tzinfo=dt.UTC).timestamp())


@pytest.fixture(scope="module")
def labels() -> Labels:
    return read_labels(LABELS, np.random.default_rng(1))


def one(world: World, where: str, signal: str) -> Series:
    (found,) = [s for s in world.series if s.entity == where and s.signal == signal]
    return found


def test_every_row_is_a_label_or_a_counted_reason(labels: Labels) -> None:
    assert len(labels.labels) + sum(labels.skipped.values()) == 3216
    assert labels.skipped["disco: probe cluster only"] == 298  # the file's probe-cluster-only rows
    assert labels.skipped["no start time"] == 10  # SOURCES.md: "about 10 begin times" blank
    assert country_code("Myanmar/Burma") == "MM"
    assert country_code("Iran (Islamic Republic of)") == "IR"
    assert country_code("European Union") is None


def test_a_label_is_injected_at_its_real_time(labels: Labels) -> None:
    (label,) = [lab for lab in labels.labels if lab.source_id == "772CB543"]
    assert (label.entity, label.start, label.end, label.deliberate) == (
        "country:MM",
        MM_START,
        MM_END,
        True,
    )
    world = build([label], np.random.default_rng(3))
    assert [(o.entity, o.start, o.end, o.kind) for o in world.truth] == [
        ("country:MM", MM_START, MM_END, "shutdown")
    ]
    beats = [s for s in world.series if s.signal == "heartbeats"]
    assert len(beats) >= 2 and all(s.country == "MM" for s in beats)
    for s in beats:
        during = (s.times >= MM_START) & (s.times < MM_END)
        assert set(s.values[during]) == {0.0}
        assert np.nanmin(s.values[(s.times >= MM_END) & (s.times < MM_END + HOUR)]) >= 0
        assert np.nanmean(s.values[s.times < MM_START - HOUR]) > 0.9
    # the probes kept measuring: a local check every 5 min of the 8 h, for each network
    assert len(world.local) == len(beats) * 8 * 12
    assert {c.upstream_down == c.measuring == c.gateway_up for c in world.local} == {True}


def test_the_same_seed_makes_the_same_world(labels: Labels) -> None:
    chosen = preset(list(labels.labels))[:12]
    first, again, other = (list(worlds(chosen, seed)) for seed in (5, 5, 6))
    pairs = [
        (a, b)
        for w, v in zip(first, again, strict=True)
        for a, b in zip(w.series, v.series, strict=True)
    ]
    assert all(np.array_equal(a.values, b.values, equal_nan=True) for a, b in pairs)
    differ = [
        not np.array_equal(a.values, b.values, equal_nan=True)
        for w, v in zip(first, other, strict=True)
        for a, b in zip(w.series, v.series, strict=True)
        if len(a.values) == len(b.values)
    ]
    assert any(differ)


def test_recurring_cuts_share_one_window(labels: Labels) -> None:
    windows = group(labels.labels)
    nightly = [w for w in windows if w[0].entity == "country:MM" and len(w) >= 10]
    assert nightly  # Myanmar's nightly cuts of 2021 in one world
    chosen = preset(list(labels.labels))
    assert 30 <= len(chosen) <= 60


def quiet(days: int, seed: int) -> list[Series]:
    place = Place(name="country:XA", level=2000.0, hit=1.0, phase=5 * HOUR)
    start = CONTROL_AT - CONTROL_AT % (7 * DAY)
    return entity_series(
        place, (), start, start + days * DAY, {}, [], np.random.default_rng(seed), shifts=False
    )


def test_seasonality_is_visible() -> None:
    bgp, ap, counts = quiet(28, 9)
    local = ap.times + 5 * HOUR
    hourly = [np.mean(ap.values[(local % DAY) // HOUR == h]) for h in range(24)]
    # amplitude 0.1: the peak hour is 1.1 of the mean and the trough 0.9 (sin over an hour
    # loses less than 0.2 % of it)
    assert max(hourly) / min(hourly) == pytest.approx(1.1 / 0.9, rel=0.01)
    local = counts.times + 5 * HOUR
    weekend = ((local // DAY + 3) % 7) >= 5
    assert counts.values[weekend].mean() / counts.values[~weekend].mean() == pytest.approx(
        0.8, abs=0.03
    )
    assert np.std(bgp.values) / np.mean(bgp.values) < 0.005  # BGP: flat, tiny noise


def test_counts_are_over_dispersed() -> None:
    counts = quiet(56, 4)[2]
    local = counts.times + 5 * HOUR
    slot = (local % DAY) // 600 + 1000 * (((local // DAY + 3) % 7) >= 5)
    ratios, means = [], []
    for key in np.unique(slot):  # same slot, same kind of day: the same expected count
        values = counts.values[slot == key]
        ratios.append(values.var(ddof=1) / values.mean())
        means.append(values.mean())
    # negative binomial: variance / mean = 1 + mean / size; Poisson would give 1
    expected = 1 + np.mean(means) / NB_SIZE
    assert np.mean(ratios) == pytest.approx(expected, rel=0.1)
    assert expected > 3


def test_gaps_are_nan_and_clear_of_outages(labels: Labels) -> None:
    place = Place(name="asn:64512", country="XA", probes=3, hit=1.0)
    beats = heartbeats(place, (), 0, DAY, (3600, 7200), np.random.default_rng(2))
    assert np.flatnonzero(np.isnan(beats.values)).tolist() == list(range(60, 120))
    gaps = 0
    for world in worlds(preset(list(labels.labels)), 11):
        for s in world.series:
            nan = s.times[np.isnan(s.values)]
            gaps += bool(len(nan))
            for o in world.truth:
                assert not np.any((nan >= o.start - KEEP_CLEAR) & (nan < o.end + KEEP_CLEAR))
    assert gaps > 0


def test_a_probe_dies() -> None:
    world = probe_dies(1)
    assert world.truth == () and world.local == ()
    beats = [s for s in world.series if s.signal == "heartbeats"]
    drops = [
        np.nanmean(s.values[s.times < CONTROL_AT]) - np.nanmean(s.values[s.times >= CONTROL_AT])
        for s in beats
    ]
    # one network lost one probe (0.98 heartbeats a minute), the others nothing
    assert sorted(round(d, 1) for d in drops) == [0.0, 1.0]
    dead = beats[int(np.argmax(drops))]
    after = dead.times >= CONTROL_AT
    assert np.nanmax(dead.values[after]) == np.nanmax(dead.values[~after]) - 1 >= 1


def test_a_router_fails() -> None:
    world = router_fails(1)
    assert [(o.entity, o.kind, o.end - o.start) for o in world.truth] == [
        ("asn:64520", "outage", 3 * HOUR)
    ]
    assert world.local == ()
    down = one(world, "asn:64520", "heartbeats")
    during = (down.times >= CONTROL_AT) & (down.times < CONTROL_AT + 3 * HOUR)
    assert set(down.values[during]) == {0.0}
    assert np.nanmean(one(world, "asn:64999", "heartbeats").values[during]) > 1.5
    country = one(world, "country:XB", "bgp")
    inside = (country.times >= CONTROL_AT) & (country.times < CONTROL_AT + 3 * HOUR)
    before = country.values[country.times < CONTROL_AT - HOUR][-12:]
    assert np.nanmin(country.values[inside]) > 0.6 * np.nanmean(before)  # a share at most 0.3


def test_a_blackout() -> None:
    world = blackout(1)
    assert [(o.entity, o.kind) for o in world.truth] == [("country:XC", "outage")]
    assert world.local == ()  # the devices went dark too
    for s in world.series:
        inside = (s.times >= CONTROL_AT) & (s.times + s.step <= CONTROL_AT + 4 * HOUR)
        before = np.nanmean(s.values[(s.times < CONTROL_AT - HOUR) & (s.times >= CONTROL_AT - DAY)])
        if s.signal == "heartbeats":
            assert set(s.values[inside]) == {0.0}
        elif s.signal == "bgp":
            assert np.nanmin(s.values[inside]) > 0.99 * before  # BGP barely moved
        else:
            assert np.nanmax(s.values[inside]) < 0.35 * before


def test_a_regional_disaster() -> None:
    world = regional_disaster(1)
    assert [o.entity for o in world.truth] == ["region:XD-North"]
    assert "country:XD" not in world.truth[0].affected
    region = one(world, "region:XD-North", "active_probing")
    inside = (region.times >= CONTROL_AT) & (region.times + 600 <= CONTROL_AT + 12 * HOUR)
    assert np.nanmax(region.values[inside]) < 0.25 * np.nanmedian(region.values)
    up = one(world, "asn:64999", "heartbeats")
    assert (
        np.nanmean(up.values[(up.times >= CONTROL_AT) & (up.times < CONTROL_AT + 12 * HOUR)]) > 1.5
    )


def test_labels_are_frozen_records() -> None:
    label = Label(
        source="s",
        source_id="i",
        entity="asn:1",
        country=None,
        start=0,
        end=1,
        deliberate=None,
        bgp=True,
        ap=True,
    )
    assert label.cause == "" and not label.mobile
