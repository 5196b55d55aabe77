"""`netvigil serve --demo`'s data (cli/demo_data.py): each part real, labelled, loaded once.

Expected values come from the corpus, counted here by other means than the code's: OONI's
fastpath rows by a regex over the .sql file's VALUES (the converter scans characters), the
nights of Bago's cuts from the raw Monash file (tests/detect/test_engine.py).
"""

from __future__ import annotations

import collections
import datetime as dt
import gzip
import hashlib
import json
import re
import shutil
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import msgspec
import pyarrow.parquet as pq
import pytest
import rfc8785
from starlette.testclient import TestClient

from netvigil.cli import demo_data
from netvigil.cli.demo_incidents import BAGO_ID, FACEBOOK_ID
from netvigil.datadir import DataDir
from netvigil.detect.series import read_series
from netvigil.incidents.access import ANONYMOUS
from netvigil.incidents.evidence import ObservatoryEvidence
from netvigil.incidents.instance import Instance
from netvigil.observatory import ooni_verdicts
from netvigil.observatory.data import ObservatoryData, query_rows
from netvigil.observatory.eventstore import EventStore, Query
from netvigil.observatory.sources import scan_archive
from netvigil.server import create_app
from tests.corpus import CORPUS, MEASUREMENTS
from tests.detect.test_engine import bago, nights

ROOT = Path(__file__).resolve().parents[2]
SQL = MEASUREMENTS / "ooni-backend-fastpath-rows-1081.sql"
BAGO = CORPUS / "shutdowns" / "series" / "monash-mmr-2021-04-09_Bago.csv"
SAMPLES = Path(str(files("netvigil") / "data" / "samples"))
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
URL = "http://127.0.0.1:8000"
KEPT = {
    "measurement_uid", "report_id", "input", "domain", "probe_cc", "probe_asn", "test_name",
    "measurement_start_time", "anomaly", "confirmed", "msm_failure", "blocking_type", "scores",
    "software_name", "software_version",
}  # fmt: skip
# The .sql file's columns by position (its INSERTs name them in this order).
UID, CC, ASN, TEST, DOMAIN, ANOMALY, CONFIRMED, FAILURE = 0, 3, 4, 5, 14, 11, 12, 13
_TOKEN = re.compile(r"'(?:[^'\\]|\\.)*'|NULL|[0-9][0-9.]*")


def sql_rows() -> list[list[str]]:
    """Each line's VALUES as strings (quotes off), by a regex over the tuple."""
    rows = []
    for line in SQL.read_text().splitlines():
        values = line.split(" VALUES (", 1)[1]
        rows.append([t[1:-1] if t.startswith("'") else t for t in _TOKEN.findall(values)])
    assert {len(r) for r in rows} == {34}
    return rows


def tally(rows: list[list[str]], *key: int) -> dict[tuple[str, ...], tuple[int, int, int, int]]:
    """(measurements, anomalies, confirmed, failures) per key."""
    found: dict[tuple[str, ...], list[int]] = collections.defaultdict(lambda: [0, 0, 0, 0])
    for r in rows:
        counts = found[tuple(r[k] for k in key)]
        for n, flag in enumerate((None, ANOMALY, CONFIRMED, FAILURE)):
            counts[n] += 1 if flag is None else r[flag] == "t"
    return {k: (v[0], v[1], v[2], v[3]) for k, v in found.items()}


class State(msgspec.Struct, frozen=True):
    analysis: list[str]
    verdicts: list[dict[str, Any]]
    events: list[tuple[str, str | None, str]]  # id, withdrawn, first seen
    changes: int
    incidents: list[tuple[str, int, str]]  # id, revision, visibility
    members: list[str]


