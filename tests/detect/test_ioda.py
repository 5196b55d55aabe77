"""The clean-room IODA baseline on hand-made series, with hand-computed expectations."""

from __future__ import annotations

import datetime as dt

import numpy as np

from netvigil.detect import ioda
from netvigil.detect.model import Series
from netvigil.detect.moving import inpainted_median, reference

T0 = 1_600_000_000 // 86400 * 86400  # a midnight, 2020-09-13
DAY = 86400


def series(signal: str, step: int, levels: list[tuple[float, float]]) -> Series:
    """(days, value) pieces one after the other."""
    values = np.concatenate([np.full(int(days * DAY) // step, value) for days, value in levels])
    times = T0 + step * np.arange(len(values), dtype=np.int64)
    return Series("country:XA", signal, step, times, values.astype(np.float64))


def at(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def test_a_drop_to_40_percent_is_critical_at_its_first_bin() -> None:
    bgp = series("bgp", 300, [(2, 100.0), (1 / 24, 40.0), (1, 100.0)])
    events = ioda.detect([bgp])
    drop = T0 + 2 * DAY
    assert len(events) == 1
    event = events[0]
    assert (event.level, event.kind, event.cause) == ("critical", "outage", "unknown")
    assert (event.start, event.end) == (at(drop), at(drop + 3600))
    assert event.detected == at(drop + 300)  # the first bin's end: when its value is known
    assert event.signals[0].ratio == 0.4
    assert event.signals[0].baseline == 100.0


def test_active_probing_at_70_percent_is_a_warning() -> None:
    ap = series("active_probing", 600, [(2, 200.0), (2 / 24, 140.0), (1, 200.0)])
    events = ioda.detect([ap])
    assert [(e.level, e.start, e.end) for e in events] == [
        ("warning", at(T0 + 2 * DAY), at(T0 + 2 * DAY + 7200))
    ]
    assert ioda.detect([ap], warnings=False) == []  # no critical point: no event at all


def test_a_two_day_outage_does_not_lower_the_median() -> None:
    # BGP's median is over 24 h: without inpainting it would be 10 after 12 h of outage.
    bgp = series("bgp", 300, [(2, 100.0), (2, 10.0), (2, 100.0)])
    prediction, _ = ioda.ratios(bgp, ioda.PARAMS["bgp"])
    after_warmup = bgp.times >= T0 + 3600
    assert set(prediction[after_warmup]) == {100.0}
    events = ioda.detect([bgp])
    assert [(e.level, e.start, e.end) for e in events] == [
        ("critical", at(T0 + 2 * DAY), at(T0 + 4 * DAY))
    ]


def test_a_level_shift_becomes_normal_after_maxduration() -> None:
    # 7 days = 2016 bins of 5 min are inpainted; then the values (40) go in, and the lower
    # median of 288 bins is 40 once 144 of them are: 12 h later.
    bgp = series("bgp", 300, [(2, 100.0), (10, 40.0)])
    events = ioda.detect([bgp])
    shift = T0 + 2 * DAY
    assert [(e.level, e.start, e.end) for e in events] == [
        ("critical", at(shift), at(shift + 7 * DAY + 12 * 3600))
    ]


def test_warmup_mute_and_gaps() -> None:
    small = series("bgp", 300, [(2, 10.0), (1, 1.0)])  # predicted below minprediction 20
    assert ioda.detect([small]) == []
    early = series("bgp", 300, [(1 / 48, 100.0), (1 / 48, 10.0), (1, 100.0)])
    assert ioda.detect([early]) == []  # the drop falls within the first hour: warming up
    gappy = series("bgp", 300, [(2, 100.0), (1, 100.0)])
    gappy.values[600:612] = np.nan  # a collector down for an hour: no evidence of anything
    assert ioda.detect([gappy]) == []


def test_signals_of_one_entity_merge_into_one_event() -> None:
    bgp = series("bgp", 300, [(2, 100.0), (1 / 24, 30.0), (1, 100.0)])
    ap = series("active_probing", 600, [(2, 200.0), (2 / 24, 20.0), (1, 200.0)])
    events = ioda.detect([bgp, ap])
    assert len(events) == 1
    assert {f.signal for f in events[0].signals} == {"bgp", "active_probing"}
    drop = T0 + 2 * DAY
    assert (events[0].start, events[0].end, events[0].detected) == (
        at(drop),
        at(drop + 7200),
        at(drop + 300),
    )


def test_an_outage_at_the_end_of_the_data_is_ongoing() -> None:
    bgp = series("bgp", 300, [(2, 100.0), (1 / 24, 30.0)])
    (event,) = ioda.detect([bgp], now=at(T0 + 2 * DAY + 3600))
    assert event.end is None


def test_the_fast_median_is_the_point_by_point_one() -> None:
    rng = np.random.default_rng(7)
    for trial in range(40):
        n = int(rng.integers(50, 400))
        if trial % 2:
            values = rng.binomial(4, 0.97, n).astype(np.float64)
        else:
            values = rng.negative_binomial(5, 5 / 25, n).astype(np.float64)
        cut = int(rng.integers(0, n))
        values[cut : cut + int(rng.integers(1, n))] = 0.0
        values[rng.integers(0, n, 3)] = np.nan
        width, longest = int(rng.integers(5, 80)), int(rng.integers(3, 100))
        expected = reference(values, width, 0.8, 2.0, longest)
        for passes in (0, 1, 6):  # the loop alone, one pass then the loop, the passes
            got = inpainted_median(values, width, 0.8, 2.0, longest, passes=passes)
            assert np.array_equal(got, expected, equal_nan=True)
