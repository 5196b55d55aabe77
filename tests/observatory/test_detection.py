"""The detector's inputs, read from real Parquet tables written as the pipeline writes them,
and a round's events kept with each change handed on once."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from pathlib import Path

import numpy as np

from netvigil.datadir import DataDir
from netvigil.detect.blocking import Verdict
from netvigil.detect.model import LocalCheck, Series
from netvigil.observatory.detection import NO_HEARTBEATS, Detection, gather
from netvigil.observatory.eventstore import Change, EventStore
from netvigil.observatory.tables import compact, write_rows
from tests.observatory.events import CHANGE, blocking_rows, event, row, utc

NOW = utc("2026-01-18T13:30:00")  # the hour under way is 13:00
HOUR = 3600
H10 = int(utc("2026-01-18T10:00:00").timestamp())


ROWS = [
    row("a", "2026-01-18T10:05:00", "IR", 44244, "https://www.bbc.com/", "blocked", "tcp_reset"),
    row("b", "2026-01-18T10:40:00", "IR", 44244, "https://www.bbc.com/", "ok"),
    row("c", "2026-01-18T12:10:00", "IR", 44244, "https://x.org/", "insufficient"),
    row("d", "2026-01-18T11:30:00", "IR", 197207, None, "unanalysed"),
    row("e", "2026-01-18T10:20:00", "UG", 20294, "https://twitter.com/", "blocked", "tcp_timeout"),
    row("f", "2026-01-18T12:59:59", "UG", 20294, "https://twitter.com/", "down"),
    row("g", "2026-01-18T13:10:00", "UG", 20294, "https://twitter.com/", "ok"),  # hour under way
    row("h", "2025-12-13T13:00:00", "UG", 20294, "https://twitter.com/", "ok"),  # before the window
]


def tables(root: Path) -> Path:
    folder = DataDir(root=root).tables
    write_rows(folder, ROWS[:4])  # two batches, as the pipeline writes them, then compacted
    write_rows(folder, ROWS[4:])
    compact(folder)
    return folder


def table(series: list[Series]) -> dict[tuple[str, str | None], list[tuple[int, float]]]:
    return {
        (s.entity, s.country): [
            (int(t - H10) // HOUR, float(v)) for t, v in zip(s.times, s.values, strict=True)
        ]
        for s in series
    }


def test_verdicts_and_hourly_counts_come_from_the_tables(tmp_path: Path) -> None:
    inputs = gather(tables(tmp_path), NO_HEARTBEATS, NOW - dt.timedelta(days=35), NOW)
    # Analysed measurements of a URL only: not the insufficient one, not the dnscheck.
    assert [(v.uid, v.outcome, v.technique) for v in inputs.verdicts] == [
        ("a", "blocked", "tcp_reset"),
        ("e", "blocked", "tcp_timeout"),
        ("b", "ok", None),
        ("f", "down", None),
        ("g", "ok", None),
    ]
    assert inputs.verdicts[0] == Verdict(
        uid="a", time=utc("2026-01-18T10:05:00"), probe_cc="IR", probe_asn=44244,
        domain="www.bbc.com", outcome="blocked", technique="tcp_reset",
    )  # fmt: skip
    # Every measurement counts, from each entity's first hour to the last full hour (12:00).
    assert table(inputs.series) == {
        ("asn:44244", "IR"): [(0, 2.0), (1, 0.0), (2, 1.0)],
        ("asn:197207", "IR"): [(1, 1.0), (2, 0.0)],
        ("asn:20294", "UG"): [(0, 1.0), (1, 0.0), (2, 1.0)],
        ("country:IR", None): [(0, 2.0), (1, 1.0), (2, 1.0)],
        ("country:UG", None): [(0, 1.0), (1, 0.0), (2, 1.0)],
    }
    assert {s.signal for s in inputs.series} == {"measurements"} and inputs.local == []


class Heartbeats:
    """A heartbeat store as the detection reads one (its Protocol's two methods)."""

    def __init__(self) -> None:
        self.asked: list[tuple[dt.datetime, dt.datetime]] = []

    def series(self, since: dt.datetime, until: dt.datetime) -> list[Series]:
        self.asked.append((since, until))
        times = np.array([H10, H10 + 60], dtype=np.int64)
        return [
            Series(
                entity="asn:44244",
                signal="heartbeats",
                step=60,
                times=times,
                values=np.array([3.0, 1.0]),
                country="IR",
            )
        ]

    def local_checks(self, since: dt.datetime, until: dt.datetime) -> list[LocalCheck]:
        self.asked.append((since, until))
        check = LocalCheck(
            time=utc("2026-01-18T10:01:00"),
            country="IR",
            asn=44244,
            measuring=2,
            gateway_up=2,
            upstream_down=2,
        )
        return [check]


def test_heartbeats_join_the_inputs_over_the_same_window(tmp_path: Path) -> None:
    beats = Heartbeats()
    since = NOW - dt.timedelta(days=35)
    inputs = gather(tables(tmp_path), beats, since, NOW)
    assert beats.asked == [(since, NOW), (since, NOW)]
    assert [(s.entity, s.signal) for s in inputs.series][-1] == ("asn:44244", "heartbeats")
    assert [c.measuring for c in inputs.local] == [2]


def test_a_rounds_changes_reach_the_callback_once_with_their_countries(tmp_path: Path) -> None:
    folder = tables(tmp_path)
    told: list[Change] = []
    detection = Detection(
        folder, EventStore(tmp_path / "events.sqlite"), on_change=told.append, now=lambda: NOW
    )
    inputs = detection.gather(NOW)
    network = event("asn:197207", "outage", "2026-01-18T12:00:00")
    national = event("country:IR", "outage", "2026-01-18T12:00:00", level="warning")
    detection.keep([network, national], inputs, NOW)
    detection.keep([network, national], inputs, NOW + dt.timedelta(minutes=1))
    assert [(c.change, c.stored.event.id, c.stored.countries) for c in told] == [
        ("opened", network.id, ("IR",)),  # the network's country: its series'
        ("opened", national.id, ("IR",)),
    ]


def test_the_engine_finds_a_blocking_change_in_the_tables(tmp_path: Path) -> None:
    folder = DataDir(root=tmp_path).tables
    write_rows(folder, blocking_rows())
    compact(folder)
    now = CHANGE + dt.timedelta(hours=40, minutes=15)
    detection = Detection(folder, EventStore(tmp_path / "events.sqlite"), now=lambda: now)
    (change,) = detection.round()
    found = change.stored.event
    # OONI's CUSUM by hand (detect/cusum.py: one measurement an hour, +0.65 an hour blocked):
    # the upward statistic passes 7 in the 11th blocked hour, hour 34 (7.15), so the event
    # starts there (detected); its witnesses are the accessible hours 10-23 of the day
    # before and the blocked hours 24-34; confidence 1 - exp(-7.15 / 7) = 0.640.
    assert (change.change, found.entity, found.kind, found.country, found.target) == (
        "opened", "asn:20294", "blocking_change", "UG", "twitter.com by tcp_reset"
    )  # fmt: skip
    assert (found.start, found.end) == (CHANGE + dt.timedelta(hours=34), None)
    assert found.evidence == tuple(f"m{n:02d}" for n in range(10, 35))
    assert found.confidence == 0.64
    assert change.stored.countries == ("UG",)
    assert detection.round() == []  # the next round: the same event, no change


def test_the_worker_detects_in_its_own_process_and_hands_the_change_on(tmp_path: Path) -> None:
    folder = DataDir(root=tmp_path).tables
    write_rows(folder, blocking_rows())
    now = CHANGE + dt.timedelta(hours=40, minutes=15)
    told: list[Change] = []
    store = EventStore(tmp_path / "events.sqlite")
    detection = Detection(folder, store, on_change=told.append, now=lambda: now)

    async def running() -> None:
        work = asyncio.create_task(detection.run(interval=3600))
        try:
            async with asyncio.timeout(300):  # only keeps a broken run from hanging
                while not told:
                    await asyncio.sleep(0.01)
        finally:
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work

    asyncio.run(running())
    assert [(c.change, c.stored.event.target) for c in told] == [
        ("opened", "twitter.com by tcp_reset")
    ]
    assert store.pending() == []  # handed on, and marked so
