"""Layered analysis throughput against a bare `json.loads` pass over the same file.

The corpus's 64 web_connectivity measurements (real and QA) are replicated with fresh
`measurement_uid`s into a JSONL file of at least --megabytes MB. In the same process and
on the same file we time:

  (a) baseline: read each line and `json.loads` it (the least any Python consumer does);
  (b) ours: read, decode into typed records, and compute the full layered verdict with
      fingerprint matching, through the same code path as `netvigil analyze`.

Each is run --repeat times and the best run is kept (machines are noisy). Target:
(b) ≥ 0.5 × (a) in MB/s. The last line is `ratio=<float>` = (b) / (a).

Usage: python bench/analysis_bench.py [--megabytes 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from netvigil.analysis.batch import analyse_all
from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.verdicts import Verdict
from netvigil.readers import read_path

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "ooni-measurements"


def build(target: Path, megabytes: int) -> tuple[int, int]:
    """Write the replicated corpus; returns (measurements, bytes)."""
    seeds = [
        json.loads(line)
        for line in (CORPUS / "ooni-webconnectivity-corpus.jsonl").read_bytes().splitlines()
    ]
    seeds = [s for s in seeds if s.get("test_name") == "web_connectivity"]
    count = size = 0
    with target.open("wb") as out:
        while size < megabytes * 1_000_000:
            for seed in seeds:
                seed["measurement_uid"] = (
                    f"20261122000000.{count:06d}_XX_webconnectivity_{count:016x}"
                )
                line = json.dumps(seed, separators=(",", ":")).encode() + b"\n"
                out.write(line)
                count += 1
                size += len(line)
    return count, size


def baseline(path: Path) -> int:
    n = 0
    with path.open("rb") as lines:
        for line in lines:
            json.loads(line)
            n += 1
    return n


def ours(path: Path, db: FingerprintDB) -> int:
    n = 0
    for _, result in analyse_all(read_path(path), db):
        if not isinstance(result, Verdict):
            raise SystemExit(f"unexpected error record: {result}")
        n += 1
    return n


def best_of(repeat: int, run: Callable[[], int]) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = run()
        best = min(best, time.perf_counter() - start)
    return best, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    db = FingerprintDB.load()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corpus.jsonl"
        count, size = build(path, args.megabytes)
        mb = size / 1e6
        print(f"corpus: {count} measurements, {mb:.1f} MB")
        base_s, base_n = best_of(args.repeat, lambda: baseline(path))
        ours_s, ours_n = best_of(args.repeat, lambda: ours(path, db))
        assert base_n == ours_n == count
    print(f"(a) json.loads:      {count / base_s:10.0f} msmt/s {mb / base_s:8.1f} MB/s")
    print(f"(b) layered analysis: {count / ours_s:9.0f} msmt/s {mb / ours_s:8.1f} MB/s")
    print("target: ratio >= 0.5")
    print(f"ratio={base_s / ours_s:.3f}")


if __name__ == "__main__":
    main()
