"""The incident pages in the explorer's layout, and `/alerts`, over a real instance.

One real measurement (OONI's, from a probe in Iran on AS197207, which names its network
"Mobile Communication Company of Iran PLC") is in the analysis table; the pages read it
through the `Site` as the server does; a member logs in through the login form. Saved
feeds and webhooks made from the page are then read and delivered by the incidents' own
code: the feed's URL returns Atom, and a receiver on loopback checks the signature with the
reference `standardwebhooks` library.
"""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from netvigil.incidents import accounts, db
from netvigil.incidents.access import Principal
from netvigil.incidents.delivery import deliver_due
from netvigil.incidents.evidence import ObservatoryEvidence
from netvigil.incidents.instance import Instance
from netvigil.incidents.model import Evidence, IncidentInput
from netvigil.net.backend import AsyncioBackend
from netvigil.observatory.data import ObservatoryData, query_rows
from netvigil.observatory.ingest import ingest_file
from netvigil.web.incident_view import domain_link, evidence_link
from tests.incidents.coalition import CSRF, PASSWORD, incident_app
from tests.incidents.test_webhooks import Receiver

PUBLIC_URL = "https://netvigil.example"
MEASUREMENT = (
    Path(__file__).resolve().parents[2].parent
    / "shared/corpus/ooni-measurements/ooni-backend-fastpath/web_connectivity_ir_fp.json"
)
ATOM = "{http://www.w3.org/2005/Atom}"


class World(msgspec.Struct):
    client: TestClient  # logged in as alice (org "Org A")
    csrf: str
    instance: Instance
    alice: Principal
    uid: str  # the measurement's


def login(client: TestClient, name: str) -> str:
    """Log `client` in through the form; the session's CSRF token."""
    token = CSRF.search(client.get("/login").text)
    assert token is not None
    form = {"csrf": token.group(1), "name": name, "password": PASSWORD}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    found = CSRF.search(client.get("/alerts").text)
    assert found is not None
    return found.group(1)


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    tables = tmp_path / "tables" / "analysis"
    assert not ingest_file(str(MEASUREMENT), str(tables)).errors
    (row,) = query_rows(tables, "SELECT measurement_uid FROM analysis", [])
    evidence = ObservatoryEvidence(ObservatoryData(tables, lambda uid: None))
    instance = Instance(tmp_path, url=PUBLIC_URL, evidence=evidence, database=database_url)
    engine, now = instance.engine, instance.now()
    org = accounts.create_org(engine, "Org A", actor="op", now=now)
    ident = accounts.create_member(
        engine, org, "alice", "member", password=PASSWORD, actor="op", now=now
    )
    with engine.connect() as connection:
        alice = accounts.member(connection, ident)
    assert alice is not None
    client = TestClient(incident_app(instance, tmp_path), base_url="https://testserver")
    yield World(client, login(client, "alice"), instance, alice, str(row["measurement_uid"]))
    instance.engine.dispose()


def create(world: World, **fields: Any) -> str:
    body = {
        "title": "Facebook blocked on mobile",
        "kind": "website_blocking",
        "countries": ["IR"],
        "start": {"time": "2022-08-15T19:00:00Z"},
        "visibility": "coalition",
        **fields,
    }
    made = world.instance.service.create(world.alice, msgspec.convert(body, IncidentInput))
    return made.id


