"""The data API's aggregation over ≥ 1M analysis rows, against a plain Python loop.

1,000,000 rows (countries × days × verdicts, realistic skew) are written as the pipeline
writes them (hive-partitioned zstd Parquet). In the same run we time:

  (a) baseline: the same rows already in memory as Python tuples, aggregated by a plain
      loop into country × day cells with measurement/anomaly/confirmed/failure/ok counts;
  (b) ours: `GET /api/v1/aggregation?axis_x=measurement_start_day&axis_y=probe_cc` through
      the app (ASGI), i.e. DuckDB over the Parquet files plus JSON encoding.

Both must give the same cells. Prints both times; target (b) ≤ 1 s; last line
`ratio=<float>` = (a) / (b), how many times faster the API path is.

Usage: python bench/query_bench.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

from netvigil.datadir import DataDir
from netvigil.observatory.columns import Row
from netvigil.observatory.tables import compact, write_rows
from netvigil.server import create_app

COUNTRIES = ["IT", "IR", "RU", "CN", "BR", "IN", "TR", "MM", "EG", "US", "DE", "UG"]
OUTCOMES = ["ok"] * 80 + ["blocked"] * 12 + ["down"] * 5 + ["insufficient"] * 3


def make_rows(count: int) -> list[Row]:
    rng = random.Random(42)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    rows = []
    for n in range(count):
        moment = start + dt.timedelta(seconds=rng.randrange(30 * 86400))
        outcome = rng.choice(OUTCOMES)
        rows.append(
            Row(
                measurement_uid=f"{n:012d}",
                report_id=None,
                input=None,
                domain=None,
                probe_cc=rng.choice(COUNTRIES),
                probe_asn=rng.randrange(1, 400),
                probe_network_name="",
                test_name="web_connectivity",
                measurement_start_time=moment,
                date=moment.strftime("%Y-%m-%d"),
                anomaly=outcome == "blocked",
                confirmed=outcome == "blocked" and rng.random() < 0.2,
                failure=outcome == "insufficient",
                outcome=outcome,
                layer=None,
                technique=None,
                rule=None,
                confidence=0.9,
                blocking_type=None,
                flags="",
                rules_version="b",
                analysed_at=now,
                source="archive",
                source_line=None,
            )
        )
    return rows


def loop(rows: list[tuple[str, str, bool, bool, bool, str]]) -> dict[tuple[str, str], list[int]]:
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for day, cc, anomaly, confirmed, failure, outcome in rows:
        cell = cells[(day, cc)]
        cell[0] += 1
        cell[1] += anomaly
        cell[2] += confirmed
        cell[3] += failure
        cell[4] += outcome == "ok"  # a site down for everyone is not ok (issue 9)
    return cells


async def api(app: Any) -> tuple[float, list[dict[str, Any]]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        start = time.perf_counter()
        response = await client.get(
            "/api/v1/aggregation?axis_x=measurement_start_day&axis_y=probe_cc&time_grain=day"
        )
        elapsed = time.perf_counter() - start
    assert response.status_code == 200, response.text
    return elapsed, response.json()["result"]


def main(count: int) -> float:
    rows = make_rows(count)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        tables = DataDir(root=data).tables
        for start in range(0, count, 100_000):  # as the pipeline writes: batch by batch
            write_rows(tables, rows[start : start + 100_000])
        compact(tables)  # as the pipeline does when files pile up
        tuples = [(r.date, r.probe_cc, r.anomaly, r.confirmed, r.failure, r.outcome) for r in rows]
        begin = time.perf_counter()
        expected = loop(tuples)
        baseline = time.perf_counter() - begin
        app = create_app(data)
        asyncio.run(api(app))  # warm-up: imports, first connection
        ours, cells = asyncio.run(api(app))
    got = {
        (c["measurement_start_day"][:10], c["probe_cc"]): [
            c["measurement_count"],
            c["anomaly_count"],
            c["confirmed_count"],
            c["failure_count"],
            c["ok_count"],
        ]
        for c in cells
    }
    assert got == dict(expected), "the API and the loop disagree"
    print(f"{count} rows, {len(cells)} country x day cells")
    print(f"(a) Python loop over rows in memory: {baseline:.3f} s")
    print(f"(b) /api/v1/aggregation (DuckDB over Parquet): {ours:.3f} s  (target <= 1 s)")
    return baseline / ours


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"ratio={main(args.rows):.2f}")
