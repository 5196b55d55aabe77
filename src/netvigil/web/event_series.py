"""The series behind a detected event: what its chart draws, read as detection read them.

An event carries its firing (`Fired`: the value and the baseline when the alarm rose), not
its series; the chart reads the series back over the event and the history its baseline
looked at: the heartbeat store's (and the country's and region's, summed from their
networks, as the engine sums them), the measurement counts of the tables, and the series
from outside that the data folder keeps (`DataDir.series`: the demo's Monash pings).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from netvigil.detect.engine import wide_heartbeats
from netvigil.detect.model import Series
from netvigil.detect.series import SeriesError
from netvigil.detect.series import read_series as read_csv_series
from netvigil.observatory.detection import Heartbeats, measurement_series
from netvigil.observatory.eventstore import EventStore

HISTORY = dt.timedelta(days=29)  # the baseline's weekly median looks 4 weeks back (baseline.py)


class Sources(Protocol):
    """What the charts read of the Site (web/site.py)."""

    @property
    def tables(self) -> Path: ...

    @property
    def events(self) -> EventStore: ...

    @property
    def heartbeats(self) -> Heartbeats: ...

    @property
    def now(self) -> Callable[[], dt.datetime]: ...

    @property
    def outside(self) -> Path: ...


def read_series(
    site: Sources, wanted: set[tuple[str, str]], since: dt.datetime, until: dt.datetime
) -> list[Series]:
    """The (entity, signal) series wanted, as detection reads them (observatory/detection.py
    `gather`: the measurement counts of the tables, the heartbeat store's series)."""
    found = site.heartbeats.series(since, until)
    found += wide_heartbeats(found)  # a country's and a region's, summed from their networks
    if any(signal == "measurements" for _, signal in wanted):
        found += measurement_series(site.tables, since, until)
    found += outside_series(site.outside)
    return [s for s in found if (s.entity, s.signal) in wanted]


def outside_series(folder: Path) -> list[Series]:
    """The data folder's series from outside; a file that cannot be read is left out (its
    events' charts then say the series could not be read back)."""
    found: list[Series] = []
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else ():
        try:
            found += read_csv_series(path)
        except SeriesError:
            continue
    return found


def attributions(folder: Path) -> list[str]:
    """Who the series from outside come from: the first line of each series' `.source` file,
    written beside it by whoever put it there (the demo: Monash IP Observatory)."""
    found = []
    for path in sorted(folder.glob("*.source")) if folder.is_dir() else ():
        with path.open(encoding="utf-8", errors="replace") as handle:
            line = handle.readline(500).strip()
        if line:
            found.append(line)
    return found
