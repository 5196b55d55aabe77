"""Result files: one per run, never shared by two runs, listed in the order they started."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from netvigil.probe.results import new_result, results

NOON = dt.datetime(2026, 12, 1, 12, 0, 0, 400_000, tzinfo=dt.UTC)


def test_runs_started_in_the_same_second_get_their_own_results_in_order(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    made = [new_result(folder, NOON) for _ in range(11)]
    later = new_result(folder, NOON + dt.timedelta(seconds=1))
    names = [path.name for path in made]
    assert names[:3] == [
        "20261201T120000Z.jsonl",
        "20261201T120000Z-2.jsonl",
        "20261201T120000Z-3.jsonl",
    ]
    assert len(set(names)) == 11 and all(path.read_bytes() == b"" for path in made)
    # oldest first: -10 and -11 after -9 (not as text sorts them), the next second last
    assert results(folder) == [*made, later]


def test_a_start_time_in_another_zone_is_named_in_utc(tmp_path: Path) -> None:
    tehran = dt.timezone(dt.timedelta(hours=3, minutes=30))
    path = new_result(tmp_path, NOON.astimezone(tehran))
    assert path.name == "20261201T120000Z.jsonl"
