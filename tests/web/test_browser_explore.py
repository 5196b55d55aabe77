"""The MAT form of `/explore` changes the chart, with JavaScript (htmx swaps the results in
place) and without (the form is submitted, a new page comes).

Each run starts from `/explore` as it first comes, sets the x axis to countries and keeps
only blocked measurements, and then checks what the data API answers for that query
(`/api/v1/aggregation?axis_x=probe_cc&outcome=blocked`, asked directly): the table has one
row per country of that answer with its count, the chart's picture is drawn for that query
(its `src`), and the page's address holds the state, so the view can be linked to.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.web.browser import (
    WAIT,
    Harness,
    Visit,
    chart_images,
    foreign,
    new_context,
    shared,
    visit,
)

AXIS, FILTER = ("axis_x", "probe_cc"), ("outcome", "blocked")


@pytest.fixture(scope="module")
def harness(pytestconfig: pytest.Config) -> Iterator[Harness]:
    with shared(pytestconfig) as harness:
        yield harness


@pytest.fixture(scope="module")
def expected(harness: Harness) -> dict[str, int]:
    """Country → blocked measurements, as the data API answers."""
    answer = harness.served.api(f"/api/v1/aggregation?{AXIS[0]}={AXIS[1]}&{FILTER[0]}={FILTER[1]}")
    counts = {row["probe_cc"]: row["measurement_count"] for row in answer["result"]}
    assert counts, "no blocked measurement to count"
    return counts


def query_of(address: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(address).query)


def chart_source(page: Page) -> str:
    return page.locator("main figure.chart img").first.get_attribute("src") or ""


def table(page: Page) -> dict[str, int]:
    """The explorer's table: the value of each row's first axis → its measurement count."""
    rows = page.locator("table.explore-table tbody tr")
    found = {}
    for index in range(rows.count()):
        row = rows.nth(index)
        axis = row.locator("th[data-field]").first
        assert axis.get_attribute("data-field") == AXIS[1]
        count = row.locator('td[data-field="measurement_count"]').inner_text()
        found[axis.get_attribute("data-value") or ""] = int(count)
    return found


def choose(page: Page) -> str:
    """Set the axis and the filter in the form; the chart's `src` before the change."""
    before = chart_source(page)
    assert query_of(before).get(AXIS[0]) != [AXIS[1]], "the explorer starts on the axis asked"
    page.select_option(f"form.explore select[name={AXIS[0]}]", AXIS[1])
    return before


def check(seen: Visit, harness: Harness, expected: dict[str, int]) -> None:
    page = seen.page
    source = chart_source(page)
    assert query_of(source)[AXIS[0]] == [AXIS[1]]
    assert query_of(source)[FILTER[0]] == [FILTER[1]]
    assert table(page) == expected
    state = query_of(page.url)
    assert state[AXIS[0]] == [AXIS[1]]
    assert state[FILTER[0]] == [FILTER[1]]
    assert chart_images(page)[0] == source  # and it has loaded
    assert seen.errors == []
    assert foreign(seen.requests, harness.served) == []


@pytest.fixture
def scripted(harness: Harness) -> Iterator[BrowserContext]:
    context = new_context(harness.browser)
    yield context
    context.close()


@pytest.fixture
def plain(harness: Harness) -> Iterator[BrowserContext]:
    context = new_context(harness.browser, java_script_enabled=False)
    yield context
    context.close()


def test_form_without_javascript(
    harness: Harness, plain: BrowserContext, expected: dict[str, int]
) -> None:
    seen = visit(plain, harness.served, "/explore")
    try:
        choose(seen.page)
        seen.page.select_option(f"form.explore select[name={FILTER[0]}]", FILTER[1])
        with seen.page.expect_navigation(timeout=WAIT):
            seen.page.locator("form.explore button[type=submit]").click()
        check(seen, harness, expected)
    finally:
        seen.close()


SWAPPED = (
    "([key, value]) => { const img = document.querySelector('main figure.chart img');"
    " return img !== null && new URL(img.getAttribute('src'), location.href)"
    ".searchParams.get(key) === value; }"
)


def test_form_with_htmx(
    harness: Harness, scripted: BrowserContext, expected: dict[str, int]
) -> None:
    """Each change of a select is one htmx request (the form's hx-trigger is `change`),
    answered and swapped into the page before the next change: no request is left in flight
    when the page is read."""
    seen = visit(scripted, harness.served, "/explore")
    page = seen.page
    partial: list[str] = []
    page.on("request", lambda r: partial.append(r.url) if r.headers.get("hx-request") else None)
    try:
        page.evaluate("() => { window.netvigilSamePage = true; }")  # gone if the page reloads
        with page.expect_response(lambda r: r.request.headers.get("hx-request") == "true"):
            choose(page)
        page.wait_for_function(SWAPPED, arg=list(AXIS))
        with page.expect_response(lambda r: r.request.headers.get("hx-request") == "true"):
            page.select_option(f"form.explore select[name={FILTER[0]}]", FILTER[1])
        page.wait_for_function(SWAPPED, arg=list(FILTER))
        assert page.evaluate("() => window.netvigilSamePage === true"), "a reload, not a swap"
        assert len(partial) == 2
        check(seen, harness, expected)
    finally:
        seen.close()
