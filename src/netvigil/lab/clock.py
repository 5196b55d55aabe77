"""The lab's clock: every part of one lab run reads the same sped-up time.

Heartbeats are counted per server minute and a baseline needs half an hour of them, so a lab
run that took real time would take hours. The observatory (its `now`) and the probe daemons
(their timestamps) read `epoch + (t - epoch) * speed` instead, t the real Unix time: one
formula, so processes started at different moments agree to the millisecond, and a local
check falls in the server minute it was recorded in (which turns an outage into a shutdown,
detect/fusion.py). Only timestamps follow it: sleeps, deadlines and schedules stay real,
as they are the network's and the kernel's, which the lab does not speed up.
"""

from __future__ import annotations

import datetime as dt
import math
import time

import msgspec

__all__ = ["LabClock", "LabClockError"]


class LabClockError(ValueError):
    """A clock that cannot be used (one line)."""


class LabClock(msgspec.Struct, frozen=True, kw_only=True):
    epoch: float  # Unix seconds at which lab time and real time agree
    speed: float  # lab seconds per real second

    def __post_init__(self) -> None:
        if not (math.isfinite(self.epoch) and self.epoch >= 0):
            raise LabClockError(f"--clock-epoch: expected Unix seconds, got {self.epoch:g}")
        if not (math.isfinite(self.speed) and 1 <= self.speed <= 1000):
            raise LabClockError(f"--clock-speed: expected 1 to 1000, got {self.speed:g}")

    def seconds(self) -> float:
        """Lab time, in Unix seconds."""
        return self.epoch + (time.time() - self.epoch) * self.speed

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.seconds(), dt.UTC)

    def real(self, lab: dt.timedelta) -> float:
        """Real seconds that pass while `lab` passes on this clock."""
        return lab.total_seconds() / self.speed
