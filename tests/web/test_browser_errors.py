"""Bad inputs in the browser: a friendly page, never a 500.

An unknown country (a well-formed code that is no country), network (an AS number kept for
documentation, RFC 5398, so in no measurement), domain (under `.invalid`, RFC 2606), uid,
event or incident is a 404; a query string the explorer cannot answer is a 400. Each is a
page in the site's layout (its header and navigation, its stylesheet loaded), says in a
heading and a sentence what was wrong, and links home; nothing runs wrong in the browser.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext

from tests.web.browser import Harness, foreign, new_context, shared, visit

BAD = {
    "unknown-country": ("/country/QQ", 404),
    "unknown-network": ("/network/AS64511", 404),
    "unknown-domain": ("/domain/nothing-measured.invalid", 404),
    "unknown-measurement": (
        "/measurement/20990101000000.000000_ZZ_web_connectivity_0000000000000000",
        404,
    ),
    "unknown-event": ("/events/ev_00000000000000000000", 404),
    "unknown-incident": ("/incidents/00000000-0000-0000-0000-000000000000", 404),
    "unknown-axis": ("/explore?axis_x=nonsense", 400),
    "bad-date": ("/explore?since=not-a-date", 400),
    "bad-grain": ("/explore?axis_x=measurement_start_day&time_grain=fortnight", 400),
    "bad-country-filter": ("/explore?probe_cc=Iran", 400),
}


@pytest.fixture(scope="module")
def harness(pytestconfig: pytest.Config) -> Iterator[Harness]:
    with shared(pytestconfig) as harness:
        yield harness


@pytest.fixture(scope="module")
def context(harness: Harness) -> Iterator[BrowserContext]:
    context = new_context(harness.browser)
    yield context
    context.close()


@pytest.mark.parametrize("case", list(BAD))
def test_friendly_refusal(case: str, harness: Harness, context: BrowserContext) -> None:
    path, status = BAD[case]
    seen = visit(context, harness.served, path, expected_status=status)
    page = seen.page
    try:
        assert seen.status == status
        assert "text/html" in (seen.response.headers["content-type"] if seen.response else "")
        assert page.locator("header nav a[href='/explore']").count() == 1  # the layout
        rules = page.evaluate(
            "() => [...document.styleSheets].filter(s => s.href?.endsWith('/netvigil.css'))"
            ".map(s => s.cssRules.length)"
        )
        assert len(rules) == 1 and rules[0] > 0  # the stylesheet, loaded
        heading = page.locator("main h1").first.inner_text().strip()
        assert heading
        assert len(seen.main_text().strip()) > len(heading)
        assert page.locator("a[href='/']").count() >= 1  # home, from the layout or the page
        assert "Traceback" not in page.content()
        assert seen.errors == []
        assert foreign(seen.requests, harness.served) == []
    finally:
        seen.close()
