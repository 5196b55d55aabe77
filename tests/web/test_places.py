"""The place pages over real measurements: `/country/{CC}`, `/network/AS{N}`, `/domain/{name}`.

The data folder holds the corpus's web_connectivity JSONL and the bundled sample (real OONI
measurements, their overlap stored once after compaction), one blocking change-point written
by hand on the sample's Iranian measurement of www.facebook.com (the detector needs a series;
one measurement is none), and two incidents made through the incidents' own service by two
people of one organisation: one public (asked by one, approved by the other), one shared with
the coalition only. Expected values come from the data API's answers, never from the pages.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
import pytest
from starlette.testclient import TestClient

from netvigil.datadir import DataDir
from netvigil.detect.model import Event, Fired, event_id
from netvigil.incidents import accounts
from netvigil.incidents.access import ROLE_SCOPES, Principal, Role
from netvigil.incidents.instance import Instance
from netvigil.incidents.model import IncidentInput
from netvigil.observatory import ooni_verdicts, tables
from netvigil.observatory.eventstore import EventStore
from netvigil.observatory.ingest import ingest_file
from netvigil.server import create_app
from tests.corpus import JSONL

SAMPLES = Path(__file__).parents[2] / "src/netvigil/data/samples"
SAMPLE = SAMPLES / "web_connectivity.jsonl.gz"
FASTPATH = SAMPLES / "ooni-fastpath-rows.jsonl.gz"  # OONI's own verdicts (its SOURCES.md)
AT = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def load(root: Path) -> None:
    folder = DataDir(root=root)
    for path in (JSONL, SAMPLE):
        result = ingest_file(str(path), str(folder.tables))
        assert result.rows > 0 and not result.errors, result
    tables.compact(folder.tables)
    assert ooni_verdicts.load_file(FASTPATH, folder.ooni_verdicts).rows > 0


def blocking_event(uid: str) -> Event:
    start = dt.datetime(2022, 8, 15, 19, 0, tzinfo=dt.UTC)
    target = "www.facebook.com by dns_blockpage_ip"  # as detect/engine.py names a target
    return Event(
        id=event_id(f"asn:197207|IR|{target}", "blocking_change", start),
        entity="asn:197207",
        kind="blocking_change",
        level="critical",
        start=start,
        end=None,
        detected=start,
        confidence=0.9,
        cause="blocking",
        summary="blocking_change: www.facebook.com blocked by dns_blockpage_ip on AS197207 (IR)",
        evidence=(uid,),
        country="IR",
        target=target,
    )


def outage() -> Event:
    """An outage of Iran's connectivity with the one signal that fired (hand-made numbers)."""
    start = dt.datetime(2022, 9, 21, 16, 0, tzinfo=dt.UTC)
    fired = Fired(
        entity="country:IR", signal="heartbeats", at=start, baseline=40.0, value=3.0,
        ratio=0.075, statistic=12.5, threshold=8.0,
    )  # fmt: skip
    return Event(
        id=event_id("country:IR", "outage", start),
        entity="country:IR",
        kind="outage",
        level="warning",
        start=start,
        end=start + dt.timedelta(hours=5),
        detected=start,
        confidence=0.6,
        cause="unknown",
        summary="outage: heartbeats from Iran fell to 8% of the expected",
        signals=(fired,),
        country="IR",
    )


def person(instance: Instance, org: str, name: str, role: Role) -> Principal:
    ident = accounts.create_member(
        instance.engine, org, name, role.value, password=None, actor="operator", now=AT
    )
    return Principal(
        kind="member", member_id=ident, org_id=org, role=role, scopes=ROLE_SCOPES[role], name=name
    )


def incident(title: str, uid: str, visibility: str) -> IncidentInput:
    data: dict[str, Any] = {
        "title": title,
        "kind": "website_blocking",
        "countries": ["IR"],
        "start": {"time": "2022-08-15T19:00:00Z", "precision": "hour"},
        "techniques": ["dns_injection"],
        "targets": [{"type": "domain", "value": "www.facebook.com", "category_code": "GRP"}],
        "networks": [{"asn": 197207, "name": "MCCI", "type": "mobile"}],
        "evidence": [{"type": "measurement", "ref": uid}],
        "visibility": visibility,
    }
    return msgspec.convert(data, IncidentInput)


