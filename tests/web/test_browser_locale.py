"""Persian, right to left, end to end in the browser: chosen by the switch (`?lang=fa`), by the
browser's locale (`fa-IR`, which Chromium sends as Accept-Language) or by an explicit
`Accept-Language: fa`; the page is laid out right to left (the computed `direction`), and its
words are the Persian catalogue's: each link of the main navigation and each heading of the
home page, read in English and in Persian, is the catalogue's msgid and its msgstr
(web/locale/fa/LC_MESSAGES/netvigil.po, read with Babel, not with the code under test).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from playwright.sync_api import Page

from tests.web.browser import ROOT, Harness, foreign, new_context, screenshot, shared, visit

CATALOGUE = ROOT / "src/netvigil/web/locale/fa/LC_MESSAGES/netvigil.po"
NAV = 'header nav[aria-label] a[href^="/"]:not([hreflang])'


@pytest.fixture(scope="module")
def harness(pytestconfig: pytest.Config) -> Iterator[Harness]:
    with shared(pytestconfig) as harness:
        yield harness


@pytest.fixture(scope="module")
def catalogue() -> Catalog:
    with Path(CATALOGUE).open("rb") as handle:
        return read_po(handle, locale="fa", domain="netvigil")


def navigation(page: Page) -> tuple[list[str], list[str]]:
    """The main navigation's link targets, and its texts then the headings of the page (the
    home page's are fixed sentences, no data in them)."""
    links = page.locator(NAV)
    hrefs = [links.nth(i).get_attribute("href") or "" for i in range(links.count())]
    texts = page.locator(f"{NAV}, main h1, main h2").all_inner_texts()
    return hrefs, [text.strip() for text in texts]


@pytest.fixture(scope="module")
def english(harness: Harness) -> tuple[list[str], list[str]]:
    context = new_context(harness.browser, locale="en-US")
    try:
        return navigation(visit(context, harness.served, "/").page)
    finally:
        context.close()


WAYS: dict[str, tuple[str, dict[str, Any]]] = {
    "switch": ("/?lang=fa", {"locale": "en-US"}),
    "locale": ("/", {"locale": "fa-IR"}),
    "accept-language": ("/", {"extra_http_headers": {"Accept-Language": "fa"}}),
}


@pytest.mark.parametrize("way", list(WAYS))
def test_persian_right_to_left(
    way: str,
    harness: Harness,
    catalogue: Catalog,
    english: tuple[list[str], list[str]],
) -> None:
    path, options = WAYS[way]
    context = new_context(harness.browser, **options)
    seen = visit(context, harness.served, path)
    page = seen.page
    try:
        if way == "switch":
            screenshot(page, "home-fa")
        assert seen.status == 200
        html = page.locator("html")
        assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("fa", "rtl")
        assert page.evaluate("() => getComputedStyle(document.body).direction") == "rtl"
        hrefs, texts = navigation(page)
        assert hrefs == english[0]
        wanted = []
        for text in english[1]:
            assert text, "an empty link or heading"
            message = catalogue.get(text)
            assert message is not None and message.string, f"{text!r} is not translated"
            wanted.append(message.string)
        assert texts == wanted
        assert texts != english[1]
        assert seen.errors == []
        assert foreign(seen.requests, harness.served) == []
    finally:
        context.close()
