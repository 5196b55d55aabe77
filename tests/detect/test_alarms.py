"""Alarms: the CUSUMs, their change times and ends, computed by hand."""

from __future__ import annotations

import math

import numpy as np

from netvigil.detect.alarms import H_COUNT, H_LEVEL, K, Q, alarms
from netvigil.detect.model import Series

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC


def heartbeats(values: list[float]) -> Series:
    array = np.array(values, dtype=float)
    times = T0 + 60 * np.arange(len(array), dtype=np.int64)
    return Series("asn:64500", "heartbeats", 60, times, array, "XX")


def test_three_silent_probes_cross_in_the_third_minute() -> None:
    # 3 heartbeats a minute: each silent minute adds (1 − Q)·3 = 2.7; 2.7·3 = 8.1 > ln 1000
    found, expected = alarms(heartbeats([3.0] * 60 + [0.0] * 10 + [3.0] * 20))
    assert [(a.start, a.detected, a.end) for a in found] == [(60, 62, 70)]
    assert expected[61] == 3.0
    assert math.isclose(found[0].statistic, 3 * (1 - Q) * 3)
    assert found[0].threshold == H_COUNT
    assert found[0].critical


def test_one_probe_less_is_no_alarm() -> None:
    # 2 of 3: 2·ln(0.1) + 2.7 = −1.9 per minute, the statistic stays at zero
    assert alarms(heartbeats([3.0] * 60 + [2.0] * 600))[0] == []


def test_a_gap_is_no_evidence() -> None:
    found, _ = alarms(heartbeats([3.0] * 60 + [math.nan] * 30 + [3.0] * 30))
    assert found == []


def test_an_outage_still_going_at_the_end_has_no_end() -> None:
    found, _ = alarms(heartbeats([3.0] * 60 + [0.0] * 30))
    assert [(a.start, a.detected, a.end) for a in found] == [(60, 62, None)]


def test_a_crossing_in_the_last_bin_is_an_alarm_without_an_end() -> None:
    # The series ends in the minute the statistic crosses (the lab's detector, every
    # second, saw this): nothing after it to recover in, so no end yet, and no error.
    found, _ = alarms(heartbeats([3.0] * 60 + [0.0] * 3))
    assert [(a.start, a.detected, a.end) for a in found] == [(60, 62, None)]


def level(values: np.ndarray, step: int = 300) -> Series:
    times = T0 + step * np.arange(len(values), dtype=np.int64)
    return Series("country:XX", "bgp", step, times, values.astype(float))


def test_a_fall_to_a_tenth_crosses_in_the_second_bin() -> None:
    # four days at 100 (a seasonal past), then 10: each bin adds −ln 0.1 − K = 1.96 > H/2
    days = 4 * 288
    values = np.concatenate([np.full(days, 100.0), np.full(12, 10.0), np.full(24, 100.0)])
    found, _ = alarms(level(values))
    assert [(a.start, a.detected, a.end) for a in found] == [(days, days + 1, days + 12)]
    assert math.isclose(found[0].statistic, 2 * (-math.log(0.1) - K))
    assert found[0].threshold == H_LEVEL
    assert found[0].ratio == 0.1


def test_a_benign_step_of_twenty_percent_never_alarms() -> None:
    values = np.concatenate([np.full(4 * 288, 100.0), np.full(3 * 288, 80.0)])
    assert alarms(level(values))[0] == []


def test_scale_free_a_tenth_of_the_values_gives_the_same_alarms() -> None:
    days = 4 * 288
    values = np.concatenate([np.full(days, 100.0), np.full(40, 30.0), np.full(50, 100.0)])
    big = [(a.start, a.detected, a.end, a.ratio) for a in alarms(level(values))[0]]
    small = [(a.start, a.detected, a.end, a.ratio) for a in alarms(level(values / 10))[0]]
    assert big == small
    assert len(big) == 1


def test_a_recurring_cut_is_not_learnt_as_normal() -> None:
    # hourly, 6 h cut every night for 20 nights after a week of normal nights: without
    # inpainting the seasonal median of the night slots would be 0 after four nights
    one_day = np.full(24, 50.0)
    cut_day = one_day.copy()
    cut_day[1:7] = 0.0
    values = np.concatenate([np.tile(one_day, 7), np.tile(cut_day, 20)])
    times = T0 + 3600 * np.arange(len(values), dtype=np.int64)
    found, _ = alarms(Series("country:XX", "google", 3600, times, values))
    starts = [a.start for a in found]
    assert starts == [(7 + night) * 24 + 1 for night in range(20)]
    assert all(a.end == a.start + 6 for a in found)