def incidents(instance: Instance, uid: str) -> tuple[str, str]:
    """(the public incident's id, the coalition one's)."""
    org = accounts.create_org(instance.engine, "Places test org", actor="operator", now=AT)
    member = person(instance, org, "asker", Role.MEMBER)
    admin = person(instance, org, "approver", Role.ORG_ADMIN)
    service = instance.service
    public = service.create(member, incident("Facebook blocked by DNS in Iran", uid, "coalition"))
    service.request_publication(member, public.id)
    assert service.review(admin, public.id, approve=True).visibility == "public"
    hidden = service.create(member, incident("Coalition-only note on Iran", uid, "coalition"))
    return public.id, hidden.id


class Places:
    def __init__(self, root: Path) -> None:
        load(root)
        self.client = TestClient(create_app(root), follow_redirects=False)
        rows = self.api("/api/v1/analysis?probe_cc=IR&outcome=blocked")["results"]
        self.facebook = next(r for r in rows if "facebook.com" in r["input"])
        uid = self.facebook["measurement_uid"]
        self.event, self.outage = blocking_event(uid), outage()
        found = [(self.event, ("IR",)), (self.outage, ("IR",))]
        EventStore(DataDir(root=root).events).update(found, since=AT, now=AT)
        instance = self.client.app.state.incidents  # type: ignore[attr-defined]
        self.public, self.hidden = incidents(instance, uid)

    def api(self, path: str) -> Any:
        answer = self.client.get(path)
        assert answer.status_code == 200, (path, answer.text)
        return answer.json()

    def page(self, path: str, code: int = 200) -> str:
        answer = self.client.get(path, headers={"Accept": "text/html"})
        assert answer.status_code == code, (path, answer.status_code, answer.text[:500])
        assert answer.headers["content-type"].startswith("text/html")
        return str(answer.text)


def text(page: str) -> str:
    """The page's main content as a reader reads it (tags out, spaces collapsed)."""
    found = re.search(r"<main.*?</main>", page, re.S)
    assert found is not None
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0))).replace(" .", ".")


FIGURE = re.compile(r'<figure class="chart".*?</figure>', re.S)
ACCESS = re.compile(r"\bok\b|accessible|showed access", re.I)


def never_reads_ok(page: str) -> None:
    """No word of access outside the charts, and the charts' tables count no ok: a chart's
    table has a column for every outcome (web/charts.py), zeros included."""
    assert not ACCESS.search(text(FIGURE.sub("", page)))
    ok = []
    for figure in FIGURE.findall(page):
        heads = re.findall(r'<th scope="col">([^<]*)</th>', figure)
        for row in re.findall(r"<tr>((?:<td>.*?</td>)+)</tr>", figure, re.S):
            cells = dict(zip(heads, re.findall(r"<td>(.*?)</td>", row), strict=True))
            ok += [cells["ok"]] if "ok" in cells else []
    assert ok and set(ok) == {"0"}  # the outcomes chart's table was read, and counts no ok


def links(page: str, prefix: str) -> list[str]:
    """The links of the page's main content starting with `prefix`."""
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    found = re.findall(r'href="([^"]+)"', main)
    return [h.replace("&amp;", "&") for h in found if h.startswith(prefix)]


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> Places:
    return Places(tmp_path_factory.mktemp("places"))


def counts(places: Places, query: str) -> dict[str, int]:
    """outcome → measurements, as the aggregation answers `query`."""
    cells = places.api(f"/api/v1/aggregation?axis_x=outcome&{query}")["result"]
    return {c["outcome"]: c["measurement_count"] for c in cells}