def links(page: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', page)]


def test_evidence_links_into_the_explorer_with_names_beside_codes(world: World) -> None:
    query = "/api/v1/aggregation?axis_x=probe_cc&probe_cc=IR"
    event = f"{PUBLIC_URL}/api/v1/events/ev-1"
    ident = create(
        world,
        techniques=["tls_sni_filtering"],
        targets=[{"type": "domain", "value": "www.facebook.com"}],
        networks=[{"asn": 197207, "type": "mobile"}],
        evidence=[
            {"type": "measurement", "ref": world.uid},
            {"type": "aggregate_query", "ref": query},
            {"type": "changepoint", "ref": event},
            {"type": "document", "ref": "javascript:alert(1)"},
        ],
    )
    answer = world.client.get(f"/incidents/{ident}")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    page = answer.text
    found = links(page)
    assert f"/measurement/{world.uid}" in found
    assert "/explore?axis_x=probe_cc&probe_cc=IR" in found and query in found  # and its JSON
    assert "/events/ev-1" in found
    assert "/country/IR" in found and "/network/AS197207" in found
    assert "/domain/www.facebook.com" in found
    assert not [h for h in found if h.startswith("javascript:")]  # shown as text only
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))
    assert "Iran (IR)" in text
    assert "AS197207 · Mobile Communication Company of Iran PLC (mobile)" in text
    assert "Iran (IR), AS197207 · Mobile Communication Company of Iran PLC" in text  # evidence
    assert "TLS handshakes cut on the server name (SNI) (tls_sni_filtering)" in text
    assert "alice · Org A" in text  # the shared header names who is logged in
    persian = world.client.get(f"/incidents/{ident}?lang=fa")
    assert persian.status_code == 200 and '<html lang="fa" dir="rtl">' in persian.text
    assert "ایران (IR)" in persian.text  # Babel's name in Persian, beside the code


def test_the_list_names_countries_and_links_them(world: World) -> None:
    create(world, countries=["IR", "SY"])
    text = re.sub(r"<[^>]+>", "", world.client.get("/incidents").text)
    assert "Iran (IR), Syria (SY)" in text
    assert "1 incident you may read." in text


def feeds(instance: Instance) -> int:
    with instance.engine.connect() as connection:
        return int(
            connection.execute(sa.select(sa.func.count()).select_from(db.feeds)).scalar_one()
        )


def test_a_feed_made_on_the_page_returns_the_matching_incidents(world: World) -> None:
    wanted = create(world, techniques=["dns_bogon"])
    create(world, techniques=["tcp_reset"])  # another technique
    create(world, countries=["SY"], techniques=["dns_bogon"])  # another country
    form = {"csrf": world.csrf, "name": "Iran DNS", "country": "ir", "technique": "dns_bogon"}
    answer = world.client.post("/alerts/feeds", data=form)
    assert answer.status_code == 200
    shown = re.search(r'<code id="feed-url">([^<]+)</code>', answer.text)
    assert shown is not None and shown.group(1).startswith(f"{PUBLIC_URL}/api/v1/feeds/")
    feed = TestClient(world.client.app).get(shown.group(1).removeprefix(PUBLIC_URL))
    assert feed.headers["content-type"] == "application/atom+xml"
    entries = ET.fromstring(feed.content).findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [f"urn:uuid:{wanted}"]
    assert feeds(world.instance) == 1
    again = world.client.get("/alerts").text
    assert 'id="feed-url"' not in again  # shown once


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("country", "<script>x</script>", "country: unknown country code"),
        ("asn", "AS99999999999", "asn: not an AS number"),
        ("kind", "nonsense", "kind: unknown value"),
        ("name", "", "name: a string of 1 to 200 characters"),
    ],
)
def test_hostile_feed_values_get_the_form_again(
    world: World, field: str, value: str, problem: str
) -> None:
    form = {"csrf": world.csrf, "name": "mine", field: value}
    answer = world.client.post("/alerts/feeds", data=form)
    assert answer.status_code == 400
    shown = re.search(
        r'<p class="problems" role="alert" id="feed-problem">([^<]+)</p>', answer.text
    )
    assert shown is not None and shown.group(1).startswith(problem)
    assert "<script>x" not in answer.text  # text, never markup
    assert 'name="csrf"' in answer.text and feeds(world.instance) == 0


