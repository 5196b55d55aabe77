"""The pages in a real browser: Debian's Chromium, headless, driven by Playwright.

Org A creates an incident for a sharing group that does not include org B; B cannot see
it; A asks to publish it, A's admin (a second person) approves; the public sees it on the
list and in the feed. Member-supplied strings are shown as text: nothing they contain runs.
Without Chromium installed this test fails (CI installs Debian's `chromium`).
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import sqlalchemy as sa
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from netvigil.incidents import accounts, db
from netvigil.incidents.model import IncidentInput
from netvigil.observatory.data import query_rows
from netvigil.observatory.ingest import ingest_file
from netvigil.server import create_app
from tests.probe.world import free_port

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple"
HOSTILE = "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"


MEASUREMENT = (
    Path(__file__).resolve().parents[2].parent
    / "shared/corpus/ooni-measurements/ooni-backend-fastpath/web_connectivity_ir_fp.json"
)  # real: a probe on AS197207, which it names "Mobile Communication Company of Iran PLC"
Site = tuple[str, dict[str, str], Any]


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    assert not ingest_file(str(MEASUREMENT), str(tmp_path / "tables" / "analysis")).errors
    app = create_app(tmp_path, database=database_url, public_url=url)
    state: Any = app.state
    engine, now = state.incidents.engine, dt.datetime.now(dt.UTC)
    orgs = {n: accounts.create_org(engine, f"Org {n}", actor="op", now=now) for n in "ABC"}
    accounts.create_group(engine, "A and C", [orgs["A"], orgs["C"]], actor="op", now=now)
    for name, org, role in [
        ("alice", "A", "member"),
        ("anna", "A", "org_admin"),
        ("bob", "B", "member"),
    ]:
        accounts.create_member(
            engine, orgs[org], name, role, password=PASSWORD, actor="op", now=now
        )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        try:
            httpx.get(f"{url}/incidents", timeout=0.5)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    yield url, orgs, state.incidents
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(chromium).exists(), "Debian's chromium is needed (apt-get install chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def login(browser: Browser, url: str, name: str) -> Page:
    page = browser.new_context().new_page()
    page.goto(f"{url}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{url}/incidents")
    return page


def test_group_incident_reviewed_into_public(browser: Browser, site: Site) -> None:
    url, _, _ = site
    alice = login(browser, url, "alice")
    alice.click("text=New incident")
    alice.fill("input[name=title]", HOSTILE)
    alice.fill("textarea[name=summary]", "Mobile data cut during exams")
    alice.select_option("select[name=kind]", "mobile_shutdown")
    alice.fill("input[name=countries]", "SY")
    alice.fill("input[name=start]", "2026-06-01T05:00")
    alice.select_option("select[name=visibility]", "group")
    alice.select_option("select[name=sharing_group]", label="A and C")
    alice.click("#create")
    alice.wait_for_selector("#title")
    address = alice.url
    assert alice.inner_text("#title") == HOSTILE  # shown as text
    assert alice.title() != "pwned" and alice.evaluate("document.title") != "pwned"
    assert alice.inner_text("#visibility").startswith("A sharing group")

    bob = login(browser, url, "bob")
    assert HOSTILE not in bob.content()
    bob.goto(address)
    assert bob.inner_text("h1") == "Not found"
    assert bob.inner_text("p.error") == "No such incident, or not one you may read."

    alice.click("#action-publish")
    alice.wait_for_selector("#publication")
    assert alice.inner_text("#publication") == "requested"
    assert alice.locator("#action-review").count() == 0  # not by the one who asked

    anna = login(browser, url, "anna")
    anna.goto(address)
    anna.click("#action-review")
    anna.wait_for_selector("#visibility")
    assert anna.inner_text("#visibility").startswith("Everyone (public)")

    public = browser.new_context().new_page()
    public.goto(f"{url}/incidents")
    assert public.get_by_text(HOSTILE).count() == 1
    assert public.evaluate("document.title") != "pwned"
    feed = httpx.get(f"{url}/api/v1/incidents/feed").text
    assert address.rsplit("/", 1)[1] in feed


def test_the_page_names_countries_regions_networks_targets_and_techniques(
    browser: Browser, site: Site, tmp_path: Path
) -> None:
    url, _, instance = site
    (row,) = query_rows(tmp_path / "tables" / "analysis", "SELECT * FROM analysis", [])
    with instance.engine.connect() as connection:
        ident = connection.execute(
            sa.select(db.members.c.id).where(db.members.c.name == "alice")
        ).scalar()
        alice = accounts.member(connection, ident)
    made = instance.service.create(
        alice,
        msgspec.convert(
            {
                "title": "Facebook blocked on mobile",
                "kind": "website_blocking",
                "countries": ["IR"],
                "subdivisions": ["IR-23"],
                "start": {"time": "2022-08-15T19:00:00Z"},
                "techniques": ["dns_bogon", "http_blockpage"],
                "targets": [
                    {"type": "domain", "value": "www.facebook.com", "category_code": "GRP"}
                ],
                "networks": [{"asn": 197207, "type": "mobile"}, {"asn": 44244, "name": "Irancell"}],
                "evidence": [{"type": "measurement", "ref": row["measurement_uid"]}],
                "visibility": "coalition",
            },
            IncidentInput,
        ),
    )
    page = login(browser, url, "alice")
    page.goto(f"{url}/incidents/{made.id}")
    assert page.inner_text("#countries") == "Iran (IR)"
    assert page.inner_text("#subdivisions") == "Tehrān (IR-23)"
    assert page.inner_text("#targets") == "domain www.facebook.com · category GRP"
    assert page.inner_text("#techniques").split("\n") == [
        "DNS answered with a private or reserved address (dns_bogon)",
        "a block page served instead of the site (http_blockpage)",
    ]
    networks = page.inner_text("#networks").split("\n")
    assert networks == [
        "AS197207 · Mobile Communication Company of Iran PLC (mobile)",  # from the measurement
        "AS44244 · Irancell (unknown)",  # the author's own name for it
    ]
    evidence = page.inner_text("#evidence")
    assert "Iran (IR), AS197207 · Mobile Communication Company of Iran PLC" in evidence


def test_a_member_subscribes_to_alerts_from_the_header(browser: Browser, site: Site) -> None:
    url, _, _ = site
    alice = login(browser, url, "alice")
    assert alice.inner_text("header .who") == "alice · Org A"
    alice.click("header >> text=Alerts")
    alice.wait_for_url(f"{url}/alerts")
    alice.fill("input[name=name]", "Syria shutdowns")
    alice.fill("input[name=country]", "SY")
    alice.select_option("select[name=kind]", "mobile_shutdown")
    alice.click("#create-feed")
    alice.wait_for_selector("#feed-url")
    feed = httpx.get(alice.inner_text("#feed-url"))
    assert feed.status_code == 200 and feed.headers["content-type"] == "application/atom+xml"
    alice.fill("input[name=url]", "gopher://hooks.example/")
    alice.click("#create-webhook")
    alice.wait_for_selector("#webhook-problem")
    assert alice.inner_text("#webhook-problem") == "url: an http:// or https:// URL"
    public = browser.new_context().new_page()
    public.goto(f"{url}/alerts")
    assert public.url == f"{url}/login"
