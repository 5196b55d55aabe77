"""`/api/v1/events`, one event, and the Atom feed, over a real event store (SQLite) holding
events built by hand: every filter, the CSV's documented header, the feed read back by an
XML parser, and every bad parameter a one-line 400."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from netvigil.observatory import events_api
from netvigil.observatory.eventstore import EventStore
from tests.observatory.apps import bare
from tests.observatory.events import event, utc

ATOM = "{http://www.w3.org/2005/Atom}"
NATIONAL = event(
    "country:IR", "shutdown", "2026-01-08T16:00:00", cause="network_cut", confidence=0.95
)
REGION = event(
    "region:IR-23",
    "outage",
    "2026-01-05T10:00:00",
    "2026-01-05T14:00:00",
    level="warning",
    confidence=0.6,
)
NETWORK = event("asn:44244", "outage", "2026-01-03T00:00:00", "2026-01-03T05:00:00", confidence=0.8)
BLOCKING = event(
    "asn:20294",
    "blocking_change",
    "2026-01-18T19:00:00",
    "2026-01-25T01:00:00",
    level="warning",
    cause="blocking",
    confidence=0.99,
    asn=20294,
    evidence=("20260118T190512Z_webconnectivity_UG_20294_n1_a", "20260125T010301Z_b"),
)
IDS = {"IR": NATIONAL.id, "region": REGION.id, "asn": NETWORK.id, "UG": BLOCKING.id}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    store = EventStore(Path(tmp_path_factory.mktemp("events")) / "events.sqlite")
    found = [(NATIONAL, ("IR",)), (REGION, ("IR",)), (NETWORK, ("IR",)), (BLOCKING, ("UG",))]
    store.update(found, since=utc("2026-01-01T00:00:00"), now=utc("2026-01-26T00:00:00"))
    with TestClient(bare(events_api.routes(store))) as client:
        yield client


def ids(client: TestClient, query: str) -> list[str]:
    answer = client.get(f"/api/v1/events?{query}")
    assert answer.status_code == 200, answer.text
    names = {v: k for k, v in IDS.items()}
    return [names[e["id"]] for e in answer.json()["events"]]


def test_every_event_latest_start_first(client: TestClient) -> None:
    assert ids(client, "") == ["UG", "IR", "region", "asn"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("entity=country:IR", ["IR"]),
        ("entity=country:ir", ["IR"]),  # the country code is read in upper case
        ("entity=region:IR-*", ["region"]),
        ("entity=asn:*", ["UG", "asn"]),
        ("entity=asn:44244", ["asn"]),
        ("entity=asn:4424", []),  # exact: no other network's number
        ("country=IR", ["IR", "region", "asn"]),
        ("country=ug", ["UG"]),
        ("kind=outage", ["region", "asn"]),
        ("level=warning", ["UG", "region"]),
        ("min_confidence=0.9", ["UG", "IR"]),
        ("min_confidence=1", []),
        ("ongoing=true", ["IR"]),
        ("ongoing=false", ["UG", "region", "asn"]),
        ("since=2026-01-05T13:00:00Z&until=2026-01-06", ["region"]),
        ("since=2026-01-05T14:00:00Z&until=2026-01-06", []),  # it ended at 14:00
        ("since=2026-02-01", ["IR"]),  # ongoing: it overlaps every later time
        ("until=2026-01-05T10:00:00Z", ["asn"]),  # until is exclusive
        ("since=2026-01-04T23:00:00-12:00&until=2026-01-06", ["region"]),  # 11:00 UTC
        ("kind=outage&level=critical&country=IR", ["asn"]),
        ("limit=1", ["UG"]),
    ],
)
def test_filters(client: TestClient, query: str, expected: list[str]) -> None:
    assert ids(client, query) == expected


def test_one_event_and_what_the_store_adds(client: TestClient) -> None:
    body = client.get(f"/api/v1/events/{NATIONAL.id}").json()
    assert (body["entity"], body["kind"], body["cause"], body["end"]) == (
        "country:IR", "shutdown", "network_cut", None
    )  # fmt: skip
    assert body["start"] == "2026-01-08T16:00:00Z" and body["ongoing"] is True
    assert body["first_seen"] == body["last_changed"] == "2026-01-26T00:00:00Z"
    assert body["countries"] == ["IR"]
    assert body["signals"][0]["signal"] == "heartbeats"
    assert body["networks"] == [{"asn": 44244, "probes": 3, "silent": 2, "measured_locally": 2}]
    for missing in ("ev_00000000000000000000", "nonsense", "ev_"):
        answer = client.get(f"/api/v1/events/{missing}")
        assert answer.status_code == 404 and answer.json() == {"error": f"no event {missing!r}"}


def test_csv_has_the_documented_header(client: TestClient) -> None:
    answer = client.get("/api/v1/events?format=csv&entity=asn:20294")
    assert answer.headers["content-type"].startswith("text/csv")
    lines = answer.text.splitlines()
    assert lines[0] == (
        "id,entity,kind,level,start,end,detected,confidence,cause,summary,countries,signals,"
        "networks,evidence,first_seen,last_changed"
    )
    (row,) = csv.DictReader(io.StringIO(answer.text))
    assert (row["id"], row["kind"], row["start"], row["end"]) == (
        BLOCKING.id, "blocking_change", "2026-01-18T19:00:00Z", "2026-01-25T01:00:00Z"
    )  # fmt: skip
    assert row["evidence"] == (
        '["20260118T190512Z_webconnectivity_UG_20294_n1_a", "20260125T010301Z_b"]'
    )
    assert row["countries"] == '["UG"]' and row["confidence"] == "0.99"
    empty = client.get("/api/v1/events?format=CSV&kind=throttling").text
    assert empty.splitlines() == lines[:1]  # the header, even with no rows


def test_the_atom_feed_parses_and_filters(client: TestClient) -> None:
    answer = client.get("/api/v1/events.atom?country=IR")
    assert answer.headers["content-type"] == "application/atom+xml"
    feed = ET.fromstring(answer.content)
    assert feed.tag == f"{ATOM}feed"
    entries = feed.findall(f"{ATOM}entry")
    found = {e.findtext(f"{ATOM}id") for e in entries}
    assert found == {f"http://testserver/api/v1/events/{IDS[k]}" for k in ("IR", "region", "asn")}
    titles = sorted(e.findtext(f"{ATOM}title") or "" for e in entries)
    assert titles == [
        "critical outage: asn:44244 (ended 2026-01-03T05:00:00Z)",
        "critical shutdown: country:IR (ongoing)",
        "warning outage: region:IR-23 (ended 2026-01-05T14:00:00Z)",
    ]
    national = next(e for e in entries if "country:IR" in (e.findtext(f"{ATOM}title") or ""))
    terms = {c.get("term") for c in national.findall(f"{ATOM}category")}
    assert terms == {"shutdown", "level:critical", "country:IR", "cause:network_cut"}
    assert national.findtext(f"{ATOM}updated") == "2026-01-26T00:00:00+00:00"
    ongoing = ET.fromstring(client.get("/api/v1/events.atom?ongoing=true").content)
    assert len(ongoing.findall(f"{ATOM}entry")) == 1


BAD = [
    ("entity=country:IRN", "entity: unknown entity 'country:IRN'"),
    ("entity=planet:*", "entity: a prefix is country:, region: or asn: then *, got 'planet:*'"),
    ("entity=asn:0", "entity: unknown entity 'asn:0'"),
    ("country=IRN", "country: expected two letters, got 'IRN'"),
    ("kind=blackout", "kind: expected one of shutdown, outage, throttling"),
    ("level=severe", "level: expected one of warning, critical, got 'severe'"),
    ("since=yesterday", "since: expected a date like 2026-01-08"),
    ("until=2026-13-01", "until: expected a date like 2026-01-08"),
    ("min_confidence=1.5", "min_confidence: expected a number from 0 to 1, got '1.5'"),
    ("min_confidence=nan", "min_confidence: expected a number from 0 to 1, got 'nan'"),
    ("ongoing=yes", "ongoing: expected one of true, false, got 'yes'"),
    ("limit=0", "limit: expected a whole number from 1 to 1000, got '0'"),
    ("limit=1001", "limit: expected a whole number from 1 to 1000, got '1001'"),
    ("format=xml", "format: expected one of JSON, CSV, json, csv, got 'xml'"),
    ("colour=red", "colour: unknown parameter; expected entity, country, kind"),
    ("kind=", "kind: empty value (leave the parameter out to match any)"),
    ("kind=outage&kind=shutdown", "kind: given more than once"),
]


@pytest.mark.parametrize(("query", "message"), BAD)
@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/events.atom"])
def test_every_bad_parameter_is_a_one_line_400(
    client: TestClient, path: str, query: str, message: str
) -> None:
    if path.endswith(".atom") and query.startswith("format="):
        message = "format: the feed is Atom; use /api/v1/events for JSON or CSV"
    answer = client.get(f"{path}?{query}")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error.startswith(message) and "\n" not in error
    assert list(answer.json()) == ["error"]


def test_one_event_takes_no_parameters(client: TestClient) -> None:
    answer = client.get(f"/api/v1/events/{NATIONAL.id}?kind=outage")
    assert answer.status_code == 400
    assert answer.json() == {"error": "this path takes no parameters"}