def test_a_webhook_made_on_the_page_gets_a_signed_delivery(world: World) -> None:
    refused = world.client.post("/alerts/webhooks", data={"csrf": world.csrf, "url": "ftp://x"})
    assert refused.status_code == 400
    assert (
        '<p class="problems" role="alert" id="webhook-problem">url: an http:// or https:// URL'
        in (refused.text)
    )
    receiver = Receiver()
    try:
        answer = world.client.post(
            "/alerts/webhooks", data={"csrf": world.csrf, "url": receiver.url}
        )
        assert answer.status_code == 200
        secret = re.search(r'<code id="webhook-secret">(whsec_[^<]+)</code>', answer.text)
        assert secret is not None
        receiver.secret = secret.group(1)  # the Receiver refuses any delivery not signed with it
        ident = create(world)
        now = world.instance.now()
        engine = world.instance.engine
        assert asyncio.run(deliver_due(engine, AsyncioBackend(), now, allow_private=True)) == 1
        ((event),) = receiver.processed.values()
        assert (event["type"], event["data"]["id"]) == ("incident.created", ident)
    finally:
        receiver.close()


def test_forms_without_the_token_are_refused_and_change_nothing(world: World) -> None:
    for path, form in [
        ("/alerts/feeds", {"name": "mine"}),
        ("/alerts/webhooks", {"url": "https://hooks.example/x"}),
        ("/incidents/new", {"title": "t"}),
        ("/logout", {}),
    ]:
        for token in ({}, {"csrf": "forged"}, {"csrf": "é" + world.csrf[1:]}):
            answer = world.client.post(path, data={**form, **token}, follow_redirects=False)
            assert answer.status_code == 403, (path, token)
            assert "This form has expired" in answer.text
    assert feeds(world.instance) == 0
    assert world.client.get("/alerts").status_code == 200  # still logged in


def test_the_public_is_sent_to_the_login_form(world: World) -> None:
    public = TestClient(world.client.app, base_url="https://testserver")
    for path in ("/alerts", "/incidents/new"):
        answer = public.get(path, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/login")
    token = CSRF.search(public.get("/login").text)
    assert token is not None  # the login form's double-submit token passes the CSRF check
    made = public.post(
        "/alerts/feeds", data={"csrf": token.group(1), "name": "x"}, follow_redirects=False
    )
    assert (made.status_code, made.headers["location"]) == (303, "/login")
    assert feeds(world.instance) == 0


def item(kind: str, ref: str) -> Evidence:
    return Evidence(type=kind, ref=ref, visibility="public", sha256="0" * 64)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "ref", "expected"),
    [
        (
            "measurement",
            "20220815T190000Z_x/y",
            ("/measurement/20220815T190000Z_x%2Fy", False, None),
        ),
        ("aggregate_query", "/api/v1/aggregation", ("/explore", False, "/api/v1/aggregation")),
        (
            "aggregate_query",
            "https://other.example/api/v1/aggregation?a=1",
            ("https://other.example/api/v1/aggregation?a=1", True, None),
        ),
        ("changepoint", "/api/v1/events/e1", ("/events/e1", False, "/api/v1/events/e1")),
        ("changepoint", "/api/v1/events/../../x", (None, False, None)),
        (
            "changepoint",
            f"{PUBLIC_URL}.evil/api/v1/events/e1",
            (f"{PUBLIC_URL}.evil/api/v1/events/e1", True, None),
        ),
        ("document", "javascript:alert(1)", (None, False, None)),
        ("testimony", "an interview, 2022-08-16", (None, False, None)),
    ],
)
def test_evidence_links(kind: str, ref: str, expected: tuple[str | None, bool, str | None]) -> None:
    assert evidence_link(item(kind, ref), PUBLIC_URL) == expected


def test_domain_links_only_for_names() -> None:
    assert domain_link("domain", "WWW.Facebook.com.") == "/domain/www.facebook.com"
    assert domain_link("url", "https://www.facebook.com/") is None
    assert domain_link("domain", "a/b") is None
    assert domain_link("domain", "<x>") is None
