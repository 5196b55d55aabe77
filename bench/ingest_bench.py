"""`netvigil ingest` speed: 1 worker against 2, on generated OONI files of ≥ 200 MB.

The generator varies what real archives vary (measurement uids, inputs, resolved IPs,
response bodies) so neither gzip nor Parquet sees an artificially repetitive file. Both runs
use the same path as the command (`run_local`, one pure `ingest_file` per file). Prints MB/s
(uncompressed JSON) and rows/s for each, the Parquet bytes written against the gzip input
bytes (target ≤ 1.0), and last `ratio=<float>` = speed with 2 workers / with 1 (target ≥ 1.7).

Usage: python bench/ingest_bench.py [--megabytes 200] [--files 8]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import tempfile
import time
from pathlib import Path

from netvigil.observatory.executor import run_local
from netvigil.observatory.ingest import FileResult

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "ooni-measurements"
WORDS = (
    "censorship",
    "measurement",
    "network",
    "resolver",
    "blockpage",
    "freedom",
    "internet",
    "probe",
    "helper",
    "country",
    "access",
    "denied",
    "jurisdiction",
    "news",
    "human",
    "rights",
    "report",
    "citizen",
    "lab",
)


def generate(folder: Path, megabytes: int, files: int) -> tuple[int, int]:
    """Write `files` .jsonl.gz files; returns (uncompressed bytes, gzip bytes)."""
    seeds = [
        json.loads(line)
        for line in (CORPUS / "ooni-webconnectivity-corpus.jsonl").read_bytes().splitlines()
    ]
    rng = random.Random(2026)
    per_file = megabytes * 1_000_000 // files
    raw = packed = 0
    n = 0
    for index in range(files):
        path = folder / f"part-{index:03d}.jsonl.gz"
        size = 0
        with gzip.open(path, "wb", compresslevel=6) as out:
            while size < per_file:
                m = json.loads(json.dumps(rng.choice(seeds)))
                n += 1
                m["measurement_uid"] = f"20260101{n:06d}.000000_XX_webconnectivity_{n:016x}"
                m["input"] = f"http://site{rng.randrange(10**6)}.example/{rng.randrange(10**9)}"
                keys = m.get("test_keys") or {}
                for query in keys.get("queries") or []:
                    for answer in query.get("answers") or []:
                        if answer.get("ipv4"):
                            answer["ipv4"] = (
                                f"{rng.randrange(1, 224)}.{rng.randrange(256)}."
                                f"{rng.randrange(256)}.{rng.randrange(256)}"
                            )
                for request in keys.get("requests") or []:
                    response = request.get("response") or {}
                    if isinstance(response.get("body"), str):
                        response["body"] = " ".join(rng.choices(WORDS, k=rng.randrange(50, 400)))
                line = json.dumps(m).encode() + b"\n"
                out.write(line)
                size += len(line)
        raw += size
        packed += path.stat().st_size
    return raw, packed


def timed(files: list[Path], tables: Path, workers: int) -> tuple[float, int]:
    shutil.rmtree(tables, ignore_errors=True)
    results: list[FileResult] = []
    start = time.perf_counter()
    run_local(files, tables, workers, results.append)
    elapsed = time.perf_counter() - start
    assert not any(r.errors for r in results)
    return elapsed, sum(r.rows for r in results)


def main(megabytes: int, files: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        raw, packed = generate(folder, megabytes, files)
        inputs = sorted(folder.glob("*.jsonl.gz"))
        tables = folder / "tables"
        one, rows = timed(inputs, tables, 1)
        two, rows_two = timed(inputs, tables, 2)
        parquet = sum(p.stat().st_size for p in tables.rglob("*.parquet"))
    assert rows == rows_two
    mb = raw / 1e6
    print(f"{mb:.0f} MB of JSON in {files} gzip files ({packed / 1e6:.0f} MB), {rows} measurements")
    print(f"1 worker:  {mb / one:6.1f} MB/s {rows / one:8.0f} rows/s")
    print(f"2 workers: {mb / two:6.1f} MB/s {rows / two:8.0f} rows/s")
    print(f"parquet/gzip bytes: {parquet / packed:.3f} (target <= 1.0)")
    print("target: ratio >= 1.7")
    return one / two


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--files", type=int, default=8)
    args = parser.parse_args()
    print(f"ratio={main(args.megabytes, args.files):.2f}")
