"""A clean-room IODA-style baseline: moving median, published ratios, inpainting.

Written from IODA's published method only (reference/shutdowns.md §1.2: the help page's
"Detection Criteria" and the description of Watchtower's MovingStat filter); IODA's code
carries a non-commercial licence and was not read. Per (entity, signal):

- prediction = the median of the (inpainted) history of the last `history` seconds, once
  `warmup` seconds of the series have passed; predictions below `minprediction` are muted;
- ratio = value / prediction; warning below `warning`, critical below `critical`;
- inpainting: a ratio outside [0.8, 2] pushes the prediction into the history, not the
  value, for up to `maxduration` (7 days) of consecutive such points; after that the values
  are pushed, and become the new normal once they fill half the history;
- consecutive non-normal points form an event (a gap, NaN, neither extends nor breaks it);
  overlapping events of one entity from different signals merge (IODA's events service).

The median is the lower median (the middle value, the lower of the two middle ones for an
even count), so that every prediction is one of the series' values: that lets the moving
median run over counts of value codes in numpy (`moving.py`) instead of a Python loop.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import msgspec
import numpy as np
import numpy.typing as npt

from netvigil.detect.model import Event, Fired, Level, Series, event_id
from netvigil.detect.moving import inpainted_median

Floats = npt.NDArray[np.float64]
DAY = 86400


class Params(msgspec.Struct, frozen=True, kw_only=True):
    history: int  # seconds of history under the median
    warning: float  # ratio below which a point is a warning
    critical: float
    minprediction: float
    warmup: int = 3600  # sentry-sample.yaml
    maxduration: int = 7 * DAY
    inpaint_low: float = 0.8
    inpaint_high: float = 2.0


# IODA's published rows (help page), with sentry-sample.yaml's minprediction of 20: a
# series predicted below 20 is muted, IODA's guard against tiny, noisy series. Heartbeats
# count vantage points heard each round, as active probing counts /24s that answered a
# round: its row. Measurement counts are sparse counts of sources, as the telescope's
# unique source IPs are: its row. (With minprediction 20, heartbeats of a network with fewer
# than 20 probes are muted, as IODA mutes them: it sums 20 probers before it predicts.)
PARAMS = {
    "bgp": Params(history=DAY, warning=0.99, critical=0.5, minprediction=20),
    "active_probing": Params(history=7 * DAY, warning=0.8, critical=0.5, minprediction=20),
    "telescope": Params(history=7 * DAY, warning=0.25, critical=0.1, minprediction=20),
    "heartbeats": Params(history=7 * DAY, warning=0.8, critical=0.5, minprediction=20),
    "measurements": Params(history=7 * DAY, warning=0.25, critical=0.1, minprediction=20),
}
# signal names as detect/ioda_signals.py gives IODA's datasources (ping-slash24, merit-nt)


def ratios(series: Series, params: Params) -> tuple[Floats, Floats]:
    """(prediction, ratio) per point; NaN where muted, warming up or without a value."""
    steps = max(1, params.history // series.step)
    prediction = inpainted_median(
        series.values,
        steps,
        params.inpaint_low,
        params.inpaint_high,
        params.maxduration // series.step,
    )
    warm = series.times >= series.times[0] + params.warmup if len(series.times) else prediction > 0
    prediction = np.where(warm & (prediction >= params.minprediction), prediction, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return prediction, series.values / prediction


def _time(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(seconds), dt.UTC)


def series_events(
    series: Series, params: Params, now: int | None = None, *, warnings: bool = True
) -> list[Event]:
    """The events of one series: runs of non-normal points (with a critical one unless
    `warnings`: a replay scoring critical alerts needs no warning-only events)."""
    prediction, ratio = ratios(series, params)
    known = ~np.isnan(ratio)
    level = np.where(ratio < params.critical, 2, np.where(ratio < params.warning, 1, 0))
    times, step = series.times[known], series.step
    level, ratio, prediction = level[known], ratio[known], prediction[known]
    values = series.values[known]
    bad = np.flatnonzero(level > 0)
    if not len(bad):
        return []
    breaks = np.flatnonzero(np.diff(bad) > 1) + 1  # a normal point between two runs
    end_of_data = now if now is not None else int(series.times[-1]) + step
    events = []
    lowest = np.minimum.reduceat(ratio[bad], np.r_[0, breaks])
    for run, low in zip(np.split(bad, breaks), lowest, strict=True):
        critical = run[level[run] == 2]
        if not warnings and not len(critical):
            continue
        first = int(critical[0]) if len(critical) else int(run[0])
        start = int(times[run[0]])
        last_end = int(times[run[-1]]) + step
        ongoing = run[-1] == len(times) - 1 and last_end >= end_of_data
        fired = Fired(
            entity=series.entity,
            signal=series.signal,
            at=_time(int(times[first]) + step),
            baseline=float(prediction[first]),
            value=float(values[first]),
            ratio=float(ratio[first]),
            statistic=float(ratio[first]),
            threshold=params.critical if len(critical) else params.warning,
        )
        lvl: Level = "critical" if len(critical) else "warning"
        events.append(
            Event(
                id=event_id(series.entity, "outage", _time(start)),
                entity=series.entity,
                kind="outage",
                level=lvl,
                start=_time(start),
                end=None if ongoing else _time(last_end),
                detected=fired.at,  # the end of the first critical bin: when it is known
                confidence=min(1.0, max(0.0, 1 - float(low))),
                cause="unknown",
                summary=f"{series.signal} of {series.entity} fell to "
                f"{float(low):.0%} of its moving median",
                signals=(fired,),
            )
        )
    return events


def merge(events: Sequence[Event]) -> list[Event]:
    """Overlapping events of one entity become one: the worst level, the first detection."""
    merged: list[Event] = []
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    for event in sorted(events, key=lambda e: (e.entity, e.start)):
        last = merged[-1] if merged else None
        if last is not None and last.entity == event.entity and event.start < (last.end or far):
            critical = [e for e in (last, event) if e.level == "critical"]
            merged[-1] = msgspec.structs.replace(
                last,
                level="critical" if critical else "warning",
                end=None
                if None in (last.end, event.end)
                else max(last.end or far, event.end or far),
                detected=min(e.detected for e in critical or (last, event)),
                confidence=max(last.confidence, event.confidence),
                signals=(*last.signals, *event.signals),
            )
        else:
            merged.append(event)
    return merged


def detect(
    series: Sequence[Series], *, now: dt.datetime | None = None, warnings: bool = True
) -> list[Event]:
    """IODA-style events over every series of a known signal, merged per entity."""
    until = int(now.timestamp()) if now is not None else None
    found = []
    for one in series:
        params = PARAMS.get(one.signal)
        if params is not None and len(one.times):
            found.extend(series_events(one, params, until, warnings=warnings))
    return merge(found)
