"""Submitted measurements, once analysed, are queryable through OONI-compatible endpoints.

The collector, probe services and data API without the pipeline's process: the fixture runs
the pipeline's step itself (tests/observatory/apps.py). How soon a running server's pipeline
makes them visible is test_pipeline.py's and test_server.py's business.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from tests.corpus import MEASUREMENTS, qa_files
from tests.observatory.apps import observatory, open_report, submit

OONI_ROW = [
    "measurement_uid",
    "report_id",
    "input",
    "probe_cc",
    "probe_asn",
    "probe_network_name",
    "test_name",
    "measurement_start_time",
    "anomaly",
    "confirmed",
    "failure",
    "scores",
    "measurement_url",
]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with observatory(tmp_path_factory.mktemp("observatory")) as running:
        report = open_report(running.client)
        for path in qa_files():
            assert submit(running.client, report, json.loads(path.read_text())).status_code == 200
        assert running.analyse() == 50
        yield running.client


def test_analysed_submissions_are_listed_in_oonis_row_shape(loaded: TestClient) -> None:
    body = loaded.get("/api/v1/measurements?limit=100").json()
    assert body["metadata"]["count"] == 50
    row = body["results"][0]
    assert list(row) == OONI_ROW
    assert list(row["scores"]) == [
        "outcome",
        "layer",
        "technique",
        "rule",
        "confidence",
        "error",
        "vendor",
    ]
    assert (
        row["measurement_url"] == f"http://testserver/api/v1/measurement/{row['measurement_uid']}"
    )
    blocked = loaded.get("/api/v1/measurements?anomaly=true&limit=100").json()
    assert blocked["metadata"]["count"] == 26  # our layered verdicts on the QA scenarios
    by_input = loaded.get(
        "/api/v1/measurements?test_name=web_connectivity&probe_cc=IT"
        "&probe_asn=AS137&limit=5&offset=5"
    ).json()
    assert len(by_input["results"]) == 5 and by_input["metadata"]["offset"] == 5


def test_aggregation_json_and_csv(loaded: TestClient) -> None:
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
    body = loaded.get("/api/v1/measurements").json()
    uid = body["results"][0]["measurement_uid"]
    one = loaded.get(f"/api/v1/measurement/{uid}").json()
    assert one["raw_measurement"]["test_name"] == "web_connectivity"
    raw = loaded.get(f"/api/v1/raw_measurement?measurement_uid={uid}").json()
    assert raw["report_id"] == one["report_id"]
    analysis = loaded.get("/api/v1/analysis?outcome=blocked&layer=dns&limit=100").json()
    dns = loaded.get("/api/v1/aggregation?outcome=blocked&layer=dns").json()["result"]
    assert len(analysis["results"]) == dns["measurement_count"] > 0
    assert {(r["outcome"], r["layer"]) for r in analysis["results"]} == {("blocked", "dns")}


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/api/v1/measurements?probe_cc=Italy", 400, "probe_cc: expected two letters, got 'Italy'"),
        ("/api/v1/measurements?probe_asn=ASX", 400, "probe_asn: expected AS1234 or 1234"),
        ("/api/v1/measurements?since=yesterday", 400, "since: expected a date like 2024-02-14"),
        ("/api/v1/measurements?anomaly=maybe", 400, "anomaly: expected one of true, false"),
        ("/api/v1/measurements?limit=0", 400, "limit: expected a whole number from 1 to 10000"),
        ("/api/v1/measurements?order_by=password", 400, "order_by: expected one of"),
        ("/api/v1/measurements?limit=1&limit=2", 400, "limit: given more than once"),
        ("/api/v1/aggregation?axis_x=probe_ip", 400, "axis_x: expected one of"),
        ("/api/v1/aggregation?axis_x=probe_cc&time_grain=fortnight", 400, "time_grain: expected"),
        ("/api/v1/measurement/nope", 404, "no measurement 'nope'"),
        ("/api/v1/raw_measurement", 400, "measurement_uid is required"),
        ("/api/v1/raw_measurement?measurement_uid=nope", 404, "no raw measurement 'nope'"),
        ("/api/v1/test-list/urls?country_code=QQ", 400, "unknown country code 'QQ'"),
    ],
)
def test_bad_queries_are_clear_4xx(loaded: TestClient, path: str, status: int, error: str) -> None:
    response = loaded.get(path)
    assert response.status_code == status
    (message,) = response.json().values()
    assert message.startswith(error) and "\n" not in message, message


def test_probe_services(loaded: TestClient) -> None:
    helpers = loaded.get("/api/v1/test-helpers").json()
    assert helpers["web-connectivity"][0]["address"].endswith("/th/")
    urls = loaded.get("/api/v1/test-list/urls?country_code=IT&limit=10").json()
    assert urls["metadata"]["count"] == 10
    assert list(urls["results"][0]) == ["category_code", "country_code", "url"]
    checked = loaded.post(
        "/api/v1/check-in", json={"probe_cc": "IT", "probe_asn": "AS137", "run_type": "timed"}
    ).json()
    assert len(checked["tests"]["web_connectivity"]["urls"]) == 20
    assert checked["tests"]["web_connectivity"]["report_id"].split("_")[2] == "IT"


# --- the other nettests' techniques (analysis/nettests.py) -------------------------------

OTHER = MEASUREMENTS / "ooni-backend-fastpath-other"


@pytest.fixture(scope="module")
def tor_loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """tor.json twice (as measured: every kind reached; its one dir_port reset at connect),
    vanilla_tor.json (stalled at 5%) and vanilla_tor_ok.json (bootstrapped)."""
    tor = json.loads((OTHER / "tor.json").read_text())
    cut = copy.deepcopy(tor)
    target = cut["test_keys"]["targets"]["66.111.2.131:9030"]
    target["failure"] = "connection_reset"
    target["tcp_connect"][0]["status"] = {"failure": "connection_reset", "success": False}
    with observatory(tmp_path_factory.mktemp("tor")) as running:
        for doc in (
            tor,
            cut,
            json.loads((OTHER / "vanilla_tor.json").read_text()),
            json.loads((OTHER / "vanilla_tor_ok.json").read_text()),
        ):
            report = open_report(
                running.client, doc["probe_cc"], doc["probe_asn"], doc["test_name"]
            )
            assert submit(running.client, report, doc).status_code == 200
        assert running.analyse() == 4
        yield running.client


def test_the_api_filters_by_a_tor_technique(tor_loaded: TestClient) -> None:
    rows = tor_loaded.get("/api/v1/analysis?technique=tor.dir_port_unreachable").json()["results"]
    assert [(r["test_name"], r["outcome"], r["layer"]) for r in rows] == [("tor", "blocked", "tcp")]
    stalled = tor_loaded.get("/api/v1/measurements?technique=tor.bootstrap_stalled").json()
    assert [(r["test_name"], r["probe_cc"]) for r in stalled["results"]] == [("vanilla_tor", "CN")]
    assert stalled["results"][0]["scores"]["technique"] == "tor.bootstrap_stalled"
    by = tor_loaded.get("/api/v1/aggregation?axis_x=technique&test_name=vanilla_tor").json()
    counts = {r["technique"]: r["measurement_count"] for r in by["result"]}
    assert counts == {"tor.bootstrap_stalled": 1, "tor.bootstrapped": 1}
    # a declared id no verdict here names: an empty answer, not an error
    none = tor_loaded.get("/api/v1/analysis?technique=tor.obfs4_unreachable")
    assert none.status_code == 200 and none.json()["results"] == []


def test_a_tor_technique_as_old_rules_spelled_it_is_a_clear_400(tor_loaded: TestClient) -> None:
    # Before rules 2026.12.4 the counts were in the technique; they are witnesses now.
    answer = tor_loaded.get(
        "/api/v1/analysis", params={"technique": "1/1 dir_port targets reached"}
    )
    assert answer.status_code == 400
    (message,) = answer.json().values()
    assert message.startswith("technique: expected one of ") and "\n" not in message
    assert "tor.dir_port_reached" in message and "dns_nxdomain" in message
