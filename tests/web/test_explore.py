"""`/explore` over real measurements: the page's cells are the data API's, its links return
them, its chart follows the form, htmx gets only the results, and hostile query strings get
the form again with a 400 and one line saying what was wrong.

The app is the whole server's (`create_app`), over the OONI corpus and the demo sample
ingested into its data folder.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from markupsafe import escape
from starlette.testclient import TestClient

from netvigil.observatory.ingest import ingest_file
from netvigil.observatory.tables import compact
from netvigil.server import create_app

ROOT = Path(__file__).resolve().parents[2]
FILES = (
    ROOT.parent / "shared" / "corpus" / "ooni-measurements" / "ooni-webconnectivity-corpus.jsonl",
    ROOT / "src" / "netvigil" / "data" / "samples" / "web_connectivity.jsonl.gz",
)
COUNTS = (
    *("measurement_count", "anomaly_count", "confirmed_count", "down_count", "ok_count"),
    *("failure_count", "unanalysed_count", "error_count"),
)
QUERIES = (
    "axis_x=probe_cc&axis_y=category_code&view=table",
    "axis_x=measurement_start_day&time_grain=month&view=bars",
    "axis_x=probe_asn&probe_cc=IT&view=table",
    "axis_x=technique&axis_y=probe_cc&outcome=blocked&view=heatmap",
    "axis_x=domain&axis_y=outcome&view=heatmap&since=2024-01-01",
    "axis_x=category_code&axis_y=test_name&probe_cc=&domain=&view=bars",
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    root = tmp_path_factory.mktemp("explore")
    tables = root / "tables" / "analysis"
    for path in FILES:
        assert not ingest_file(str(path), str(tables)).errors
    compact(tables)
    return TestClient(create_app(root))


class Page(HTMLParser):
    """The table's rows (`data-field` → value or text) and every href and img src."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.links: list[str] = []
        self.images: list[str] = []
        self.field: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr":
            self.rows.append({})
        if tag in ("th", "td") and (field := found.get("data-field")):
            self.rows[-1][field] = found.get("data-value") or ""
            self.field = None if "data-value" in found else field
        if tag == "a" and found.get("href"):
            self.links.append(str(found["href"]))
        if tag == "img" and found.get("src"):
            self.images.append(str(found["src"]))

    def handle_data(self, data: str) -> None:
        if self.field is not None and data.strip():
            self.rows[-1][self.field] += data.strip()
            self.field = None


