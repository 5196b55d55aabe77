"""The collector speaks OONI's protocol, stores every measurement once, durably."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import zstandard
from starlette.testclient import TestClient

from netvigil.observatory.intake import MAX_BODY
from netvigil.scrub import Scrubber
from tests.corpus import MEASUREMENTS, qa_files
from tests.observatory.apps import observatory, open_report, submit
from tests.observatory.hostile import HOSTILE, Spoil, base, submission

EXPECTED = MEASUREMENTS / "probe-cli-misc" / "collector-expected.jsonl"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """The collector and probe services over a fresh data folder (`client.app.state.archive`)."""
    with observatory(tmp_path) as running:
        yield running.client


def test_every_qa_measurement_is_stored_once_with_a_stable_uid(client: TestClient) -> None:
    report = open_report(client)
    uids = []
    for path in qa_files():
        content = json.loads(path.read_text())
        first = submit(client, report, content)
        again = submit(client, report, content)  # a retry of the same measurement
        assert first.status_code == again.status_code == 200, first.text
        assert first.json()["measurement_uid"] == again.json()["measurement_uid"]
        uids.append(first.json()["measurement_uid"])
    assert len(set(uids)) == 50
    uid = uids[0]
    assert re.fullmatch(r"\d{14}\.\d{6}_IT_web_connectivity_[0-9a-f]{16}", uid), uid
    archive = client.app.state.archive  # type: ignore[attr-defined]
    assert len(list(archive.all())) == 50


def test_ooni_probe_fixture_body_is_accepted_once_its_report_is_ours(client: TestClient) -> None:
    body = json.loads(EXPECTED.read_text())
    unmodified = client.post(f"/report/{body['content']['report_id']}", json=body)
    assert unmodified.status_code == 404 and "_id" in unmodified.json()["error"]
    content = body["content"]
    content.update(probe_cc="IT", probe_asn="AS137")
    report = open_report(client, "IT", "AS137", "dummy")
    accepted = submit(client, report, content)
    assert accepted.status_code == 200 and accepted.json()["measurement_uid"]
    archive = client.app.state.archive  # type: ignore[attr-defined]
    (stored,) = list(archive.all())
    assert "probe_ip_replaced" in stored.flags
    assert json.loads(bytes(stored.measurement))["probe_ip"] == "127.0.0.1"


def test_unknown_location_is_stored_and_flagged(client: TestClient) -> None:
    report = open_report(client, "ZZ", "AS0", "web_connectivity")
    content = json.loads(qa_files()[0].read_text())
    content.update(probe_cc="ZZ", probe_asn="AS0")
    assert submit(client, report, content).status_code == 200
    (stored,) = list(client.app.state.archive.all())  # type: ignore[attr-defined]
    assert stored.flags == ("unknown_location",)


def test_zstd_bodies(client: TestClient) -> None:
    report = open_report(client)
    content = json.loads(qa_files()[1].read_text())
    packed = zstandard.ZstdCompressor().compress(
        json.dumps({"format": "json", "content": content}).encode()
    )
    response = client.post(
        f"/report/{report}",
        content=packed,
        headers={"Content-Encoding": "zstd", "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("path", "body", "status", "fragment"),
    [
        ("/report", b"{not json", 400, "expected JSON"),
        (
            "/report",
            b'{"probe_cc": "Italy", "probe_asn": "AS1", "test_name": "x"}',
            400,
            "probe_cc",
        ),
        (
            "/report/20240214T090617Z_webconnectivity_IT_30722_n1_1IvUiXNWHooB5rmD",
            b'{"format":"json","content":{}}',
            404,
            "not opened by this collector",
        ),
        ("/report/nonsense", b"{}", 404, "malformed report_id"),
        ("/api/v1/check-in", b"[1, 2", 400, "bad check-in request"),
        ("/api/v1/geolookup", b"{not json", 400, "bad geolookup request"),
        ("/api/v1/geolookup", b'{"addresses": "1.2.3.4"}', 400, "a list of strings"),
        (
            "/api/v1/geolookup",
            b'{"addresses": ["1.1.1.1"' + b', "1.1.1.1"' * 1000 + b"]}",
            400,
            "at most 1000 addresses",
        ),
    ],
)
def test_bad_requests_are_clear_4xx(
    client: TestClient, path: str, body: bytes, status: int, fragment: str
) -> None:
    response = client.post(path, content=body)
    assert response.status_code == status
    assert fragment in response.json()["error"]


def test_mismatched_body_names_the_report(client: TestClient) -> None:
    report = open_report(client, "IT", "AS137")
    content = json.loads(qa_files()[0].read_text())
    content["probe_cc"] = "BR"
    response = submit(client, report, content)
    assert response.status_code == 409 and report in response.json()["error"]
    assert "probe_cc" in response.json()["error"]


def test_failed_fsync_is_a_5xx_never_a_200(tmp_path: Path) -> None:
    calls = {"n": 0}

    def failing(descriptor: int) -> None:
        calls["n"] += 1
        if calls["n"] > 1:  # the archive's first directory fsync works; then the disk fails
            raise OSError(5, "Input/output error")

    with observatory(tmp_path, fsync=failing) as running:
        report = open_report(running.client)
        for path in qa_files()[:3]:
            response = submit(running.client, report, json.loads(path.read_text()))
            assert response.status_code == 500, response.text
            assert response.json() == {
                "error": "the measurement could not be stored durably; retry later"
            }


def test_future_start_time_is_flagged(client: TestClient) -> None:
    report = open_report(client)
    content = json.loads(qa_files()[2].read_text())
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    content["measurement_start_time"] = future.strftime("%Y-%m-%d %H:%M:%S")
    assert submit(client, report, content).status_code == 200
    (stored,) = list(client.app.state.archive.all())  # type: ignore[attr-defined]
    assert stored.flags == ("start_time_in_future",)


def test_oversize_body_is_413(client: TestClient) -> None:
    report = open_report(client)
    big = b'{"format": "json", "content": {"x": "' + b"a" * (17 << 20) + b'"}}'
    response = client.post(f"/report/{report}", content=big)
    assert response.status_code == 413
    assert response.json() == {"error": f"request body over {MAX_BODY} bytes"}
    bomb = zstandard.ZstdCompressor().compress(b" " * (17 << 20))
    inflated = client.post(f"/report/{report}", content=bomb, headers={"Content-Encoding": "zstd"})
    assert inflated.status_code == 413
    assert inflated.json() == {"error": f"decompressed body over {MAX_BODY} bytes"}


@pytest.mark.parametrize(("name", "spoil", "field"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_measurement_the_records_cannot_read_is_a_400_naming_the_field(
    client: TestClient, name: str, spoil: Spoil, field: str
) -> None:
    report = open_report(client)
    response = client.post(f"/report/{report}", content=submission(spoil, base()))
    assert response.status_code == 400, response.text
    message = response.json()["error"]
    assert field in message
    assert "\n" not in message
    assert not list(client.app.state.archive.all())  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"probe_asn": "AS99999999999999999999"}, "probe_asn"),  # no table holds it
        ({"probe_asn": "AS4294967296"}, "probe_asn"),
        ({"test_name": "ＷＥＢ_connectivity"}, "test_name"),  # a partition's folder name
        ({"test_name": "web_connectivity/../../x"}, "test_name"),
        ({"probe_cc": "ÉÜ"}, "probe_cc"),
    ],
)
def test_a_report_the_tables_could_not_hold_is_refused(
    client: TestClient, spec: dict[str, str], fragment: str
) -> None:
    body = {"probe_cc": "IT", "probe_asn": "AS137", "test_name": "web_connectivity", **spec}
    response = client.post("/report", json=body)
    assert response.status_code == 400 and fragment in response.json()["error"]


def test_deep_json_opening_a_report_is_a_400(client: TestClient) -> None:
    response = client.post("/report", content=b"[" * 5000 + b"]" * 5000)
    assert response.status_code == 400 and "expected JSON" in response.json()["error"]


PROBE = "203.0.113.7"  # a documentation address: text only, never contacted
PROBE_FORMS = [
    PROBE,
    "203-0-113-7.dyn.example.net",
    "7.113.0.203.in-addr.arpa",
    "203.000.113.007",
    "::ffff:203.0.113.7",
    "::ffff:cb00:7107",
    "2002:cb00:7107::1",  # 6to4 of the address
    "3405803783",  # the 32-bit integer form
    "203%2E0%2E113%2E7",
]


def test_the_probe_address_is_scrubbed_from_every_field_before_storage(tmp_path: Path) -> None:
    measurement = base()
    measurement["probe_ip"] = PROBE
    keys = measurement["test_keys"]
    forms = " ".join(PROBE_FORMS)
    keys["queries"][0]["answers"].append({"answer_type": "A", "ipv4": PROBE, "ttl": 60})
    keys["queries"][0]["answers"].append({"answer_type": "PTR", "hostname": PROBE_FORMS[2]})
    keys["requests"][0]["response"]["body"] = f"<p>your address: {forms}</p>"
    keys["requests"][0]["response"]["headers"]["X-Forwarded-For"] = PROBE_FORMS[1]
    keys["requests"][0]["request"]["headers"]["X-Real-Ip"] = PROBE_FORMS[4]
    keys["tcp_connect"].append({"ip": PROBE, "port": 443, "status": {"success": True}})
    measurement["annotations"] = {"origin": f"{PROBE}:8080", "again": PROBE_FORMS[3]}
    # The JSON escape of a '.' hides the address from a plain text search, not from us.
    body = json.dumps({"format": "json", "content": measurement}).replace(
        "<p>your address:", "<p>\\u0032\\u0030\\u0033\\u002e0\\u002e113\\u002e7 and"
    )
    with observatory(tmp_path) as running:
        client = running.client
        report = open_report(client)
        answer = client.post(f"/report/{report}", content=body.encode())
        assert answer.status_code == 200, answer.text
        uid = answer.json()["measurement_uid"]
        again = client.post(f"/report/{report}", content=body.encode())
        assert again.json()["measurement_uid"] == uid  # the dedup key saw the same text
        assert running.analyse() == 1
        seen = client.get(f"/api/v1/measurement/{uid}").json()
        served = [
            client.get(f"/api/v1/measurement/{uid}").text,
            client.get(f"/api/v1/raw_measurement?measurement_uid={uid}").text,
            client.get("/api/v1/measurements").text,
            client.get("/api/v1/analysis").text,
            client.get("/api/v1/aggregation?axis_x=input").text,
        ]
    stored = [p.read_text() for p in (tmp_path / "archive").glob("*.jsonl")]
    tables = [json.dumps(t, default=str) for t in _tables(tmp_path / "tables" / "analysis")]
    scrubber = Scrubber([PROBE])
    for text in [*stored, *tables, *served]:
        for form in PROBE_FORMS:
            assert form not in text
        assert scrubber.text(text) == text  # nothing left in any spelling the scrubber knows
        assert "\\u0032\\u0030\\u0033" not in text
    assert "[scrubbed]" in stored[0] and '"probe_ip":"127.0.0.1"' in stored[0]
    assert seen["scores"]["outcome"] != "error"  # scrubbed text still reads as a measurement


def _tables(folder: Path) -> list[dict[str, Any]]:
    return [row for f in folder.rglob("*.parquet") for row in pq.read_table(f).to_pylist()]
