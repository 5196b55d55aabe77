"""The replay benchmark's small fixed-seed version: the issue's targets for our detector.

The preset (`lab.outages.preset`): Myanmar's nightly cuts, Syria's exam days and one label
of every 60th other window, plus the four negative controls. Targets (issue 11, "Must
show"): recall ≥ 95 %, precision ≥ 95 %, ≤ 0.1 false critical alerts per entity-week,
median latency ≤ 5 min, p95 ≤ 10 min; and fewer false alerts and lower latency than the
IODA baseline on the same series, at equal or better recall.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence

import numpy as np
import pytest

from netvigil.detect import engine, ioda
from netvigil.detect.model import Event
from netvigil.lab.outage_labels import read_labels
from netvigil.lab.outage_score import Score, replay, score
from netvigil.lab.outages import (
    World,
    blackout,
    controls,
    preset,
    probe_dies,
    regional_disaster,
    router_fails,
    worlds,
)
from tests.corpus import CORPUS

SEED = 11


def ours(world: World) -> Sequence[Event]:
    found: Sequence[Event] = engine.detect(
        world.series, local=world.local, now=dt.datetime.fromtimestamp(world.end, dt.UTC)
    )
    return found


def baseline(world: World) -> Sequence[Event]:
    return ioda.detect(
        world.series, now=dt.datetime.fromtimestamp(world.end, dt.UTC), warnings=False
    )


@pytest.fixture(scope="module")
def scores() -> dict[str, Score]:
    read = read_labels(CORPUS / "shutdowns" / "labels_unified.csv", np.random.default_rng(SEED))
    everything = itertools.chain(controls(SEED), worlds(preset(list(read.labels)), SEED))
    tallies = replay(everything, {"ours": ours, "ioda": baseline})
    return {name: score(tally) for name, tally in tallies.items()}


def test_ours_meets_the_targets(scores: dict[str, Score]) -> None:
    got = scores["ours"]
    assert got.recall >= 0.95
    assert got.precision >= 0.95
    assert got.fa_week <= 0.1
    assert got.median_s <= 300
    assert got.p95_s <= 600


def test_ours_beats_the_ioda_baseline(scores: dict[str, Score]) -> None:
    mine, theirs = scores["ours"], scores["ioda"]
    assert mine.recall >= theirs.recall
    assert mine.fa_week < theirs.fa_week
    assert mine.median_s < theirs.median_s
    assert mine.p95_s <= theirs.p95_s


def critical(world: World) -> list[Event]:
    return [e for e in ours(world) if e.level == "critical"]


def test_a_dead_probe_raises_no_critical_alert() -> None:
    assert critical(probe_dies(SEED)) == []


def test_a_failed_router_is_its_network_only() -> None:
    found = critical(router_fails(SEED))
    assert found
    assert {(e.entity, e.kind) for e in found} == {("asn:64520", "outage")}


def test_a_blackout_is_a_country_outage_not_a_shutdown() -> None:
    found = [e for e in critical(blackout(SEED)) if e.entity == "country:XC"]
    assert len(found) == 1
    assert (found[0].kind, found[0].cause) == ("outage", "unknown")


def test_a_regional_disaster_is_regional() -> None:
    found = critical(regional_disaster(SEED))
    assert "region:XD-North" in {e.entity for e in found}
    assert "country:XD" not in {e.entity for e in found}
