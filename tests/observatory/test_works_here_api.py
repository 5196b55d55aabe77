"""`/api/v1/works_here`: the statuses as JSON over a real table, and a 400 for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from netvigil.observatory import works_api
from tests.observatory.apps import bare
from tests.observatory.works_rows import NOW, tables


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(bare(works_api.routes(tables(tmp_path), lambda: NOW)))


def test_a_country_s_statuses_with_witness_links_and_guidance(client: TestClient) -> None:
    response = client.get("/api/v1/works_here?probe_cc=ir")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["probe_cc"], body["probe_asn"]) == ("IR", None)
    assert (body["since"], body["until"]) == ("2026-11-30T12:00:00Z", "2026-12-01T12:00:00Z")
    items = {i["test_name"]: i for i in body["items"]}
    assert items["torsf"] == {
        "test_name": "torsf",
        "name": "Snowflake",
        "kind": "circumvention",
        "status": "works",
        "measurements": 1,
        "counts": {"ok": 1},
        "latest_outcome": "ok",
        "latest_time": "2026-12-01T11:30:00Z",
        "latest_uid": "sf-1",
        "witness_uid": "sf-1",
        "witness_outcome": "ok",
        "witness_url": "http://testserver/api/v1/measurement/sf-1",
    }
    assert items["telegram"]["status"] == "mixed" and items["whatsapp"]["status"] == "blocked"
    assert "Tor blocked (vanilla_tor) — 3 measurements, last 2 h ago" in body["guidance"]
    assert [n["probe_asn"] for n in body["networks"]] == ["AS44244", "AS197207"]


def test_one_network_and_a_wider_window(client: TestClient) -> None:
    body = client.get("/api/v1/works_here?probe_cc=IR&probe_asn=AS197207&hours=72").json()
    assert body["probe_asn"] == "AS197207"
    seen = {i["test_name"]: i["status"] for i in body["items"] if i["measurements"]}
    assert seen == {"signal": "no recent evidence", "telegram": "works"}


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("probe_cc=XXX", "probe_cc: expected two letters, got 'XXX'"),
        ("", "probe_cc is required: a country, two letters (IR)"),
        ("probe_cc=IR&probe_asn=ASX", "probe_asn: expected AS1234 or 1234 (below 2^32), got 'ASX'"),
        ("probe_cc=IR&hours=0", "hours: expected a whole number from 1 to 168, got '0'"),
        ("probe_cc=IR&probe_cc=IT", "probe_cc: given more than once"),
        (
            "probe_cc=IR&since=2026-01-01",
            "since: not a parameter here (takes probe_cc, probe_asn, hours)",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(
    client: TestClient, query: str, error: str
) -> None:
    response = client.get(f"/api/v1/works_here?{query}")
    assert response.status_code == 400
    assert response.json() == {"error": error}
