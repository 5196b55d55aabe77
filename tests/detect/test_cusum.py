"""Blocking change points on OONI's own fixture, and the detector's rules on small series."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from netvigil.detect.cusum import JUMP, THRESHOLD, Hour, changes, hourly

UGANDA = Path("../shared/corpus/ooni-measurements/ooni-data-detector-ug-analysis.jsonl")
OONI_TEST_THRESHOLD = 10 * JUMP / 2  # ooni/data tests/test_detector.py runs with edd=10
UTC = dt.UTC


def _series(layer: str) -> tuple[list[Hour], dict[str, float]]:
    rows = [json.loads(line) for line in UGANDA.read_text().splitlines()]
    assert {(r["probe_cc"], r["probe_asn"], r["domain"]) for r in rows} == {
        ("UG", 20294, "twitter.com")
    }
    scores = {r["measurement_uid"]: float(r[f"{layer}_blocked"]) for r in rows}
    points = [
        (dt.datetime.fromisoformat(r["measurement_start_time"]).replace(tzinfo=UTC), score, uid)
        for r in rows
        for uid, score in [(r["measurement_uid"], scores[r["measurement_uid"]])]
    ]
    return hourly(points), scores


def test_ugandas_tcp_blocking_of_twitter_is_found_where_ooni_finds_it() -> None:
    hours, scores = _series("tcp")
    (change,) = changes(hours, threshold=OONI_TEST_THRESHOLD)
    # OONI's expected change points are its detection times: exactly ours.
    assert change.started_detected == dt.datetime(2026, 1, 18, 19, tzinfo=UTC)
    assert change.ended_detected == dt.datetime(2026, 1, 25, 1, tzinfo=UTC)
    # Where the change happened, by the measurements: the first blocked hour, and the first
    # accessible one after the last blocked measurement (2026-01-23 01:xx).
    assert change.start == dt.datetime(2026, 1, 18, 5, tzinfo=UTC)
    assert change.end == dt.datetime(2026, 1, 23, 19, tzinfo=UTC)
    assert change.statistic == pytest.approx(3.625)
    # Witnesses: accessible before, blocked during (the 05:00 hour holds one of each), and
    # accessible after.
    assert len(change.before) == 30 and {scores[u] for u in change.before} == {0.0}
    # 05:00 (2), 06, 09, 10, 12:00 (4), 13, 15, 16, 18 and 19:00 (1 each)
    assert len(change.during) == 14 and sorted({scores[u] for u in change.during}) == [0.0, 0.75]
    assert sum(scores[u] == 0.0 for u in change.during) == 1
    # 2026-01-23 19:00 (11), 20, 21, 01-24 13, 18, 19, 20, 21:00 (3), 22, 23, 01-25 01:00: every
    # hour's median accessible, 3 of its 23 measurements still blocked
    assert len(change.after) == 23 and sum(scores[u] == 0.75 for u in change.after) == 3


@pytest.mark.parametrize("threshold", [OONI_TEST_THRESHOLD, THRESHOLD])
@pytest.mark.parametrize("layer", ["dns", "tls"])
def test_no_other_change_point_on_the_fixture(layer: str, threshold: float) -> None:
    hours, _ = _series(layer)
    assert changes(hours, threshold=threshold) == []


def test_with_oonis_production_threshold_the_same_period_is_found_later() -> None:
    (change,) = changes(_series("tcp")[0])
    assert (change.start, change.end) == (
        dt.datetime(2026, 1, 18, 5, tzinfo=UTC),
        dt.datetime(2026, 1, 23, 19, tzinfo=UTC),
    )
    assert change.started_detected == dt.datetime(2026, 1, 20, 9, tzinfo=UTC)


def _hours(start: dt.datetime, values: list[float], step: dt.timedelta) -> list[Hour]:
    return [Hour(start=start + n * step, value=v, uids=(f"m{n}",)) for n, v in enumerate(values)]


T0 = dt.datetime(2026, 3, 1, tzinfo=UTC)
HOUR = dt.timedelta(hours=1)


def test_an_ongoing_blocking_has_no_end() -> None:
    hours = _hours(T0, [0.0] * 30 + [1.0] * 30, HOUR)
    (change,) = changes(hours)
    assert change.start == T0 + 30 * HOUR and change.end is None and change.after == ()
    assert change.started_detected == T0 + 40 * HOUR  # 11 hours of +0.65 pass 7


def test_silence_decays_the_evidence_before_it() -> None:
    before = [0.0] * 30 + [1.0] * 8  # 8 × 0.65 = 5.2, below 7
    after = [1.0] * 3  # 3 more would pass 7 without the silence
    quick = _hours(T0, before + after, HOUR)
    assert len(changes(quick)) == 1
    slow = _hours(T0, before, HOUR) + _hours(T0 + 38 * HOUR + 96 * HOUR, after, HOUR)
    assert changes(slow) == []  # 96 h of silence: 5.2 became 1.3


def test_an_hour_is_the_median_of_its_measurements() -> None:
    t = dt.datetime(2026, 3, 1, 10, 59, tzinfo=UTC)
    (one, two) = hourly([(t, 1.0, "a"), (t, 0.0, "b"), (t, 0.5, "c"), (t + HOUR, 0.25, "d")])
    assert (one.start, one.value, one.uids) == (t.replace(minute=0), 0.5, ("a", "b", "c"))
    assert (two.value, two.uids) == (0.25, ("d",))
    (even,) = hourly([(t, 1.0, "a"), (t, 0.0, "b")])
    assert even.value == 0.5
