"""The aggregation's `category_code` axis and filter: each measured domain's Citizen Lab
category, counted as a hand count over real measurements and the test list CSVs says.

The expected categories are computed here from the bundled CSVs read with `csv` (not through
netvigil.testlists), by the rule the API documents: the global list's category of a domain
(the one most of its URLs have), else the one most URLs of it have over the other lists;
ties to the alphabetically first code. The measurements are the real OONI ones of the corpus
and the demo sample, read as JSON.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from netvigil.observatory import categories
from netvigil.observatory.ingest import ingest_file
from netvigil.observatory.tables import compact
from netvigil.server import create_app

ROOT = Path(__file__).resolve().parents[2]
LISTS = ROOT / "src" / "netvigil" / "data" / "test-lists"
FILES = (
    ROOT.parent / "shared" / "corpus" / "ooni-measurements" / "ooni-webconnectivity-corpus.jsonl",
    ROOT / "src" / "netvigil" / "data" / "samples" / "web_connectivity.jsonl.gz",
)
# What the collector adds to a measurement (ids.py): two copies differing only here are one.
BACKEND = {"report_id", "measurement_uid", "bucket_date", "report_filename", "backend_version"}
BACKEND |= {"id"}


def rows(name: str) -> list[dict[str, str]]:
    text = gzip.decompress((LISTS / f"{name}.csv.gz").read_bytes()).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def expected_table() -> dict[str, str]:
    lists = sorted(p.name.removesuffix(".csv.gz") for p in LISTS.glob("[!0]*.csv.gz"))
    in_global: dict[str, Counter[str]] = defaultdict(Counter)
    elsewhere: dict[str, Counter[str]] = defaultdict(Counter)
    for name in lists:
        first: dict[str, str] = {}  # a URL counts once per list, with its first row's code
        for row in rows(name):
            first.setdefault(row["url"].strip(), row["category_code"].strip().upper())
        for url, code in first.items():
            if host := urlsplit(url).hostname:
                (in_global if name == "global" else elsewhere)[host][code] += 1
    best = {h: min(c, key=lambda k: (-c[k], k)) for h, c in elsewhere.items()}
    best.update({h: min(c, key=lambda k: (-c[k], k)) for h, c in in_global.items()})
    return best


def measurements() -> list[dict[str, object]]:
    """The distinct measurements of the files: by OONI's uid, else by their content."""
    seen: dict[str, dict[str, object]] = {}
    for path in FILES:
        data = path.read_bytes()
        text = gzip.decompress(data) if path.suffix == ".gz" else data
        for line in text.decode("utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                content = {k: v for k, v in record.items() if k not in BACKEND}
                seen.setdefault(record.get("measurement_uid") or json.dumps(content), record)
    return list(seen.values())


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    root = tmp_path_factory.mktemp("category")
    tables = root / "tables" / "analysis"
    for path in FILES:
        assert not ingest_file(str(path), str(tables)).errors
    compact(tables)
    return TestClient(create_app(root))


def hand_count() -> Counter[str]:
    table = expected_table()
    return Counter(
        table.get(urlsplit(str(m["input"])).hostname or "", "uncategorised") for m in measurements()
    )


def test_the_table_is_the_lists_rule() -> None:
    assert categories.table() == expected_table()
    legend = {r["New Code"] for r in rows("00-LEGEND-new_category_codes")}
    assert set(categories.codes()) == legend | {"uncategorised"}


def test_counts_per_category_are_the_hand_count(client: TestClient) -> None:
    answer = client.get("/api/v1/aggregation?axis_x=category_code")
    assert answer.status_code == 200
    got = {c["category_code"]: c["measurement_count"] for c in answer.json()["result"]}
    expected = hand_count()
    assert got == dict(expected)
    assert sum(got.values()) == len(measurements())  # none dropped, uncategorised included
    assert len(expected) > 2 and expected["uncategorised"] > 0


def test_the_filter_counts_each_category(client: TestClient) -> None:
    for code, count in hand_count().items():
        cells = client.get(f"/api/v1/aggregation?category_code={code}").json()["result"]
        assert cells["measurement_count"] == count, code
    by_country = client.get("/api/v1/aggregation?axis_x=probe_cc&axis_y=category_code").json()
    assert sum(c["measurement_count"] for c in by_country["result"]) == len(measurements())


def test_bad_codes_are_refused_with_the_valid_ones(client: TestClient) -> None:
    answer = client.get("/api/v1/aggregation?category_code=news")
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("category_code: expected one of ALDR, ANON")
    elsewhere = client.get("/api/v1/measurements?category_code=NEWS")
    assert elsewhere.status_code == 400
    assert elsewhere.json() == {
        "error": "category_code: only /api/v1/aggregation filters by category"
    }
    assert client.get("/api/v1/aggregation?category_code=").status_code == 400


def test_the_table_is_written_once_beside_the_analysis(tmp_path: Path) -> None:
    tables = tmp_path / "tables" / "analysis"
    first = categories.path(tables)
    assert first.parent == tmp_path / "tables" and first.suffix == ".parquet"
    stamp = first.stat().st_mtime_ns, first.stat().st_ino
    again = categories.path(tables)
    assert again == first and (again.stat().st_mtime_ns, again.stat().st_ino) == stamp
