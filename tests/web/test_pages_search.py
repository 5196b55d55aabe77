"""`/search?q=`: a country, a network, a website or a measurement leads to its page; several
matches or none to a list; nothing to look for is a 400 page."""

from __future__ import annotations

import html
import re

import pytest
from starlette.testclient import TestClient

from tests.web.pages_data import IR_FACEBOOK, client


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    return client(tmp_path_factory.mktemp("pages"))


@pytest.mark.parametrize(
    ("q", "target"),
    [
        ("IR", "/country/IR"),
        ("ir", "/country/IR"),
        ("Iran", "/country/IR"),
        ("Islamic Republic of Iran", "/country/IR"),  # ISO 3166's official name
        ("AS197207", "/network/AS197207"),  # the sample's IR measurements
        ("197207", "/network/AS197207"),
        ("www.facebook.com", "/domain/www.facebook.com"),
        ("https://www.facebook.com/", "/domain/www.facebook.com"),
        (IR_FACEBOOK, f"/measurement/{IR_FACEBOOK}"),
        ("  archive.org ", "/domain/archive.org"),
        ("Telekomunikasi", "/network/AS23693"),  # the ID measurement's network, in part
    ],
)
def test_an_exact_or_single_match_redirects(site: TestClient, q: str, target: str) -> None:
    answer = site.get("/search", params={"q": q}, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, target)


def test_a_country_by_its_name_in_the_pages_language(site: TestClient) -> None:
    answer = site.get("/search", params={"q": "ایران", "lang": "fa"}, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/country/IR")


def test_several_matches_are_listed(site: TestClient) -> None:
    page = site.get("/search", params={"q": "example"})
    assert page.status_code == 200
    # the corpus's domains holding "example" (INDEX-web_connectivity.csv)
    found = re.findall(r'href="/domain/([^"]+)"', page.text)
    assert found == ["www.example.com", "www.example.org", "www.example.xyz"]
    assert "3 pages match “example”" in html.unescape(page.text)


@pytest.mark.parametrize("q", ["AS64496", "ZZ", "zz"])  # AS64496: for documentation (RFC 5398)
def test_nothing_matching_says_so(site: TestClient, q: str) -> None:
    page = site.get("/search", params={"q": q})
    assert page.status_code == 200
    assert f"Nothing this instance holds matches “{q}”" in html.unescape(page.text)


@pytest.mark.parametrize(
    "query",
    [
        {"q": ""},
        {"q": "   "},
        {"q": "x" * 5000},
        {},
        {"q": "IR", "page": "2"},
        [("q", "a"), ("q", "b")],
    ],
)
def test_nothing_to_look_for_is_a_400_page(site: TestClient, query: object) -> None:
    page = site.get("/search", params=query)
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert "This request cannot be answered" in page.text


@pytest.mark.parametrize(
    "q",
    ["%", "\\", "_", "'; DROP TABLE analysis; --", "\x00", "http://[::1", "\u202eRTL", "a" * 300],
)
def test_hostile_text_is_looked_for_as_text(site: TestClient, q: str) -> None:
    count = site.get("/api/v1/measurements?limit=1", headers={"Accept": "application/json"})
    page = site.get("/search", params={"q": q}, follow_redirects=False)
    assert page.status_code == 200  # a list of what holds the text, or a sentence
    after = site.get("/api/v1/measurements?limit=1", headers={"Accept": "application/json"})
    assert after.json()["metadata"]["count"] == count.json()["metadata"]["count"]
