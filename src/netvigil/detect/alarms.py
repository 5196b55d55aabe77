"""Alarms on one series: when it fell below its baseline, when that was certain, when it ended.

A change test suited to the signal (reference/shutdowns.md §5, step 2), both one-sided
CUSUMs (Page 1954; the same family as OONI's blocking detector) over the baseline of
baseline.py:

- **levels** (visible /24s, up /24s, telescope sources, traffic indices, throughput): each
  bin adds `−ln(value / baseline) − K`, K = ln 2 / 2, the half-way point of a fall to half
  the baseline. A log-ratio is scale-free, so a 0–10 index and a 0–100 index behave alike; a
  benign step of −20 % (ln 0.8 = −0.22 < K) never accumulates; a fall to a tenth adds 1.96 a
  bin and crosses H = 2 in the second bin, to 40 % in the fourth. Ratios below 1 % count as
  1 %, so one empty bin cannot outweigh the rest. Latency is judged by baseline / value: its
  rise is the trouble;
- **counts** (heartbeats, measurements): the log-likelihood ratio of "the rate fell to
  Q = 10 % of the baseline" against "it did not", negative binomial with the over-dispersion
  the series has shown so far (measurements come in bursts; a Poisson test on them alarms on
  every quiet hour), Poisson for heartbeats: `x·ln Q + (1 − Q)·λ`. Its threshold
  ln(1000) = 6.9 is a false alarm odds of 1 in 1,000 per alarm (Wald); three probes'
  heartbeats (λ = 3/min) cross it in the third silent minute, four or more in the second
  (reference/shutdowns.md §5: "time to significance ≈ ln(1/α)/λ"). Two probes of three
  heard (x = 2 of λ = 3) pull the statistic down by 1.9 a minute.

The change time is the bin after the statistic's last zero before it crossed; an alarm ends
at the first of RECOVERY consecutive bins back at half the baseline or more. Bins without
data add nothing (a gap is no evidence).
"""

from __future__ import annotations

import math

import msgspec
import numpy as np
import numpy.typing as npt

from netvigil.detect.baseline import DAY, DAYS, Floats, baseline, profile
from netvigil.detect.model import STEADY_SIGNALS, Series

K = math.log(2) / 2
H_LEVEL = 2.0
Q = 0.1
H_COUNT = math.log(1000)
RATIO_FLOOR = 0.01
RECOVERED = 0.5  # a bin at half its baseline or more is a recovered bin...
RECOVERY = 300  # ...and this many seconds of them in a row end the alarm (at least 1 bin)
CRITICAL = 0.5  # an alarm whose median ratio is at most this is critical, else a warning
RISING = frozenset({"latency"})  # signals whose rise, not fall, is the trouble
SHALLOW_ACCEPTED = 7 * 86_400  # a shallow fall lasting a week is the new normal (IODA)


class Alarm(msgspec.Struct, frozen=True, kw_only=True):
    """One stretch of one series below its baseline. Indices are the series' bins."""

    entity: str
    signal: str
    country: str | None
    region: str | None
    step: int
    start: int  # the estimated first bin of the change
    detected: int  # the bin in which the statistic crossed the threshold
    end: int | None  # the first recovered bin; None: still below at the end of the data
    statistic: float  # at the crossing
    threshold: float
    baseline: float  # at the crossing
    value: float  # at the crossing
    ratio: float  # the median ratio from the start to the end (or the last bin)
    silent: float  # the median of baseline − value over the alarm (counts: what went missing)

    @property
    def critical(self) -> bool:
        return self.ratio <= CRITICAL


def _dispersion(values: Floats, expected: Floats, clean: npt.NDArray[np.bool_]) -> Floats:
    """φ per bin, the over-dispersion of a count (variance = µ + φ·µ², negative binomial),
    by the method of moments over the clean bins before it: causal, and 0 (Poisson) for
    counts as regular as heartbeats."""
    usable = clean & ~np.isnan(values) & ~np.isnan(expected)
    residual = np.where(usable, (values - expected) ** 2, 0.0)
    mean = np.where(usable, expected, 0.0)

    def before(column: Floats) -> Floats:
        total = np.cumsum(column)
        return np.concatenate([[0.0], total[:-1]])

    squares = before(mean * mean)
    phi = (before(residual) - before(mean)) / np.maximum(squares, 1e-12)
    return np.where(squares > 0, np.clip(phi, 0.0, None), 0.0)


