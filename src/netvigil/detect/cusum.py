"""A two-sided CUSUM over an hourly blocking score: when blocking starts, and when it ends.

The method is OONI's event detector's (ooni/data oonipipeline analysis/detector.py, after
Basseville & Nikiforov 1993 §2.2.5; reference/shutdowns.md §4), which is the anchor to match:

- the input is one value per hour that has measurements: the median of the measurements'
  blocking score for one layer (0 = accessible, 1 = blocked);
- two means: µ0 = 0 (not blocked) and µ1 = 0.7 (blocked), so each hour moves the upward
  statistic by `x − (µ0 + µ1) / 2` and the downward one by the opposite, floored at 0;
- the threshold is h = edd · (µ1 − µ0) / 2 = 20 · 0.7 / 2 = 7 (an expected detection delay
  of 20 hours for a full change);
- a state, unknown until the first alarm: in `ok` only the upward statistic can alarm, in
  `blocked` only the downward one;
- after more than 24 hours without a measurement both statistics decay, halving every 48
  hours of silence: old evidence should not decide about a network nobody measured for days.

The change time of an alarm is the last hour its statistic was zero before it crossed the
threshold (the classic CUSUM estimate of where the change began), so an event's start and end
name when the blocking changed, not when we became sure of it. Pure: hours in, events out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Literal

import msgspec

MU0 = 0.0  # OONI: the mean of an accessible hour
MU1 = 0.7  # OONI: the mean of a blocked hour
EDD = 20.0  # OONI: expected detection delay, in hours of full change
JUMP = MU1 - MU0  # the change the detector is tuned for
THRESHOLD = EDD * JUMP / 2  # h = 7
SILENCE = dt.timedelta(hours=24)  # beyond this gap the statistics decay...
HALF_LIFE = dt.timedelta(hours=48)  # ...halving every 48 hours of it

State = Literal["unknown", "ok", "blocked"]


class Hour(msgspec.Struct, frozen=True, kw_only=True):
    """One hour that had measurements: its score and the measurements that made it."""

    start: dt.datetime
    value: float  # the median score of the hour's measurements, 0..1
    uids: tuple[str, ...] = ()


class Change(msgspec.Struct, frozen=True, kw_only=True):
    """A blocking period: `end` None while it is still going on.

    `statistic` is the upward CUSUM when the start was detected; `detected` when each side
    was; the witnesses are the measurements of the hours between each change and its alarm
    (blocked side) and of the hours just before the start (accessible side).
    """

    start: dt.datetime
    started_detected: dt.datetime
    end: dt.datetime | None
    ended_detected: dt.datetime | None
    statistic: float
    before: tuple[str, ...]
    during: tuple[str, ...]
    after: tuple[str, ...]


class _Side:
    """One of the two statistics, with the hour it last was zero and the hours since."""

    def __init__(self) -> None:
        self.value = 0.0
        self.since: list[Hour] = []

    def update(self, hour: Hour, value: float) -> None:
        self.value = value
        self.since = [] if value == 0.0 else [*self.since, hour]

    def decay(self, factor: float) -> None:
        self.value *= factor

    def reset(self) -> None:
        self.value, self.since = 0.0, []


def changes(hours: Iterable[Hour], *, threshold: float = THRESHOLD) -> list[Change]:
    """The blocking periods in `hours` (sorted by start; one value per hour)."""
    up, down = _Side(), _Side()
    state: State = "unknown"
    found: list[Change] = []
    previous: Hour | None = None
    recent: list[Hour] = []  # the accessible hours before a possible start
    for hour in hours:
        if previous is not None and hour.start - previous.start > SILENCE:
            factor = 0.5 ** ((hour.start - previous.start) / HALF_LIFE)
            up.decay(factor)
            down.decay(factor)
        previous = hour
        # Basseville's innovations, in this order of operations (so ties with the threshold
        # fall as OONI's do): above µ0 less half the jump, below µ1 less half the jump.
        up.update(hour, max(0.0, up.value + (hour.value - MU0) - JUMP / 2))
        down.update(hour, max(0.0, down.value - (hour.value - MU1) - JUMP / 2))
        if state != "blocked" and up.value > threshold:
            start = up.since[0]
            found.append(
                Change(
                    start=start.start,
                    started_detected=hour.start,
                    end=None,
                    ended_detected=None,
                    statistic=round(up.value, 6),
                    before=_accessible_before(recent, start.start),
                    during=_uids(up.since),
                    after=(),
                )
            )
            state = "blocked"
            up.reset()
            down.reset()
        elif state != "ok" and down.value > threshold:
            if state == "blocked":
                back = down.since[0]
                found[-1] = msgspec.structs.replace(
                    found[-1], end=back.start, ended_detected=hour.start, after=_uids(down.since)
                )
            state = "ok"
            up.reset()
            down.reset()
        recent = [*recent[-23:], hour]
    return found


def _accessible_before(recent: Sequence[Hour], start: dt.datetime) -> tuple[str, ...]:
    """The witnesses of the accessible side: the latest accessible hours before `start`."""
    accessible = [h for h in recent if h.start < start and h.value < MU0 + JUMP / 2]
    return tuple(reversed(_uids(reversed(accessible))))


def _uids(hours: Iterable[Hour], most: int = 50) -> tuple[str, ...]:
    """The witnesses of some hours, at most `most` of them (the first ones)."""
    out: list[str] = []
    for hour in hours:
        out.extend(hour.uids[: most - len(out)])
        if len(out) >= most:
            break
    return tuple(out)


def hourly(points: Sequence[tuple[dt.datetime, float, str]]) -> list[Hour]:
    """(time, score, uid) observations as hours: the median score of each hour that has any."""
    by_hour: dict[dt.datetime, list[tuple[float, str]]] = {}
    for when, score, uid in points:
        key = when.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
        by_hour.setdefault(key, []).append((score, uid))
    hours = []
    for start in sorted(by_hour):
        scores = sorted(score for score, _ in by_hour[start])
        middle = len(scores) // 2
        median = scores[middle] if len(scores) % 2 else (scores[middle - 1] + scores[middle]) / 2
        hours.append(Hour(start=start, value=median, uids=tuple(u for _, u in by_hour[start])))
    return hours