def blocked_rows(page: str) -> dict[str, str]:
    """The blocked list's rows: the domain (or network) named → its witness uid."""
    table = re.search(r'<table class="place-blocked">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert table is not None
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    found = {}
    for row in rows:
        named = re.search(r'href="/(?:domain|network)/([^"]+)"', row)
        witness = re.search(r'href="/measurement/([^"]+)"', row)
        assert named is not None and witness is not None, row
        found[named.group(1)] = witness.group(1)
    return found


def host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def test_the_country_overview_says_what_the_data_api_counts(places: Places) -> None:
    by_outcome = counts(places, "probe_cc=IR")
    networks = places.api("/api/v1/aggregation?axis_x=probe_asn&probe_cc=IR")["result"]
    assert len(networks) == 1 and by_outcome.get("ok", 0) == 0  # the data this test reads
    shown = text(places.page("/country/IR"))
    total = sum(by_outcome.values())
    assert f"netvigil holds {total} measurements from Iran, on one network," in shown
    assert f"{by_outcome['blocked']} showed blocking" in shown
    assert f"{by_outcome['down']} was down for the control too" in shown
    assert "No measurement shows access." in shown
    never_reads_ok(places.page("/country/IR"))


def test_every_blocked_website_has_its_technique_and_a_witness_the_api_has(
    places: Places,
) -> None:
    rows = places.api("/api/v1/analysis?probe_cc=IR&outcome=blocked&limit=1000")["results"]
    page = places.page("/country/IR")
    listed = blocked_rows(page)
    assert set(listed) == {host(r["input"]) for r in rows}
    for domain, uid in listed.items():
        witness = places.api(f"/api/v1/measurement/{uid}")
        assert witness["probe_cc"] == "IR" and witness["scores"]["outcome"] == "blocked"
        assert host(witness["input"]) == domain
    # The sample's IR AS197207 facebook.com: blocked by DNS, the address of a blockpage.
    facebook = places.facebook
    assert (facebook["probe_asn"], facebook["technique"]) == (
        "AS197207",
        "dns_blockpage_ip",
    )
    row = re.search(r'href="/domain/www.facebook.com".*?</tr>', page, re.S)
    assert row is not None and '<code class="muted">dns_blockpage_ip</code>' in row.group(0)
    assert facebook["measurement_start_time"][:10] in row.group(0)


def test_networks_are_named_and_counted_as_the_api_counts(places: Places) -> None:
    names = {
        r["probe_network_name"]
        for r in places.api("/api/v1/analysis?probe_asn=AS197207&limit=1000")["results"]
    } - {""}
    assert names == {"Mobile Communication Company of Iran PLC"}
    page = places.page("/country/IR")
    table = re.search(r'<table class="place-networks">(.*?)</table>', page, re.S)
    assert table is not None
    cells = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", table.group(1)))
    by_outcome = counts(places, "probe_asn=AS197207")
    total, blocked = sum(by_outcome.values()), by_outcome["blocked"]
    expected = f"AS197207 · Mobile Communication Company of Iran PLC {total} {blocked} "
    assert expected in cells
    assert f"{round(100 * blocked / total)}%" in cells
    assert '<a href="/network/AS197207">' in table.group(1)


def test_every_data_link_of_a_place_page_answers(places: Places) -> None:
    for path in ("/country/IR", "/network/AS197207", "/domain/www.facebook.com"):
        found = links(places.page(path), "/api/")
        assert any("format=CSV" in link for link in found), path
        for link in found:
            answer = places.client.get(link)
            assert answer.status_code == 200, link
            kind = "text/csv" if "format=" in link.lower() else "application/json"
            assert answer.headers["content-type"].startswith(kind), link


def test_a_country_with_only_insufficient_measurements_never_reads_ok(places: Places) -> None:
    cells = places.api("/api/v1/aggregation?axis_x=probe_cc&axis_y=outcome")["result"]
    outcomes: dict[str, set[str]] = {}
    for cell in cells:
        outcomes.setdefault(cell["probe_cc"], set()).add(cell["outcome"])
    only = sorted(cc for cc, seen in outcomes.items() if seen == {"insufficient"})
    assert only == ["NL", "TM"]  # the corpus's hard cases (SOURCES.md: null fields, a bad body)
    for cc in only:
        shown = text(places.page(f"/country/{cc}"))
        n = counts(places, f"probe_cc={cc}")["insufficient"]
        assert f"{n} was insufficient to decide" in shown
        assert "No measurement shows access." in shown
        assert "no evidence either way" in shown
        never_reads_ok(places.page(f"/country/{cc}"))


def test_a_real_country_with_no_data_is_a_page_not_an_error(places: Places) -> None:
    assert counts(places, "probe_cc=FR") == {}
    shown = text(places.page("/country/FR"))
    assert "Nothing is known yet about France" in shown
    assert not re.search(r"showed blocking|showed access", shown)


def test_the_network_page_counts_names_and_countries(places: Places) -> None:
    by_outcome = counts(places, "probe_asn=AS197207")
    countries = places.api("/api/v1/aggregation?axis_x=probe_cc&probe_asn=AS197207")["result"]
    page = places.page("/network/AS197207")
    shown = text(page)
    assert "<h1>AS197207 · Mobile Communication Company of Iran PLC</h1>" in page
    assert f"netvigil holds {sum(by_outcome.values())} measurements from AS197207," in shown
    assert [c["probe_cc"] for c in countries] == ["IR"]
    assert f"Measured from: Iran (IR) ({countries[0]['measurement_count']} measurements)" in shown
    rows = places.api("/api/v1/analysis?probe_asn=AS197207&outcome=blocked")["results"]
    assert set(blocked_rows(page)) == {host(r["input"]) for r in rows}


def test_the_domain_page_says_where_and_how_it_is_blocked(places: Places) -> None:
    rows = places.api("/api/v1/analysis?domain=www.facebook.com&limit=1000")["results"]
    page = places.page("/domain/www.facebook.com")
    shown = text(page)
    blocked = [r for r in rows if r["outcome"] == "blocked"]
    assert f"{len(blocked)} showed blocking" in shown
    listed = blocked_rows(page)
    assert set(listed) == {r["probe_asn"] for r in blocked}
    assert all(places.api(f"/api/v1/measurement/{uid}") for uid in listed.values())
    assert "Iran (IR)" in shown and "DNS: the address of a blockpage" in shown
    assert timeline(page) == timeline_of_api(places, page)


def timeline(page: str) -> dict[tuple[str, str], int]:
    """The timeline table: (period start, outcome column) → measurements, zeros left out."""
    table = re.search(r'<table class="place-timeline">(.*?)</table>', page, re.S)
    assert table is not None
    heads = re.findall(r'<th scope="col" class="outcome-(\w+)">', table.group(1))
    cells: dict[tuple[str, str], int] = {}
    for row in re.findall(r"<tr><th scope=\"row\">(.*?)</tr>", table.group(1), re.S):
        start = re.search(r'datetime="([^"]+)"', row)
        numbers = [int(n) for n in re.findall(r"<td>(\d+)</td>", row)]
        assert start is not None and len(numbers) == len(heads)
        cells |= {(start.group(1), h): n for h, n in zip(heads, numbers, strict=True) if n}
    return cells


def timeline_of_api(places: Places, page: str) -> dict[tuple[str, str], int]:
    """The same, as the aggregation the timeline links to answers it."""
    (query,) = [q for q in links(page, "/api/v1/aggregation?") if "time_grain" in q][:1]
    result = places.api(query)["result"]
    return {(c["measurement_start_day"][:10], c["outcome"]): c["measurement_count"] for c in result}


@pytest.mark.parametrize("path", ["/country/IT", "/network/AS137", "/domain/www.example.com"])
def test_the_timeline_table_is_the_aggregation_it_links_to(places: Places, path: str) -> None:
    page = places.page(path)
    expected = timeline_of_api(places, page)
    assert len(expected) > 1  # a timeline of more than one cell: the netem runs in Italy
    assert timeline(page) == expected


def test_events_and_incidents_of_a_place_link_to_their_pages(places: Places) -> None:
    listed = {e["id"] for e in places.api("/api/v1/events?country=IR")["events"]}
    assert places.event.id in listed
    for path in ("/country/IR", "/network/AS197207", "/domain/www.facebook.com"):
        page = places.page(path)
        assert f'href="/events/{places.event.id}"' in page, path
        assert "www.facebook.com by dns_blockpage_ip" in page
    page = places.page("/country/IR")
    row = re.search(rf'href="/events/{places.outage.id}".*?</li>', page, re.S)
    assert row is not None  # the outage, with the signal that fired: expected 40, seen 3
    assert "<td>heartbeats</td>" in row.group(0) and "<td>40.0</td><td>3.0</td>" in row.group(0)
    assert places.outage.id not in places.page("/domain/www.facebook.com")
    public = {i["id"] for i in places.api("/api/v1/incidents?country=IR")["results"]}
    assert places.public in public and places.hidden not in public
    for path in ("/country/IR", "/network/AS197207"):
        page = places.page(path)
        assert f'href="/incidents/{places.public}"' in page, path
        assert places.hidden not in page  # the coalition's incident: not for an anonymous reader
        assert "Facebook blocked by DNS in Iran" in page


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/country/%3Cscript%3E", 404),
        ("/country/ZZZ", 404),
        ("/country/X", 404),
        ("/country/%C3%9F", 404),  # ß: upper-cased it would be SS, South Sudan
        ("/network/AS99999999999", 404),
        ("/network/AS%D9%A3", 404),  # an Arabic-Indic digit is no AS number
        ("/network/197207", 404),
        ("/network/AS1", 404),  # a number nothing is known of
        ("/domain/%00", 400),
        ("/domain/" + "a" * 10_000, 400),
        ("/domain/%2E%2E", 400),
        ("/domain/a..b", 400),
        ("/domain/-a.org", 400),
        ("/domain/a/b", 400),
        ("/domain/%3Cscript%3Ealert(1)%3C%2Fscript%3E", 400),
        ("/domain/never-measured.example", 404),
    ],
)
def test_hostile_and_unknown_places_are_friendly_pages(
    places: Places, path: str, code: int
) -> None:
    page = places.page(path, code)
    assert "<h1>" in page and "Traceback" not in page
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    assert "<script>" not in main  # the value is text, never markup
    assert len(main) < 1_000  # a 10 KB name is not echoed back


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/country/ir", "/country/IR"),
        ("/country/Ir?lang=fa", "/country/IR?lang=fa"),
        ("/network/as197207", "/network/AS197207"),
        ("/network/AS0197207", "/network/AS197207"),
        ("/domain/WWW.Facebook.COM.", "/domain/www.facebook.com"),
        ("/domain/b%C3%BCcher.example", "/domain/xn--bcher-kva.example"),
    ],
)
def test_other_spellings_of_a_place_redirect_to_its_address(
    places: Places, path: str, location: str
) -> None:
    answer = places.client.get(path)
    assert (answer.status_code, answer.headers["location"]) == (301, location)


