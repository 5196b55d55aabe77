"""Every page type in headless Chromium, with JavaScript and without.

Each page is opened once with JavaScript (its first render measured: ≤ 300 KB transferred;
its request log: the server's host only; no console error, no uncaught exception; a
screenshot) and once without (the same heading, the facts from the data, the same chart
pictures, loaded). What a page must show comes from the data API's answers (`Picks`): the
country's name, the AS name, the measurement's outcome, the event's summary, the incident's
title. Error pages are the friendly ones: the layout, a sentence and a link home.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.web.browser import (
    BUDGET,
    Harness,
    Picks,
    chart_images,
    foreign,
    icon,
    new_context,
    screenshot,
    shared,
    visit,
)


def event(picks: Picks) -> dict[str, Any]:
    assert picks.event is not None, "the demo has no detection event: /api/v1/events is empty"
    return picks.event


def incident(picks: Picks) -> dict[str, Any]:
    assert picks.incident is not None, "the demo has no incident: /api/v1/incidents is empty"
    return picks.incident


@dataclass(frozen=True)
class Kind:
    """A page type: where it is for the picks, the texts and links its main content must hold,
    and whether it must show a chart (where the issue names one)."""

    name: str
    path: Callable[[Picks], str]
    texts: Callable[[Picks], list[str]]
    links: Callable[[Picks], list[str]]
    chart: bool = False
    status: int = 200


KINDS = [
    Kind("home", lambda p: "/", lambda p: [p.country], lambda p: [f"/country/{p.cc}"]),
    Kind(
        "country",
        lambda p: f"/country/{p.cc}",
        lambda p: [p.country, p.domain, p.network],
        lambda p: [f"/network/{p.asn}", f"/domain/{p.domain}"],
        chart=True,
    ),
    Kind(
        "network",
        lambda p: f"/network/{p.asn}",
        lambda p: [p.asn, p.network, p.country, p.domain],
        lambda p: [f"/country/{p.cc}", f"/domain/{p.domain}"],
    ),
    Kind(
        "domain",
        lambda p: f"/domain/{p.domain}",
        lambda p: [p.domain, p.country, p.network],
        lambda p: [f"/country/{p.cc}", f"/network/{p.asn}"],
        chart=True,
    ),
    Kind(
        "measurement",
        lambda p: f"/measurement/{p.uid}",
        lambda p: [p.uid, p.input, p.country, p.network],
        lambda p: [f"/country/{p.cc}", f"/network/{p.asn}"],
    ),
    Kind("events", lambda p: "/events", lambda p: [], lambda p: [f"/events/{event(p)['id']}"]),
    Kind(
        "event",
        lambda p: f"/events/{event(p)['id']}",
        lambda p: [event(p)["summary"]],
        lambda p: [],
        chart=True,
    ),
    Kind(
        "incidents",
        lambda p: "/incidents",
        lambda p: [incident(p)["title"]["en"]],
        lambda p: [f"/incidents/{incident(p)['id']}"],
    ),
    Kind(
        "incident",
        lambda p: f"/incidents/{incident(p)['id']}",
        lambda p: [incident(p)["title"]["en"]],
        lambda p: [],
    ),
    Kind("explore", lambda p: "/explore", lambda p: [], lambda p: [], chart=True),
    Kind("not-found", lambda p: "/country/QQ", lambda p: [], lambda p: [], status=404),
    Kind(
        "bad-request",
        lambda p: "/explore?axis_x=nonsense",
        lambda p: [],
        lambda p: [],
        status=400,
    ),
]


@dataclass(frozen=True)
class Rendered:
    """What one page showed with JavaScript, kept for the test without it."""

    status: int
    heading: str
    text: str
    hrefs: list[str]
    downloads: list[str]  # the links of the main content with a `download` attribute
    charts: list[str]
    errors: list[str]
    foreign: list[str]
    icon: tuple[str, int]
    transferred: int


@pytest.fixture(scope="module")
def harness(pytestconfig: pytest.Config) -> Iterator[Harness]:
    with shared(pytestconfig) as harness:
        yield harness


@pytest.fixture(scope="module")
def scripted(harness: Harness) -> Iterator[BrowserContext]:
    context = new_context(harness.browser)
    yield context
    context.close()


@pytest.fixture(scope="module")
def plain(harness: Harness) -> Iterator[BrowserContext]:
    context = new_context(harness.browser, java_script_enabled=False)
    yield context
    context.close()


@pytest.fixture(scope="module")
def renders(harness: Harness, scripted: BrowserContext) -> Callable[[Kind], Rendered]:
    """Each page opened once with JavaScript, on first use."""
    done: dict[str, Rendered] = {}

    def render(kind: Kind) -> Rendered:
        if kind.name not in done:
            done[kind.name] = open_page(harness, scripted, kind)
        return done[kind.name]

    return render


def hrefs(page: Page, selector: str = "main a[href]") -> list[str]:
    found: list[str] = page.locator(selector).evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    return found


def open_page(harness: Harness, context: BrowserContext, kind: Kind) -> Rendered:
    served = harness.served
    seen = visit(
        context, served, kind.path(harness.picks), measure=True, expected_status=kind.status
    )
    try:
        charts = chart_images(seen.page)  # after the measure: a lazy picture is no first render
        screenshot(seen.page, kind.name)
        # What the page shows without JavaScript is all but the buttons interactive.js adds.
        seen.page.evaluate(
            "() => document.querySelectorAll('button.chart-interactive')"
            ".forEach(button => { button.hidden = true; })"
        )
        return Rendered(
            status=seen.status,
            heading=seen.page.locator("main h1").first.inner_text(),
            text=seen.main_text(),
            hrefs=hrefs(seen.page),
            downloads=hrefs(seen.page, "main a[href][download]"),
            charts=charts,
            errors=seen.errors,
            foreign=foreign(seen.requests, served),
            icon=icon(seen, served),
            transferred=seen.transferred,
        )
    finally:
        seen.close()


def missing(wanted: list[str], text: str) -> list[str]:
    return [w for w in wanted if w not in text]


def links_missing(wanted: list[str], found: list[str]) -> list[str]:
    """Wanted paths no link of the page points to (a link may add a query string)."""
    return [w for w in wanted if not any(h == w or h.startswith(w + "?") for h in found)]


IDS = [kind.name for kind in KINDS]


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_page_renders_with_data(
    kind: Kind, harness: Harness, renders: Callable[[Kind], Rendered]
) -> None:
    shown = renders(kind)
    assert shown.status == kind.status
    assert missing(kind.texts(harness.picks), shown.text) == []
    assert links_missing(kind.links(harness.picks), shown.hrefs) == []
    if kind.chart:
        assert shown.charts, "no chart picture in the page's main content"
    if kind.name == "measurement":
        assert harness.picks.outcome in shown.text.lower()
        raw = [harness.served.api(href) for href in shown.downloads if href.endswith(".json")]
        picked = harness.picks
        # The raw measurement as the probe sent it (which has no uid: the collector gives it).
        assert [(m["input"], m["probe_cc"], m["probe_asn"]) for m in raw] == [
            (picked.input, picked.cc, picked.asn)
        ]


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_page_is_quiet_light_and_local(
    kind: Kind, harness: Harness, renders: Callable[[Kind], Rendered]
) -> None:
    """No console error, nothing from another host, the icon found, ≤ 300 KB first render."""
    shown = renders(kind)
    harness.first_render[kind.name] = shown.transferred
    print(f"first render of {kind.name} ({kind.path(harness.picks)}): {shown.transferred} bytes")
    assert shown.errors == []
    assert shown.foreign == []
    assert shown.icon[1] == 200, f"the page's icon {shown.icon[0]} answers {shown.icon[1]}"
    assert 0 < shown.transferred <= BUDGET


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_page_without_javascript(
    kind: Kind,
    harness: Harness,
    plain: BrowserContext,
    renders: Callable[[Kind], Rendered],
) -> None:
    shown = renders(kind)
    seen = visit(plain, harness.served, kind.path(harness.picks), expected_status=kind.status)
    try:
        assert seen.status == kind.status
        assert seen.page.locator("main h1").first.inner_text() == shown.heading
        assert seen.main_text() == shown.text  # the same main content
        assert links_missing(kind.links(harness.picks), hrefs(seen.page)) == []
        assert chart_images(seen.page) == shown.charts
        screenshot(seen.page, f"{kind.name}-nojs")
        assert seen.errors == []
        assert foreign(seen.requests, harness.served) == []
    finally:
        seen.close()
