"""The seasonal baseline: the same slot over past days, robust, steady signals only recent."""

from __future__ import annotations

import numpy as np

from netvigil.detect.baseline import baseline, profile, recent, seasonal

HOUR = 3600


def daily(days: int, night: float, day: float) -> np.ndarray:
    """Hourly values: `night` from 00 to 06, `day` otherwise."""
    one = np.array([night] * 6 + [day] * 18)
    return np.tile(one, days)


def test_the_seasonal_median_follows_the_slot_of_the_day() -> None:
    values = daily(8, night=10.0, day=50.0)
    expected = seasonal(values, HOUR)
    # day 8, 03:00: the same slot ± 1 on the 7 days before are all night values
    assert expected[7 * 24 + 3] == 10.0
    assert expected[7 * 24 + 12] == 50.0
    # the first day has no past
    assert np.isnan(expected[:24]).all()


def test_one_bad_day_does_not_move_the_median() -> None:
    values = daily(8, night=10.0, day=50.0)
    values[3 * 24 : 4 * 24] = 0.0  # an outage on day 4, not inpainted
    assert seasonal(values, HOUR)[7 * 24 + 12] == 50.0


def test_three_values_are_needed() -> None:
    values = np.full(48, np.nan)
    values[24 + 11 : 24 + 13] = 5.0  # only two values near the slot of 12:00 the day before
    assert np.isnan(seasonal(values, HOUR)[48 - 12])


def test_recent_is_the_median_of_the_last_twelve_bins_at_least() -> None:
    values = np.arange(30, dtype=float)
    # at bin 20 an hourly series looks at bins 8..19: median 13.5
    assert recent(values, HOUR)[20] == 13.5
    # a 1-min series looks at the last hour: bins 0..59 before bin 60
    minutes = np.arange(61, dtype=float)
    assert recent(minutes, 60)[60] == 29.5


def test_only_steady_signals_use_the_recent_median() -> None:
    values = np.full(40, 4.0)
    # a 1-min series: the recent median needs 30 of its 60 bins
    assert baseline(values, values, 60, steady=True)[30] == 4.0
    assert np.isnan(baseline(values, values, 60, steady=True)[29])
    assert np.isnan(baseline(values, values, 60, steady=False)[30])


def test_the_profile_never_looks_inside_the_outage() -> None:
    values = daily(10, night=10.0, day=50.0)
    start = 8 * 24 + 2  # an outage from day 9, 02:00
    values[start:] = 0.0
    ahead = profile(values, HOUR, start)
    assert ahead[0] == 10.0  # 02:00: night
    assert ahead[10] == 50.0  # 12:00: day
    assert ahead[24 + 10] == 50.0  # the next day too, from the days before the outage


def test_three_days_are_needed_not_three_values() -> None:
    values = np.full(24 * 3, np.nan)
    values[24 + 11 : 24 + 14] = 5.0  # three values around 12:00, all on one day
    assert np.isnan(seasonal(values, HOUR)[48 + 12])
    values[11:14] = 5.0  # and on another: two days
    assert np.isnan(seasonal(values, HOUR)[48 + 12])
    days = np.full(24 * 4, 5.0)  # three whole days before the fourth
    assert seasonal(days, HOUR)[72 + 12] == 5.0
