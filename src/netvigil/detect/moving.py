"""A moving lower median over an inpainted history, in numpy (IODA's MovingStat, §1.2).

The prediction at point i is the lower median of the history's points i-w .. i-1 that hold
a value. The history holds the series' value, except where the ratio value / prediction lay
outside [low, high]: there it holds the prediction (inpainting), for at most `longest`
points of a run of such ratios, after which the values go in again.

The history depends on earlier predictions, which a loop would follow point by point. Here
each pass computes every prediction from the current history at once and rebuilds the
history from them; the first point where the history changes is right after the pass (what
precedes it decides it), so the passes converge; in practice in a handful. `reference` is
the loop itself, which the tests hold the fast path to.
"""

from __future__ import annotations

import bisect

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
MAX_PASSES = 6  # then the loop takes over: noisy, much inpainted series converge slowly
MAX_CELLS = 8_000_000  # distinct values x points: the counting table's size


def _lower_medians(codes: Ints, distinct: int, width: int) -> Ints:
    """The code of the lower median of codes[i-width:i] (-1: none) for every i."""
    size = len(codes)
    onehot = np.zeros((distinct, size + 1), dtype=np.int32)
    held = codes >= 0
    onehot[codes[held], np.flatnonzero(held) + 1] = 1
    running = np.cumsum(onehot, axis=1)
    # the window [i - width, i) holds running[:, i] - running[:, max(i - width, 0)]
    ends = np.arange(size)
    window = running[:, ends] - running[:, np.maximum(ends - width, 0)]
    below = np.cumsum(window, axis=0)  # points with a code <= k
    count = below[-1]
    rank = (count - 1) // 2
    median = np.argmax(below > rank[None, :], axis=0)
    return np.where(count > 0, median, -1).astype(np.int64)


def _history(values: Floats, prediction: Floats, low: float, high: float, longest: int) -> Floats:
    """The history that these predictions make: the value, or the prediction when extreme."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = values / prediction
    extreme = (ratio < low) | (ratio > high)  # False where either is NaN
    known = ~np.isnan(values)
    history = values.copy()
    if not extreme.any():
        return history
    # the length of the run of extreme points (gaps skipped) up to and including each point
    index = np.flatnonzero(known)
    flags = extreme[index]
    starts = np.maximum.accumulate(np.where(~flags, np.arange(len(flags)), -1))
    run = np.arange(len(flags)) - starts
    paint = index[flags & (run <= longest)]
    history[paint] = prediction[paint]
    return history


def inpainted_median(
    values: Floats, width: int, low: float, high: float, longest: int, passes: int = MAX_PASSES
) -> Floats:
    """The prediction for every point (NaN without history): see the module's docstring."""
    known = ~np.isnan(values)
    distinct = np.unique(values[known])
    history = values
    prediction = np.full(len(values), np.nan)
    settled = 0  # history[:settled] and prediction[:settled] are final
    if len(distinct) * len(values) <= MAX_CELLS:
        for _ in range(passes):
            codes = np.full(len(values), -1, dtype=np.int64)
            held = ~np.isnan(history)
            codes[held] = np.searchsorted(distinct, history[held])
            median = _lower_medians(codes, len(distinct), width)
            prediction = np.where(median >= 0, distinct[np.maximum(median, 0)], np.nan)
            rebuilt = _history(values, prediction, low, high, longest)
            same = (rebuilt == history) | (np.isnan(rebuilt) & np.isnan(history))
            if same.all():
                return prediction
            # what precedes the first change decided it: all is final up to it, included
            settled = int(np.argmin(same)) + 1
            history = rebuilt
    return _loop(values, history, prediction, settled, (width, low, high, longest))


def _outside(value: float, prediction: float, low: float, high: float) -> bool:
    if prediction != prediction or prediction == 0:  # no prediction (NaN), or 0: x / 0
        return prediction == 0 and value > 0
    return not low <= value / prediction <= high


def _loop(
    values: Floats,
    history: Floats,
    prediction: Floats,
    settled: int,
    bounds: tuple[int, float, float, int],
) -> Floats:
    """Predictions point by point from `settled` on; before it history and prediction are
    final (the passes' part)."""
    width, low, high, longest = bounds
    history, prediction = history.copy(), prediction.copy()
    run = 0
    for i in range(settled):  # the run of extreme points the settled part ends with
        if values[i] == values[i]:
            extreme = _outside(float(values[i]), float(prediction[i]), low, high)
            run = run + 1 if extreme else 0
    past = history[max(0, settled - width) : settled]
    window = sorted(float(h) for h in past[~np.isnan(past)])
    for i in range(settled, len(values)):
        prediction[i] = window[(len(window) - 1) // 2] if window else np.nan
        value = float(values[i])
        if value == value:  # not NaN
            extreme = _outside(value, float(prediction[i]), low, high)
            run = run + 1 if extreme else 0
            history[i] = prediction[i] if extreme and run <= longest else value
            bisect.insort(window, float(history[i]))
        old = i - width
        if old >= 0 and history[old] == history[old]:
            del window[bisect.bisect_left(window, float(history[old]))]
    return prediction


def reference(values: Floats, width: int, low: float, high: float, longest: int) -> Floats:
    """The definition, point by point and slowly: what the tests hold the fast path to."""
    history = np.full(len(values), np.nan)
    prediction = np.full(len(values), np.nan)
    run = 0
    for i, value in enumerate(values):
        past = history[max(0, i - width) : i]
        past = np.sort(past[~np.isnan(past)])
        if len(past):
            prediction[i] = past[(len(past) - 1) // 2]
        if np.isnan(value):
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = value / prediction[i]
        extreme = bool(ratio < low or ratio > high)
        run = run + 1 if extreme else 0
        history[i] = prediction[i] if extreme and run <= longest else value
    return prediction
