"""`/events` and `/events/{id}` over events detected in Monash's Bago pings: the list the
events API gives, the same filters, and each event's signals as its record holds them."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.web.pages_data import client

JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    return client(tmp_path_factory.mktemp("pages"))


def text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def api(site: TestClient, query: str = "") -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = site.get(f"/api/v1/events{query}", headers=JSON).json()["events"]
    return events


def network(site: TestClient, asn: int) -> str:
    """The network's name as the probes measuring from it reported it (no GeoIP here)."""
    found = site.get(f"/api/v1/measurements?probe_asn=AS{asn}&limit=1", headers=JSON).json()
    return str(found["results"][0]["probe_network_name"]) if found["results"] else ""


def listed(page: str) -> list[str]:
    return re.findall(r'href="/events/(ev_[0-9a-f]{20})"', page)


@pytest.mark.parametrize(
    "query",
    ["", "?ongoing=true", "?ongoing=false&limit=5", "?country=MM&kind=outage", "?country=XX"],
)
def test_the_list_is_the_apis_for_the_same_filters(site: TestClient, query: str) -> None:
    page = site.get(f"/events{query}")
    assert page.status_code == 200
    assert listed(page.text) == [e["id"] for e in api(site, query)]
    assert f'href="/api/v1/events{html.escape(query)}"' in page.text


def test_the_bago_cut_is_ongoing_and_named_by_its_region(site: TestClient) -> None:
    (ongoing,) = api(site, "?ongoing=true")
    assert ongoing["entity"] == "region:MM-02" and ongoing["start"] == "2021-04-26T19:00:00Z"
    words = text(site.get("/events?ongoing=true").text)
    # ISO 3166-2 MM-02 is the Bago region; Babel's English name of MM
    assert "Bago, Myanmar (Burma) Outage (warning) 2021-04-26 19:00 UTC ongoing" in words
    # every night from 15 Feb to 26 Apr 2021, the cut, and the block of facebook.com
    assert len(api(site)) == 72 + 1 + 1


def test_an_events_page_shows_its_signals_and_networks(site: TestClient) -> None:
    for event in api(site, "?limit=1000"):
        page = site.get(f"/events/{event['id']}")
        assert page.status_code == 200
        words = text(page.text)
        for fired in event["signals"]:
            row = (
                f"{fired['signal']} {fired['entity']} "
                f"{fired['at'][:10]} {fired['at'][11:16]} UTC {fired['baseline']:.1f} "
                f"{fired['value']:.1f} {fired['ratio']:.3f} "
                f"{fired['statistic']:.1f} / {fired['threshold']:.1f}"
            )
            assert row in words, event["id"]
        for n in event["networks"]:
            label = f"AS{n['asn']}" + (f" · {name}" if (name := network(site, n["asn"])) else "")
            assert f"{label} {n['probes']} {n['silent']} {n['measured_locally']}" in words
        assert f"Confidence {event['confidence']:.2f}" in words
        assert f'href="/api/v1/events/{event["id"]}"' in page.text
        assert 'href="/api/v1/events.atom"' in page.text


def test_the_national_cut_names_its_cause_and_vantage_points(site: TestClient) -> None:
    (cut,) = api(site, "?country=XX")
    assert (cut["kind"], cut["cause"]) == ("shutdown", "network_cut")
    words = text(site.get(f"/events/{cut['id']}").text)
    assert "Cause a network cut: probes kept measuring locally" in words
    assert "AS64500 2 2 2" in words and "AS64501 2 2 2" in words


@pytest.mark.parametrize(
    "query",
    ["?since=yesterday", "?kind=coup", "?level=5", "?country=MMR", "?ongoing=maybe",
     "?colour=red", "?country=MM&country=IR", "?limit=0", "?format=csv"],
)  # fmt: skip
def test_a_bad_filter_is_a_400_page(site: TestClient, query: str) -> None:
    page = site.get(f"/events{query}")
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert "This request cannot be answered" in page.text


@pytest.mark.parametrize("ident", ["x'--", "ev_00000000000000000000", "ev_" + "a" * 5000])
def test_an_unknown_event_is_a_404_page(site: TestClient, ident: str) -> None:
    page = site.get(f"/events/{ident}")
    assert page.status_code == 404 and "Not found" in page.text


def test_evidence_links_into_the_explorer(site: TestClient) -> None:
    (block,) = api(site, "?kind=service_block")
    page = site.get(f"/events/{block['id']}").text
    uid = block["evidence"][0]
    assert f'<a href="/measurement/{uid}"><code>{uid}</code></a>' in page
    assert site.get(f"/measurement/{uid}").status_code == 200
    assert "<li><code>not a uid: a note</code></li>" in page  # shown, not linked
    words = text(page)
    assert "Service blocked: AS197207 · Mobile Communication Company of Iran PLC" in words


def test_an_events_signals_are_charted(site: TestClient) -> None:
    (ongoing,) = api(site, "?ongoing=true")
    page = site.get(f"/events/{ongoing['id']}").text
    (src,) = re.findall(r'<figure class="chart"[^>]*>\s*<img src="([^"]+)"', page)
    assert src == f"/charts/event.svg?id={ongoing['id']}"
    image = site.get(src)
    assert image.status_code == 200 and image.headers["content-type"] == "image/svg+xml"