def test_a_domain_measured_only_as_its_www_twin_leads_there(places: Places) -> None:
    assert places.api("/api/v1/measurements?domain=facebook.com")["metadata"]["count"] == 0
    answer = places.client.get("/domain/facebook.com")
    assert (answer.status_code, answer.headers["location"]) == (302, "/domain/www.facebook.com")


def test_place_pages_render_right_to_left_in_persian(places: Places) -> None:
    try:
        for path in ("/country/IR", "/network/AS197207", "/domain/www.facebook.com"):
            page = places.page(f"{path}?lang=fa")
            assert '<html lang="fa" dir="rtl">' in page, path
            assert "ایران" in page  # Iran, by its Persian name (Babel's CLDR names)
    finally:
        places.client.cookies.clear()  # the switch is remembered: not for the other tests


def fastpath(**wanted: object) -> list[dict[str, Any]]:
    """OONI's rows as bundled, read here apart from the module that loads them."""
    with gzip.open(FASTPATH, "rt") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return [r for r in rows if all(r[k] == v for k, v in wanted.items())]


def ooni_section(page: str) -> str:
    found = re.search(r'<section class="source-ooni".*?</section>', page, re.S)
    assert found is not None
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0)))


def judged(rows: list[dict[str, Any]]) -> str:
    n, anomalies = len(rows), sum(r["anomaly"] for r in rows)
    confirmed, failed = sum(r["confirmed"] for r in rows), sum(r["msm_failure"] for r in rows)
    return (
        f"Measurements OONI's fastpath judged: {n}; anomalies: {anomalies}; "
        f"confirmed blocking: {confirmed}; failed measurements: {failed}."
    )