def _contributions(series: Series, expected: Floats, clean: npt.NDArray[np.bool_]) -> Floats:
    values = series.values
    known = ~np.isnan(values) & ~np.isnan(expected) & (expected > 0)
    out = np.zeros(len(values))
    if series.counts:
        # the log-likelihood ratio of mean Q·µ against µ, negative binomial of size 1/φ
        # (Poisson as φ → 0: x·ln Q + (1 − Q)·µ)
        phi = (
            np.zeros(len(values))
            if series.signal in STEADY_SIGNALS
            else (_dispersion(values, expected, clean))
        )
        size = 1.0 / np.maximum(phi[known], 1e-12)
        mean, fallen = expected[known], Q * expected[known]
        shrink = np.log1p((mean - fallen) / (fallen + size))
        out[known] = values[known] * (math.log(Q) + shrink) + size * shrink
    else:
        ratio = np.maximum(_health(series, values[known], expected[known]), RATIO_FLOOR)
        out[known] = -np.log(ratio) - K
    return out


def _health(series: Series, values: Floats, expected: Floats) -> Floats:
    """value / baseline, or baseline / value for a signal that rises when things go wrong
    (latency): either way a fall of this ratio is the trouble looked for."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio: Floats = expected / values if series.signal in RISING else values / expected
    return ratio


def _first_crossing(steps: Floats, begin: int, threshold: float) -> tuple[int, int, float] | None:
    """Lindley's recursion S = max(0, S + c) from `begin`, vectorised: S_n = C_n − min(0,
    min C_k). Returns (change start, crossing, statistic) of the first crossing."""
    totals = np.cumsum(steps[begin:])
    floor = np.minimum.accumulate(np.minimum(totals, 0.0))
    statistic = totals - floor
    above = np.flatnonzero(statistic > threshold)
    if len(above) == 0:
        return None
    crossing = int(above[0])
    zeros = np.flatnonzero(statistic[:crossing] <= 0)
    start = int(zeros[-1]) + 1 if len(zeros) else 0
    return begin + start, begin + crossing, float(statistic[crossing])


def _recovery(ratio: Floats, after: int, needed: int) -> int | None:
    good = np.nan_to_num(ratio[after:], nan=0.0) >= RECOVERED
    if len(good) < needed:  # fewer bins than a recovery takes (none: it crossed in the last)
        return None
    if needed > 1:
        run = np.convolve(good.astype(np.int64), np.ones(needed, dtype=np.int64), "valid")
        hits = np.flatnonzero(run == needed)
    else:
        hits = np.flatnonzero(good)
    return after + int(hits[0]) if len(hits) else None


def _scan(series: Series) -> tuple[list[Alarm], Floats]:
    """Alarm after alarm, in time order. Once an alarm is raised the bins from its start are
    judged against what they would have been (`profile`, frozen at the start), and when it
    ends they are inpainted with that, so later baselines never learn the outage."""
    values = series.values
    steady = series.signal in STEADY_SIGNALS
    threshold = H_COUNT if series.counts else H_LEVEL
    needed = max(1, RECOVERY // series.step)
    lookback = (DAYS + 1) * DAY // series.step + 2
    seasonal_history, recent_history = values.copy(), values.copy()
    clean = np.ones(len(values), dtype=np.bool_)  # bins outside every alarm so far
    expected = baseline(seasonal_history, recent_history, series.step, steady=steady)
    alarms: list[Alarm] = []
    begin = 0
    while begin < len(values):
        found = _first_crossing(_contributions(series, expected, clean), begin, threshold)
        if found is None:
            break
        start, crossing, statistic = found
        reference = np.full(len(values), np.nan)
        reference[start:] = profile(seasonal_history, series.step, start)
        ratio = _health(series, values, reference)
        end = _recovery(ratio, crossing + 1, needed)
        stop = end if end is not None else len(values)
        inside = ratio[start:stop]
        median = float(np.nanmedian(inside)) if np.any(~np.isnan(inside)) else 0.0
        if median > CRITICAL and (stop - start) * series.step > SHALLOW_ACCEPTED:
            end = stop = start + SHALLOW_ACCEPTED // series.step
        missing = reference[start:stop] - values[start:stop]
        alarms.append(
            Alarm(
                entity=series.entity,
                signal=series.signal,
                country=series.country,
                region=series.region,
                step=series.step,
                start=start,
                detected=crossing,
                end=end,
                statistic=statistic,
                threshold=threshold,
                baseline=float(expected[crossing]),
                value=float(values[crossing]),
                ratio=median,
                silent=float(np.nanmedian(missing)) if np.any(~np.isnan(missing)) else 0.0,
            )
        )
        if end is None:
            break
        clean[start:end] = False
        seasonal_history[start:end] = reference[start:end]
        recent_history[crossing:end] = reference[crossing:end]
        low = max(0, end - lookback)
        expected[end:] = baseline(
            seasonal_history[low:], recent_history[low:], series.step, steady=steady
        )[end - low :]
        expected[start:end] = reference[start:end]
        begin = end
    return alarms, expected


def alarms(series: Series) -> tuple[list[Alarm], Floats]:
    """The series' alarms, and the baseline each bin was judged against."""
    return _scan(series)