def state(folder: DataDir) -> State:
    uids = query_rows(folder.tables, "SELECT measurement_uid FROM analysis ORDER BY 1", [])
    store = EventStore(folder.events)
    with store._connect() as db:
        events = [tuple(r) for r in db.execute("SELECT id, withdrawn, first_seen FROM events")]
        changes = db.execute("SELECT count(*) FROM changes").fetchone()[0]
    instance = instance_of(folder)
    with instance.engine.connect() as connection:
        members = [r[0] for r in connection.exec_driver_sql("SELECT name FROM members ORDER BY 1")]
    found = instance.service.load_many(sorted(instance.service.readable_ids(ANONYMOUS)))
    return State(
        analysis=[r["measurement_uid"] for r in uids],
        verdicts=pq.read_table(folder.ooni_verdicts).to_pylist(),
        events=sorted(events),
        changes=changes,
        incidents=[(i.id, i.revision, i.visibility) for i in found],
        members=members,
    )


def instance_of(folder: DataDir) -> Instance:
    data = ObservatoryData(folder.tables, scan_archive(folder.archive))
    return Instance(folder.root, url=URL, evidence=ObservatoryEvidence(data), now=lambda: NOW)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[DataDir, State, State]:
    """The demo loaded into a new folder, then again an hour later: (folder, after each)."""
    folder = DataDir(root=tmp_path_factory.mktemp("demo"))
    kept = {"geoip": None, "url": URL, "database": None}
    demo_data.load(folder, now=NOW, **kept)  # type: ignore[arg-type]
    first = state(folder)
    demo_data.load(folder, now=NOW + dt.timedelta(hours=1), **kept)  # type: ignore[arg-type]
    return folder, first, state(folder)


def test_sources_md_quotes_counts_of_the_sql_file() -> None:
    rows = sql_rows()
    doc = (SAMPLES / "SOURCES.md").read_text()
    quoted = dict(re.findall(r"^- (rows|countries|nettests|anomalies|confirmed|failures): (\d+)",
                             doc, re.MULTILINE))  # fmt: skip
    assert quoted == {
        "rows": str(len(rows)),
        "countries": str(len({r[CC] for r in rows})),
        "nettests": str(len({r[TEST] for r in rows})),
        "anomalies": str(sum(r[ANOMALY] == "t" for r in rows)),
        "confirmed": str(sum(r[CONFIRMED] == "t" for r in rows)),
        "failures": str(sum(r[FAILURE] == "t" for r in rows)),
    }
    assert quoted["rows"] == "1081" and quoted["countries"] == "47"  # as the corpus says
    bundled = gzip.decompress((SAMPLES / "ooni-fastpath-rows.jsonl.gz").read_bytes())
    assert [json.loads(line)["measurement_uid"] for line in bundled.splitlines()] == [
        r[UID] for r in rows
    ]


def test_the_verdicts_table_is_the_sql_files_rows_and_counts(
    loaded: tuple[DataDir, State, State],
) -> None:
    folder, _, _ = loaded
    rows = sql_rows()
    table = pq.read_table(folder.ooni_verdicts)
    assert table.num_rows == 1081
    assert set(table.column_names) == KEPT  # no address column, nothing else
    per_country = tally(rows, CC)
    found = ooni_verdicts.countries(folder.ooni_verdicts)
    assert {(c.probe_cc,): (c.measurements, c.anomalies, c.confirmed, c.failures)
            for c in found} == per_country  # fmt: skip
    per_test = tally(rows, CC, TEST)
    assert {(c.probe_cc, t.test_name): (t.measurements, t.anomalies, t.confirmed, t.failures)
            for c in found for t in c.by_test} == per_test  # fmt: skip
    assert {c.source for c in found} == {"OONI fastpath"}
    iran = ooni_verdicts.country(folder.ooni_verdicts, "IR")
    assert iran is not None and (iran.measurements, iran.confirmed) == (33, 12)  # SOURCES.md