def test_oonis_verdicts_are_a_section_of_their_own_and_change_none_of_ours(
    places: Places,
) -> None:
    rows = fastpath(probe_cc="IR")
    assert len(rows) > sum(counts(places, "probe_cc=IR").values())  # so a mix would show
    page = places.page("/country/IR")
    section = ooni_section(page)
    assert "OONI's verdicts (OONI fastpath)" in section and judged(rows) in section
    own = re.search(r'<section class="source-ooni".*?</section>', page, re.S)
    assert own is not None
    ours = text(page.replace(own.group(0), ""))
    assert "OONI's fastpath" not in ours
    assert f"netvigil holds {sum(counts(places, 'probe_cc=IR').values())} measurements" in ours
    for asn in {r["probe_asn"] for r in rows}:  # each network, named and linked
        assert f'href="/network/AS{asn}"' in page


def test_a_place_known_only_from_oonis_verdicts_is_a_page_saying_so(places: Places) -> None:
    asn = 31549  # IR's most measured network in OONI's rows
    assert places.api(f"/api/v1/measurements?probe_asn=AS{asn}")["metadata"]["count"] == 0
    page = places.page(f"/network/AS{asn}")
    assert f"netvigil holds no measurement from AS{asn}" in text(page)
    assert judged(fastpath(probe_asn=asn)) in ooni_section(page)
    assert counts(places, "probe_cc=BR") == {}
    brazil = places.page("/country/BR")
    assert "netvigil holds no measurement from Brazil yet" in text(brazil)
    assert judged(fastpath(probe_cc="BR")) in ooni_section(brazil)
    facebook = ooni_section(places.page("/domain/www.facebook.com"))
    assert judged(fastpath(domain="www.facebook.com")) in facebook


