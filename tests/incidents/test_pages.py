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
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from netvigil.incidents import accounts
from netvigil.observatory.app import create_app
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


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
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
    yield url, orgs
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


def test_group_incident_reviewed_into_public(
    browser: Browser, site: tuple[str, dict[str, str]]
) -> None:
    url, _ = site
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
    assert bob.inner_text("h1") == "404"

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