def test_the_network_domain_and_uid_queries_count_as_the_sql_file(
    loaded: tuple[DataDir, State, State],
) -> None:
    table = loaded[0].ooni_verdicts
    rows = sql_rows()
    networks = ooni_verdicts.networks(table, cc="RU")
    by_network = {k: v for k, v in tally(rows, CC, ASN).items() if k[0] == "RU"}
    assert {("RU", str(n.probe_asn)): (n.measurements, n.anomalies, n.confirmed, n.failures)
            for n in networks} == by_network  # fmt: skip
    twitter = ooni_verdicts.domains(table, domain="twitter.com")
    by_country = {k: v for k, v in tally(rows, CC, DOMAIN).items() if k[1] == "twitter.com"}
    assert {(d.probe_cc, d.domain): (d.measurements, d.anomalies, d.confirmed, d.failures)
            for d in twitter} == by_country  # fmt: skip
    (first,) = [r for r in rows if r[UID] == "20240101000001.568391_SE_dnscheck_2c4c15529c6e2e15"]
    (verdict,) = ooni_verdicts.measurement(table, first[UID])
    assert (verdict.probe_cc, verdict.probe_asn, verdict.test_name) == ("SE", 44034, "dnscheck")
    assert (verdict.anomaly, verdict.msm_failure, verdict.source) == (False, True, "OONI fastpath")
    assert verdict.scores == json.loads(first[9])
    assert ooni_verdicts.measurement(table, "no-such-uid") == []
    assert ooni_verdicts.country(table, "'; DROP TABLE ooni; --") is None
    assert ooni_verdicts.countries(table.with_name("missing.parquet")) == []