@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("/country/IR", ["outcomes", "country", "events"]),
        ("/network/AS197207", ["outcomes"]),
        ("/domain/www.facebook.com", ["outcomes", "heatmap"]),
    ],
)
def test_each_place_shows_its_charts_drawn_on_the_server(
    places: Places, path: str, names: list[str]
) -> None:
    page = places.page(path)
    images = [i.replace("&amp;", "&") for i in re.findall(r'<img src="(/charts/[^"]+)"', page)]
    assert [re.sub(r"\.svg.*", "", i.removeprefix("/charts/")) for i in images] == names
    for image in images:
        drawn = places.client.get(image)
        assert drawn.status_code == 200, image
        assert drawn.headers["content-type"].startswith("image/svg+xml")
        assert drawn.content.lstrip().startswith(b"<svg")
    png = places.client.get(images[0].replace(".svg", ".png", 1))
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    # The outcomes chart is the timeline's query: the same cells as the table beside it.
    (chart,) = re.findall(r'<figure class="chart".*?</figure>', page, re.S)[:1]
    json_link = re.search(r'href="(/api/v1/aggregation\?[^"]+)" type="application/json"', chart)
    assert json_link is not None
    cells = places.api(json_link.group(1).replace("&amp;", "&"))["result"]
    assert timeline(page) == {
        (c["measurement_start_day"][:10], c["outcome"]): c["measurement_count"] for c in cells
    }
