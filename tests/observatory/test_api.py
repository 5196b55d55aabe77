"""Submitted measurements become queryable through OONI-compatible endpoints within seconds."""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from netvigil.server import create_app
from tests.corpus import qa_files
from tests.observatory.test_collector import open_report, submit

VISIBLE_WITHIN = 10.0  # seconds: the bound from submission to query


def wait_for(client: TestClient, path: str, count: int) -> dict[str, Any]:
    deadline = time.monotonic() + VISIBLE_WITHIN
    while True:
        body: dict[str, Any] = client.get(path).json()
        if body["metadata"]["count"] >= count or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("observatory")
    with TestClient(create_app(folder)) as client:
        report = open_report(client)
        for path in qa_files():
            assert submit(client, report, json.loads(path.read_text())).status_code == 200
        yield client


def test_submissions_are_visible_within_ten_seconds(loaded: TestClient) -> None:
    body = wait_for(loaded, "/api/v1/measurements?limit=100", 50)
    assert body["metadata"]["count"] == 50
    row = body["results"][0]
    assert {
        "measurement_uid",
        "anomaly",
        "confirmed",
        "failure",
        "measurement_url",
        "probe_network_name",
    } <= set(row)
    blocked = loaded.get("/api/v1/measurements?anomaly=true&limit=100").json()
    assert blocked["metadata"]["count"] == 26  # our layered verdicts on the QA scenarios
    by_input = loaded.get(
        "/api/v1/measurements?test_name=web_connectivity&probe_cc=IT"
        "&probe_asn=AS137&limit=5&offset=5"
    ).json()
    assert len(by_input["results"]) == 5 and by_input["metadata"]["offset"] == 5


def test_aggregation_json_and_csv(loaded: TestClient) -> None:
    wait_for(loaded, "/api/v1/measurements", 50)
    total = loaded.get("/api/v1/aggregation").json()["result"]
    assert total["measurement_count"] == 50
    counts = ("anomaly_count", "failure_count", "ok_count", "down_count")
    assert sum(total[name] for name in counts) == 50  # each measurement counted once
    grid = loaded.get(
        "/api/v1/aggregation?axis_x=measurement_start_day&axis_y=probe_asn&time_grain=day"
    ).json()
    assert grid["dimension_count"] == 2
    assert grid["result"][0]["probe_asn"] == "AS137"
    assert grid["result"][0]["probe_network_name"] == "Consortium GARR"
    table = loaded.get("/api/v1/aggregation?axis_x=outcome&format=CSV")
    assert table.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.text)))
    # insufficient: the two controlFailure* scenarios (no control, no verdict)
    assert {r["outcome"] for r in rows} == {"blocked", "down", "ok", "insufficient"}
    assert sum(int(r["measurement_count"]) for r in rows) == 50


def test_measurement_raw_and_analysis(loaded: TestClient) -> None:
    body = wait_for(loaded, "/api/v1/measurements", 50)
    uid = body["results"][0]["measurement_uid"]
    one = loaded.get(f"/api/v1/measurement/{uid}").json()
    assert one["raw_measurement"]["test_name"] == "web_connectivity"
    raw = loaded.get(f"/api/v1/raw_measurement?measurement_uid={uid}").json()
    assert raw["report_id"] == one["report_id"]
    analysis = loaded.get("/api/v1/analysis?outcome=blocked&layer=dns&limit=100").json()
    assert analysis["results"] and all(r["layer"] == "dns" for r in analysis["results"])


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/measurements?probe_cc=Italy", 400),
        ("/api/v1/measurements?probe_asn=ASX", 400),
        ("/api/v1/measurements?since=yesterday", 400),
        ("/api/v1/measurements?anomaly=maybe", 400),
        ("/api/v1/measurements?limit=0", 400),
        ("/api/v1/measurements?order_by=password", 400),
        ("/api/v1/aggregation?axis_x=probe_ip", 400),
        ("/api/v1/aggregation?axis_x=probe_cc&time_grain=fortnight", 400),
        ("/api/v1/measurement/nope", 404),
        ("/api/v1/raw_measurement", 400),
        ("/api/v1/raw_measurement?measurement_uid=nope", 404),
        ("/api/v1/test-list/urls?country_code=QQ", 400),
    ],
)
def test_bad_queries_are_clear_4xx(loaded: TestClient, path: str, status: int) -> None:
    response = loaded.get(path)
    assert response.status_code == status
    assert "error" in response.json()


def test_probe_services(loaded: TestClient) -> None:
    helpers = loaded.get("/api/v1/test-helpers").json()
    assert helpers["web-connectivity"][0]["address"].endswith("/th/")
    urls = loaded.get("/api/v1/test-list/urls?country_code=IT&limit=10").json()
    assert urls["metadata"]["count"] == 10 and {"url", "category_code"} <= set(urls["results"][0])
    checked = loaded.post(
        "/api/v1/check-in", json={"probe_cc": "IT", "probe_asn": "AS137", "run_type": "timed"}
    ).json()
    assert len(checked["tests"]["web_connectivity"]["urls"]) == 20
    assert checked["tests"]["web_connectivity"]["report_id"].split("_")[2] == "IT"
    assert loaded.get("/th/").json() == {"message": "Hello OONItarian!"}
