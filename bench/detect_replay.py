"""Replay of the real outages of labels_unified.csv: ours against a clean-room IODA baseline.

The world (`netvigil.lab.outages`): per entity and window, heartbeats of 3-5 probes in ≥ 2
networks (1 min), measurement counts (10 min), BGP-like (5 min) and active-probing-like
(10 min) series with daily and weekly seasonality, negative-binomial noise, collector gaps
and benign level shifts; each label's outage injected at its real time, scope and duration,
with local checks from the probes when it was a deliberate shutdown. The negative controls
(a probe dies, a router fails, a blackout, a regional disaster) are added to the same run.

In the same run, on the same series, two detectors:

  ours: `netvigil.detect.engine.detect(series, local=..., now=...)`;
  ioda: `netvigil.detect.ioda.detect` (moving median, IODA's published ratios, inpainting).

Scoring (`netvigil.lab.outage_score`): critical events only; recall, precision, false
critical alerts per entity-week, median and p95 latency (`detected` - outage start).
Targets for ours: recall ≥ 0.95, precision ≥ 0.95, fa_week ≤ 0.1, median ≤ 300 s,
p95 ≤ 600 s, and fewer false alerts and lower latency than ioda at equal or better recall.
The last two lines: `ours recall=R precision=P fa_week=F median_s=M p95_s=Q`, then `ioda ...`.

Usage: python bench/detect_replay.py [--limit N] [--seed S] [--preset] [--labels FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from netvigil.detect import engine, ioda
from netvigil.detect.model import Event
from netvigil.lab.outage_labels import Label, read_labels
from netvigil.lab.outage_score import Detector, replay, score
from netvigil.lab.outages import World, controls, group, preset, worlds

LABELS = Path(__file__).resolve().parents[1] / ".." / "shared/corpus/shutdowns/labels_unified.csv"
OUTSIDE = frozenset({"bgp", "active_probing"})  # IODA's own datasources in the world


def _now(world: World) -> dt.datetime:
    return dt.datetime.fromtimestamp(world.end, dt.UTC)


def ioda_detector(world: World) -> Sequence[Event]:
    return ioda.detect(world.series, now=_now(world), warnings=False)


def ioda_outside(world: World) -> Sequence[Event]:
    """IODA on its own kind of signals only: what it sees without our vantage points."""
    return ioda.detect(
        [s for s in world.series if s.signal in OUTSIDE], now=_now(world), warnings=False
    )


def ours_detector(world: World) -> Sequence[Event]:
    return engine.detect(world.series, local=world.local, now=_now(world))


def chosen(path: Path, seed: int, limit: int | None, small: bool) -> tuple[list[Label], str]:
    read = read_labels(path, np.random.default_rng(seed))
    labels = list(read.labels)
    if small:
        labels = preset(labels)
    if limit is not None:
        labels = labels[:limit]
    skipped = ", ".join(f"{n} {why}" for why, n in sorted(read.skipped.items()))
    fixed = ", ".join(f"{n} {why}" for why, n in sorted(read.fixed.items()))
    note = f"labels: {len(read.labels)} usable; skipped {skipped}\nrepaired: {fixed}"
    return labels, note


def main(path: Path, seed: int, limit: int | None, small: bool) -> None:
    begin = time.perf_counter()
    labels, note = chosen(path, seed, limit, small)
    print(note)
    print(f"used: {len(labels)} labels in {len(group(labels))} windows, plus 4 negative controls")
    detectors: dict[str, Detector] = {
        "ours": ours_detector,
        "ioda": ioda_detector,
        "ioda-outside": ioda_outside,
    }
    tallies = replay(itertools.chain(controls(seed), worlds(labels, seed)), detectors)
    weeks = next(iter(tallies.values())).seconds / (7 * 86400)
    print(f"entity-weeks: {weeks:.1f}; total {time.perf_counter() - begin:.1f} s")
    for name, tally in tallies.items():
        got = score(tally)
        print(
            f"{name}: {tally.busy:.1f} s; {got.found}/{got.injected} found, {got.critical} "
            f"critical events, {got.false} false, kind right {got.kind_accuracy:.3f}"
        )
    print(score(tallies["ioda-outside"]).line("ioda-outside (BGP and active probing only):"))
    print(score(tallies["ours"]).line("ours"))
    print(score(tallies["ioda"]).line("ioda"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--labels",
        type=Path,
        default=LABELS,
        metavar="FILE",
        help="the labels CSV (default: the shared corpus's labels_unified.csv)",
    )
    parser.add_argument(
        "--seed", type=int, default=11, metavar="S", help="seed of the world (default 11)"
    )
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N usable labels")
    parser.add_argument("--preset", action="store_true", help="the small fixed set the test runs")
    args = parser.parse_args()
    main(args.labels, args.seed, args.limit, args.preset)