def test_hostile_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    good = gzip.decompress((SAMPLES / "ooni-fastpath-rows.jsonl.gz").read_bytes()).splitlines()[0]
    row = json.loads(good)
    hostile = [
        b"{not json",
        b"[1, 2]",
        json.dumps(row | {"probe_asn": "AS1"}).encode(),
        json.dumps(row | {"anomaly": "t"}).encode(),
        json.dumps(row | {"measurement_start_time": "2024-01-01T00:00:01"}).encode(),  # no zone
        json.dumps(row | {"probe_ip": "192.0.2.1"}).encode(),  # a column that is not kept
        good,  # a uid seen before
        b"[" * 100_000,
    ]
    table = tmp_path / "verdicts.parquet"
    loaded = ooni_verdicts.load([good, b"", *hostile], table)
    assert (loaded.rows, loaded.skipped) == (1, len(hostile))
    assert pq.read_table(table).column("measurement_uid").to_pylist() == [row["measurement_uid"]]
    # A row, a line too long to be one, then a gzip member that breaks off (a cut download).
    whole = gzip.compress(good + b"\n" + b"x" * (ooni_verdicts.MAX_LINE + 5) + b"\n")
    cut = gzip.compress(good + b"\n" + good + b"\n")
    (tmp_path / "broken.jsonl.gz").write_bytes(whole + cut[: len(cut) // 2])
    loaded = ooni_verdicts.load_file(tmp_path / "broken.jsonl.gz", table)
    assert (loaded.rows, loaded.skipped) == (1, 2)


@pytest.mark.parametrize(
    ("script", "bundled"),
    [
        ("convert-fastpath-rows", SAMPLES / "ooni-fastpath-rows.jsonl.gz"),
        ("convert-monash-bago", SAMPLES.parent / "series" / demo_data.SERIES),
    ],
)
def test_the_scripts_make_the_bundled_files_byte_for_byte(
    tmp_path: Path, script: str, bundled: Path
) -> None:
    source = {"convert-fastpath-rows": SQL, "convert-monash-bago": BAGO}[script]
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / script), str(source), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out").read_bytes() == bundled.read_bytes()


def test_the_bundled_series_is_the_raw_files_replies_per_hour() -> None:
    with gzip.open(Path(str(files("netvigil") / "data" / "series" / demo_data.SERIES))) as z:
        text = z.read()
    raw = bago()
    assert text.count(b"\n") == len(raw.times) + 1
    (series,) = demo_data_series(text)
    assert (series.entity, series.signal, series.step) == ("region:MM-02", "responses", 3600)
    assert series.times.tolist() == raw.times.tolist()
    assert series.values.tolist() == raw.values.tolist()
    assert sum(series.values) == 12_239  # one reply per row of the Monash file


def demo_data_series(text: bytes) -> list[Any]:
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        plain = Path(scratch) / "series.csv"
        plain.write_bytes(text)
        return read_series(plain)


def test_the_event_store_has_one_outage_a_night_of_the_cuts(
    loaded: tuple[DataDir, State, State],
) -> None:
    store = EventStore(loaded[0].events)
    stored = store.select(Query(entity="region:MM-02", limit=1000))
    events = [s.event for s in stored]
    # The raw file: no replies 01:00-09:00 local every night from 15 Feb to 27 Apr 2021.
    first, last = dt.date(2021, 2, 15), dt.date(2021, 4, 27)
    every_night = {first + dt.timedelta(days=n) for n in range((last - first).days + 1)}
    assert nights(events) == every_night
    assert len(events) == len(every_night)  # one each
    assert {(e.kind, e.cause) for e in events} == {("outage", "unknown")}
    assert {s.countries for s in stored} == {("MM",)}
    # A server round reads its last 35 days: it withdraws none of them.
    store.update([], since=NOW - dt.timedelta(days=35), now=NOW + dt.timedelta(days=1))
    assert len(store.select(Query(entity="region:MM-02", limit=1000))) == len(every_night)


def test_the_incidents_are_public_and_their_evidence_resolves(
    loaded: tuple[DataDir, State, State],
) -> None:
    folder = loaded[0]
    service = instance_of(folder).service
    facebook = service.get(ANONYMOUS, FACEBOOK_ID)
    assert (facebook.visibility, facebook.kind, facebook.countries) == (
        "public", "website_blocking", ["IR"],
    )  # fmt: skip
    assert facebook.techniques == ["dns_blockpage_ip"]
    assert [(t.type, t.value) for t in facebook.targets] == [("domain", "www.facebook.com")]
    assert [n.asn for n in facebook.networks] == [197207]
    (evidence,) = service.view(ANONYMOUS, [facebook])[0].evidence  # what the public is shown
    raw = ObservatoryData(folder.tables, scan_archive(folder.archive)).raw_measurement(evidence.ref)
    assert raw is not None and hashlib.sha256(raw).hexdigest() == evidence.sha256
    measured = json.loads(raw)
    assert (measured["probe_cc"], measured["probe_asn"], measured["input"]) == (
        "IR", "AS197207", "https://www.facebook.com/",
    )  # fmt: skip
    outages = service.get(ANONYMOUS, BAGO_ID)
    assert (outages.visibility, outages.kind, outages.subdivisions) == (
        "public", "outage", ["MM-02"],
    )  # fmt: skip
    assert "cause:unknown" in outages.tags and "shutdown" not in outages.title["en"]
    store = EventStore(folder.events)
    shown = service.view(ANONYMOUS, [outages])[0].evidence
    assert len(shown) == 72
    for item in shown:
        assert item.type == "changepoint" and item.ref.startswith(f"{URL}/api/v1/events/")
        stored = store.get(item.ref.rsplit("/", 1)[1])
        assert stored is not None and stored.event.entity == "region:MM-02"
        record = rfc8785.dumps(msgspec.to_builtins(stored.event))
        assert hashlib.sha256(record).hexdigest() == item.sha256


def test_loading_twice_changes_nothing(loaded: tuple[DataDir, State, State]) -> None:
    _, first, second = loaded
    assert (len(first.analysis), len(first.verdicts), len(first.events)) == (27, 1081, 72)
    assert [i[0] for i in first.incidents] == sorted([FACEBOOK_ID, BAGO_ID])
    assert second == first


def test_serve_says_what_each_part_is_and_its_licence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from netvigil.cli.serve import load_demo

    assert load_demo(DataDir(root=tmp_path), url=URL) == 27
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 4
    assert "loaded 27 sample measurements (15 web_connectivity, 12 of apps" in lines[0]
    assert "CC BY-NC-SA 4.0" in lines[0]
    assert "1081 of OONI's own verdicts" in lines[1] and "OONI fastpath" in lines[1]
    assert "72 detection events" in lines[2] and "GPL-3.0" in lines[2]
    assert f"{URL}/incidents/{FACEBOOK_ID}" in lines[3]


def test_the_events_pages_credit_the_series_they_were_detected_in(
    loaded: tuple[DataDir, State, State],
) -> None:
    """Monash IP Observatory's data may ship with attribution: the pages that show its
    events (the home page, the events list and each event) say whose series it is."""
    folder, _, _ = loaded
    client = TestClient(create_app(folder.root))
    (event, *_) = EventStore(folder.events).select(Query(entity="region:MM-02", limit=1))
    for path in ("/", "/events", f"/events/{event.event.id}"):
        page = client.get(path, headers={"Accept": "text/html"})
        assert page.status_code == 200, path
        assert "Monash IP Observatory: pings from Bago, Myanmar" in page.text, path


def test_what_works_here_in_the_demo_is_told_as_of_its_newest_measurement(
    loaded: tuple[DataDir, State, State],
) -> None:
    """The demo's measurements are years old: each country's "What works here now" ends at
    its newest app or tool measurement, says "as of" then, and links its witness. Expected
    from samples/SOURCES.md and the measurements' keys: BR's vanilla_tor (2023-08-18 09:53:35)
    reached "Bootstrapped 100%", CN's (2022-08-02 21:55:29) never did."""
    folder, _, _ = loaded
    assert folder.demo.is_file()
    client = TestClient(create_app(folder.root, now=lambda: NOW))
    page = client.get("/country/BR", headers={"Accept": "text/html"})
    assert page.status_code == 200
    section = page.text.split('id="works-here"', 1)[1].split("</section>", 1)[0]
    assert "As of 2023-08-18 09:53 UTC" in section
    assert "the day up to the newest measurement here, not today" in section
    (tor,) = re.findall(r'<tr data-test="vanilla_tor" data-status="works">.*?</tr>', section, re.S)
    (uid,) = re.findall(r'href="/measurement/([^"]+)"', tor)
    assert (
        "20230818T095208Z_vanillator_BR_8167_n1_wRBCJUVksSa3CzKk"
        in client.get(f"/api/v1/measurement/{uid}").text
    )
    china = client.get("/api/v1/works_here?probe_cc=CN").json()
    assert (china["as_of"], china["until"]) == ("2022-08-02T21:55:29Z", "2022-08-02T21:55:29Z")
    (blocked,) = [i for i in china["items"] if i["measurements"]]
    assert (blocked["test_name"], blocked["status"]) == ("vanilla_tor", "blocked")
    assert blocked["witness_url"].endswith(f"/api/v1/measurement/{blocked['witness_uid']}")
    assert china["guidance"] == [
        "Tor blocked (vanilla_tor) — 1 measurement, last under a minute ago, "
        "as of 2022-08-02T21:55:29Z"
    ]


def test_without_the_demo_mark_the_window_ends_now(
    loaded: tuple[DataDir, State, State], tmp_path: Path
) -> None:
    """The same measurements in a folder that is no demo's: nothing in the last day."""
    folder, _, _ = loaded
    copy = DataDir(root=tmp_path / "copy")
    shutil.copytree(folder.tables, copy.tables)
    client = TestClient(create_app(copy.root, now=lambda: NOW))
    works = client.get("/api/v1/works_here?probe_cc=BR").json()
    assert works["as_of"] is None and not any(i["measurements"] for i in works["items"])
    page = client.get("/country/BR", headers={"Accept": "text/html"}).text
    assert "As of" not in page and "measured here in the last day" in page
