"""The expected value of a signal: a seasonal, robust baseline that does not learn outages.

For each bin the baseline is one of two medians (reference/shutdowns.md §5, step 1):

- **seasonal**: the median of the same slot of the day (± one slot) over the previous 7
  days, once 3 of those days have data. A median of up to 21 values ignores the odd bad
  day, and "the same slot" carries the daily cycle. Where the same slot of the week over
  the previous 4 weeks (two at least) is lower, that: a weekend (Friday in Iran) is one day
  in seven, which a daily median does not expect. On IODA's Iran export the telescope fell
  to half on Fridays, three warnings that went once the week was counted;
- **recent**, only for a steady signal (heartbeats: every probe, every minute, day and
  night) and only where there is no seasonal median yet: the median of the last hour, and
  of at least 12 bins (half of them with data), the present level while a series is young.
  A signal that follows people's days (traffic, measurements, even up /24s) gets no test
  before it has 3 days: its evening level would make every night look like an outage, and
  inpainting would then teach that mistake to the following nights.
  Twelve bins, because an outage must not become its own baseline before it is detected: a
  sparse count needs a few bins to cross its threshold, and a median is only moved once
  half its window has fallen.

A benign fall needs no special care: a probe gone for good leaves 2 of 3 heartbeats, whose
likelihood ratio points away from an outage, and a −20 % step of a level never accumulates
(alarms.py).

The baseline is computed over a *history*, not the raw values: the caller (alarms.py)
replaces the bins of a detected outage by their baseline before the next pass, IODA's
"inpainting" (CAIDA watchtower-sentry MovingStat, reference/shutdowns.md §1.2), so that
recurring exam or nightly shutdowns never become normal. Two histories are taken, because
time only runs forward: the seasonal one (lags of a day or more) may be inpainted from the
estimated start of an outage, the recent one only from when it was detected, since before
that moment nobody knew those bins were an outage. Pure numpy, no loops over bins.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

DAY = 86_400
DAYS = 7  # how far back the seasonal median looks
WEEKS = 4  # and the weekly one
MIN_DAYS = 3  # the fewest days with data before the seasonal median is trusted
RECENT = 3_600  # the recent median's span, in seconds
MIN_RECENT_BINS = 12

Floats = npt.NDArray[np.float64]


def _nanmedian_rows(stack: Floats, least: int) -> Floats:
    """The median of each column over its non-NaN values, NaN where fewer than `least`.
    (Sorting puts NaN last, so the k values of a column are its first k: np.nanmedian does
    the same through masked arrays, forty times slower on these shapes.)"""
    ordered = np.sort(stack, axis=0)
    count = np.count_nonzero(~np.isnan(stack), axis=0)
    low = np.clip((count - 1) // 2, 0, None)[None, :]
    high = np.clip(count // 2, 0, len(stack) - 1)[None, :]
    middle = (
        np.take_along_axis(ordered, low, axis=0)[0] + np.take_along_axis(ordered, high, axis=0)[0]
    ) / 2
    return np.where(count >= max(1, least), middle, np.nan)


def _lagged(history: Floats, lag: int) -> Floats:
    """history shifted forward by `lag` bins: out[i] = history[i - lag], NaN before."""
    out = np.full(len(history), np.nan)
    if 0 < lag < len(history):
        out[lag:] = history[:-lag]
    return out


def _slot_median(history: Floats, period: int, step: int, count: int, periods: int) -> Floats:
    """The median of the same slot (± 1 bin) over the `count` previous periods, where at
    least `periods` of them have data; the slot `period` seconds back is the nearest bin, so
    a step that does not divide a day works too."""
    stack = np.vstack(
        [
            _lagged(history, round(back * period / step) + offset)
            for back in range(1, count + 1)
            for offset in (-1, 0, 1)
        ]
    )
    seen = ~np.isnan(stack).reshape(count, 3, -1)
    enough = np.count_nonzero(seen.any(axis=1), axis=0) >= periods
    return np.where(enough, _nanmedian_rows(stack, least=1), np.nan)


def seasonal(history: Floats, step: int) -> Floats:
    """The median of the same slot (± 1) over the previous DAYS days (MIN_DAYS of them with
    data), or of the same slot of the week over the previous WEEKS weeks (two at least)
    where that is lower; NaN without that history."""
    daily = _slot_median(history, DAY, step, DAYS, MIN_DAYS)
    # two weeks at least: one week's values would make one lost heartbeat the norm
    weekly = _slot_median(history, 7 * DAY, step, WEEKS, 2)
    lower: Floats = np.fmin(daily, weekly)
    return lower


def recent(history: Floats, step: int) -> Floats:
    """The median of the bins in the last hour and at least the last 12 (half of them with
    data), not counting the current one."""
    span = max(MIN_RECENT_BINS, RECENT // step)
    rows = [_lagged(history, lag) for lag in range(1, span + 1)]
    return _nanmedian_rows(np.vstack(rows), least=max(1, span // 2))


def baseline(
    seasonal_history: Floats, recent_history: Floats, step: int, *, steady: bool
) -> Floats:
    """The expected value of every bin: the seasonal median, else (steady signals only) the
    recent one, NaN when neither is known yet (no test then: a series says nothing before it
    has a past)."""
    by_season = seasonal(seasonal_history, step)
    if not steady:
        return by_season
    return np.where(np.isnan(by_season), recent(recent_history, step), by_season)


def profile(history: Floats, step: int, start: int) -> Floats:
    """What the bins from `start` on would have been without the outage that began there:
    for each, the median of its slot of the day (± 1) on the DAYS days before `start` (MIN_DAYS
    of them with data), as the baseline; the recent median just before `start` where that is
    not known. Nothing from `start` on is looked at."""
    level = recent(history[: start + 1], step)[-1] if start > 0 else np.nan
    ahead = np.arange(start, len(history))
    if start == 0 or len(ahead) == 0:
        return np.full(len(ahead), level)
    per_day = DAY / step
    first = np.ceil((ahead - start + 1) / per_day)  # days back to land before `start`
    rows, days = [], []
    for day in range(DAYS):
        found = np.full((3, len(ahead)), np.nan)
        for n, offset in enumerate((-1, 0, 1)):
            index = ahead - np.round((first + day) * per_day).astype(np.int64) + offset
            valid = (index >= 0) & (index < start)
            found[n, valid] = history[index[valid]]
        rows.append(found)
        days.append(~np.isnan(found).all(axis=0))
    enough = np.count_nonzero(np.vstack(days), axis=0) >= MIN_DAYS
    by_day = np.where(enough, _nanmedian_rows(np.vstack(rows), least=1), np.nan)
    chosen: Floats = np.where(np.isnan(by_day), level, by_day)
    return chosen
