"""`/` over the sample and the corpus: what is blocked where as last measured (from the data
API's rows), the ongoing cut, the counts, and a fresh instance saying what to do."""

from __future__ import annotations

import gzip
import html
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from netvigil.server import create_app
from tests.web.pages_data import OONI_ROWS, client

JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    return client(tmp_path_factory.mktemp("pages"))


def text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def latest_blocked(rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(country, site) whose verdicts (blocked, down or ok) at the latest time measured are
    all blocked."""
    latest: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        host = urlsplit(row["input"] or "").hostname
        if not host or row["scores"]["outcome"] not in ("blocked", "down", "ok"):
            continue
        key = (row["probe_cc"], host)
        best = latest.setdefault(key, [row])
        if row["measurement_start_time"] > best[0]["measurement_start_time"]:
            latest[key] = [row]
        elif (
            row is not best[0]
            and row["measurement_start_time"] == best[0]["measurement_start_time"]
        ):
            best.append(row)
    return {
        k for k, same in latest.items() if all(r["scores"]["outcome"] == "blocked" for r in same)
    }


def test_what_is_blocked_where_as_last_measured(site: TestClient) -> None:
    rows = site.get("/api/v1/measurements?limit=1000", headers=JSON).json()["results"]
    expected = latest_blocked(rows)
    whole = site.get("/").text
    start = whole.index('<table class="blocked-now">')
    page = whole[start : whole.index("</table>", start)]  # ours; OONI's are apart (below)
    shown = set(re.findall(r'href="/country/([A-Z]{2})">[^<]+</a><br>', page))
    assert shown == {cc for cc, _ in expected}
    domains = re.findall(r'<td><a href="/domain/([^"]+)">', page)
    assert sorted(domains) == sorted(d for _, d in expected)  # fewer than 8 per country here
    # The IR facebook.com measurement of 2022 (SOURCES.md), a DNS blockpage
    assert "www.facebook.com DNS · dns_blockpage_ip 2022-08-15" in text(page)


def test_counts_are_the_data_apis(site: TestClient) -> None:
    count = site.get("/api/v1/measurements?limit=1", headers=JSON).json()["metadata"]["count"]
    cells = site.get("/api/v1/aggregation?axis_x=probe_cc", headers=JSON).json()["result"]
    facts = site.get("/", headers=JSON).json()
    assert (facts["measurements"], facts["countries"]) == (count, len(cells))
    words = text(site.get("/").text)
    assert f"{count:,} measurements from {len(cells)} countries" in words


def test_the_ongoing_cut_and_the_latest_ended_are_listed(site: TestClient) -> None:
    (ongoing,) = site.get("/api/v1/events?ongoing=true", headers=JSON).json()["events"]
    ended = site.get("/api/v1/events?ongoing=false&limit=5", headers=JSON).json()["events"]
    page = site.get("/").text
    links = re.findall(r'href="/events/(ev_[0-9a-f]{20})"', page)
    assert links == [ongoing["id"]] + [e["id"] for e in ended]
    assert "Ongoing: Outage · Bago, Myanmar (Burma) · since 2021-04-26 19:00 UTC" in text(page)


def test_a_fresh_instance_says_what_to_do(tmp_path: Path) -> None:
    fresh = TestClient(create_app(tmp_path), headers={"Accept": "text/html"})
    words = text(fresh.get("/").text)
    assert "This instance holds no measurements yet." in words and "netvigil ingest" in words
    assert "No shutdown or outage is ongoing" in words and "No public incident yet." in words
    assert fresh.get("/", headers=JSON).json()["measurements"] == 0


def test_the_world_map_is_drawn_with_its_table(site: TestClient) -> None:
    page = site.get("/").text
    (src,) = re.findall(r'<figure class="chart"[^>]*>\s*<img src="([^"]+)"', page)
    image = site.get(html.unescape(src))
    assert image.status_code == 200 and image.headers["content-type"] == "image/svg+xml"
    assert image.content.lstrip().startswith(b"<svg")
    cells = site.get("/api/v1/aggregation?axis_x=probe_cc", headers=JSON).json()["result"]
    table = page[page.index('<figure class="chart"') : page.index("</figure>")]
    assert len(re.findall(r"<tr><td>[A-Z]{2}</td>", table)) == len(cells)  # one row each


def test_oonis_confirmed_blocks_are_shown_as_oonis(site: TestClient) -> None:
    with gzip.open(OONI_ROWS, "rt") as lines:
        rows = [json.loads(line) for line in lines]
    confirmed = {(r["probe_cc"], r["domain"]) for r in rows if r["confirmed"] and r["domain"]}
    page = site.get("/").text
    start = page.index('<section class="source-ooni"')
    section = page[start : page.index("</section>", start)]
    assert "Confirmed blocked according to OONI (OONI fastpath)" in section
    shown = re.findall(
        r'<a href="/country/([A-Z]{2})">[^<]*</a></td><td><a href="/domain/([^"]+)"', section
    )
    assert len(shown) == min(8, len(confirmed)) and set(shown) <= confirmed