def parsed(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.rows = [r for r in page.rows if r]
    return page


def api_query(query: str) -> str:
    """The page's query as the aggregation's: no view, no blanks."""
    return "&".join(p for p in query.split("&") if not p.startswith("view=") and p[-1] != "=")


def as_text(cells: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{k: "" if v is None else str(v) for k, v in c.items() if k != "probe_network_name"}
            for c in cells]  # fmt: skip


@pytest.mark.parametrize("query", QUERIES)
def test_the_table_is_the_api_and_the_links_return_it(client: TestClient, query: str) -> None:
    answer = client.get(f"/explore?{query}")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    page = parsed(answer.text)
    cells = client.get(f"/api/v1/aggregation?{api_query(query)}").json()["result"]
    assert cells and page.rows == as_text(cells)
    json_link = f"/api/v1/aggregation?{api_query(query)}"
    csv_link = f"/api/v1/aggregation?{api_query(query)}&format=CSV"
    assert json_link in page.links and csv_link in page.links
    assert client.get(json_link).json()["result"] == cells
    table = list(csv.DictReader(io.StringIO(client.get(csv_link).text)))
    assert as_text(table) == as_text(cells)


def chart_of(client: TestClient, query: str) -> tuple[str, str]:
    (image,) = parsed(client.get(f"/explore?{query}").text).images
    svg = client.get(image)
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    return image, svg.text


def texts(svg: str) -> set[str]:
    return set(re.findall(r"<text[^>]*>([^<]+)</text>", svg))


def test_changing_the_form_changes_the_chart(client: TestClient) -> None:
    by_country, svg = chart_of(client, "axis_x=probe_cc&view=bars")
    cells = client.get("/api/v1/aggregation?axis_x=probe_cc").json()["result"]
    countries = {c["probe_cc"] for c in cells}
    assert by_country == "/charts/bars.svg?axis_x=probe_cc"
    assert countries <= texts(svg) and "web_connectivity" not in texts(svg)
    by_test, svg = chart_of(client, "axis_x=test_name&view=bars")
    assert by_test == "/charts/bars.svg?axis_x=test_name" and "web_connectivity" in texts(svg)
    assert not countries & texts(svg)
    grid, svg = chart_of(client, "axis_x=probe_cc&axis_y=outcome&view=heatmap")
    assert dict(parse_qsl(urlsplit(grid).query)) == {"axis_x": "probe_cc", "axis_y": "outcome"}
    cells = client.get("/api/v1/aggregation?axis_x=probe_cc&axis_y=outcome").json()["result"]
    assert countries | {c["outcome"] for c in cells} <= texts(svg)
    assert client.get(grid.replace(".svg", ".json")).json()["data"]["values"] == cells
    over_time, svg = chart_of(client, "axis_x=measurement_start_day&time_grain=month&view=bars")
    assert over_time == "/charts/outcomes.svg?time_grain=month"
    months = client.get("/api/v1/aggregation?axis_x=measurement_start_day&time_grain=month")
    spec = client.get(over_time.replace(".svg", ".json")).json()
    assert {v["measurement_start_day"] for v in spec["data"]["values"]} == {
        c["measurement_start_day"] for c in months.json()["result"]
    }
    png = client.get(grid.replace(".svg", ".png"))
    assert png.headers["content-type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_bars_stack_every_measurement_by_its_outcome(client: TestClient) -> None:
    spec = client.get("/charts/bars.json?axis_x=probe_cc").json()
    outcomes = client.get("/api/v1/aggregation?axis_x=probe_cc&axis_y=outcome").json()["result"]
    got = {(v["x"], v["series"]): v["count"] for v in spec["data"]["values"]}
    assert got == {(c["probe_cc"], c["outcome"]): c["measurement_count"] for c in outcomes}
    tops: dict[str, int] = {}
    for v in spec["data"]["values"]:  # each segment starts where the one below it ends
        assert v["base"] == tops.get(v["x"], 0) and v["top"] == v["base"] + v["count"]
        tops[v["x"]] = v["top"]


def test_htmx_gets_only_the_results(client: TestClient) -> None:
    query = "axis_x=probe_cc&axis_y=category_code&view=heatmap"
    partial = client.get(f"/explore?{query}", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "HX-Request" in partial.headers["vary"]
    assert "<html" not in partial.text and "<form" not in partial.text
    full = client.get(f"/explore?{query}").text
    assert '<div id="results" aria-live="polite">\n' + partial.text in full
    assert 'hx-get="/explore" hx-target="#results" hx-push-url="true"' in full
    assert parsed(partial.text).rows == parsed(full).rows != []
    blanks = client.get(f"/explore?{query}&probe_cc=&outcome=", headers={"HX-Request": "true"})
    assert blanks.headers["hx-push-url"] == f"/explore?{query}"
    assert '<script defer src="/static/vendor/htmx.org/htmx.min.js"></script>' in full
    assert client.get("/static/vendor/htmx.org/htmx.min.js").status_code == 200
    # htmx swaps no 4xx unless told: the refused form's line must replace stale results.
    (config,) = re.findall(r"<meta name=\"htmx-config\" content='([^']+)'>", full)
    assert {"code": "400", "swap": True, "error": False} in json.loads(config)["responseHandling"]


HOSTILE = {
    "axis_x=probe_cc&axis_y=century": "axis_y: expected one of measurement_start_day",
    "time_grain=century": "time_grain: expected one of hour, day, week, month, year, auto",
    "probe_cc=<script>alert(1)</script>": "probe_cc: expected two letters, got '<script>",
    "&".join(["probe_cc=IT"] * 100): "probe_cc: given more than once",
    "domain=" + "a" * 10240: "domain: longer than 256 characters",
    "since=yesterday": "since: expected a date like 2024-02-14, got 'yesterday'",
    "category_code=NOPE": "category_code: expected one of ALDR",
    "axis_x=probe_cc&axis_y=probe_cc": "axis_y: the same as axis_x (probe_cc)",
    "view=pie": "view: expected one of bars, heatmap, table, got 'pie'",
    "view=heatmap&axis_x=probe_cc": "axis_y: a heat-map grid needs a y axis",
    "colour=red": "colour: not a parameter of the explorer",
}


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_get_the_form_again_with_a_400(client: TestClient, query: str) -> None:
    for headers in ({}, {"HX-Request": "true"}):
        answer = client.get(f"/explore?{query}", headers=headers)
        assert answer.status_code == 400 and answer.headers["content-type"].startswith("text/html")
        assert escape(HOSTILE[query]) in answer.text
        assert "<script>alert" not in answer.text and "Traceback" not in answer.text
        assert ('<form class="explore"' in answer.text) is not bool(headers)
    chart = client.get(f"/charts/bars.svg?{query}")
    assert chart.status_code == 400 and chart.json()["error"]
    api = client.get(f"/api/v1/aggregation?{query}")
    if api.status_code == 400:  # the API's refusal, word for word
        assert escape(api.json()["error"]) in answer.text
        assert chart.json() == api.json()


def test_the_hour_grain_counts_each_hour(client: TestClient) -> None:
    hours: set[str] = set()
    for path in FILES:
        data = path.read_bytes()
        text = gzip.decompress(data) if path.suffix == ".gz" else data
        hours |= {json.loads(line)["measurement_start_time"][:13] for line in text.splitlines()}
    cells = client.get("/api/v1/aggregation?axis_x=measurement_start_day&time_grain=hour").json()
    got = {c["measurement_start_day"][:13].replace("T", " ") for c in cells["result"]}
    assert got == hours


def test_the_explorer_reads_right_to_left_in_persian(client: TestClient) -> None:
    answer = client.get("/explore?axis_x=probe_cc&axis_y=outcome&view=heatmap&lang=fa")
    assert answer.status_code == 200 and '<html lang="fa" dir="rtl">' in answer.text
    (image,) = parsed(answer.text).images
    chart = client.get(image, headers={"Accept-Language": "fa"})
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/svg+xml"


def test_the_first_view_is_by_month_and_says_so(client: TestClient) -> None:
    """Years of measurements by day would be bars narrower than a pixel: the first view of
    time, with no grain asked for, is by month, and the form shows that grain selected."""
    image, _ = chart_of(client, "")
    assert image == "/charts/outcomes.svg?time_grain=month"
    page = client.get("/explore").text
    assert re.search(r'<option value="month"[^>]*selected', page)
    assert not re.search(r'<option value="day"[^>]*selected', page)
