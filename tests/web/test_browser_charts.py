"""A chart in the browser: its picture drawn on the server, its interactive view on a click,
its downloads.

On three pages with a chart of counts behind which is a data API query: the home page (its
world map), the picked country's page (its timeline) and the explorer (its bars). The chart's
SVG picture has loaded; Vega is fetched only when "Interactive chart" is clicked, from the
server, and its view (a canvas or an SVG) takes the picture's place; the CSV, SVG and PNG
links download through the browser, and each is what it says: the CSV has the columns of the
API's JSON answer behind the chart and as many rows, the SVG is XML, the PNG has PNG's
signature and a valid IHDR, the browser decodes it at the IHDR's size, and it is the SVG's
picture at a scale (the same aspect).
"""

from __future__ import annotations

import csv
import io
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.etree import ElementTree

import pytest
from playwright.sync_api import BrowserContext, Locator

from tests.web.browser import (
    WAIT,
    Harness,
    Picks,
    Visit,
    chart_images,
    foreign,
    new_context,
    shared,
    visit,
)

SVG = "{http://www.w3.org/2000/svg}svg"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VEGA = "/static/vendor/vega/"


@pytest.fixture(scope="module")
def harness(pytestconfig: pytest.Config) -> Iterator[Harness]:
    with shared(pytestconfig) as harness:
        yield harness


@pytest.fixture(scope="module")
def context(harness: Harness) -> Iterator[BrowserContext]:
    context = new_context(harness.browser, accept_downloads=True)
    yield context
    context.close()


PAGES: dict[str, Callable[[Picks], str]] = {
    "home": lambda picks: "/",
    "country": lambda picks: f"/country/{picks.cc}",
    "explore": lambda picks: "/explore",
}


@pytest.fixture(scope="module", params=list(PAGES))
def where(request: pytest.FixtureRequest, harness: Harness) -> str:
    name: str = request.param
    return PAGES[name](harness.picks)


@pytest.fixture(scope="module")
def charted(harness: Harness, context: BrowserContext, where: str) -> Iterator[Visit]:
    seen = visit(context, harness.served, where)
    yield seen
    seen.close()


def figure_of(seen: Visit) -> Locator:
    figures = seen.page.locator("main figure.chart")
    assert figures.count() > 0, f"no chart on {seen.page.url}"  # the page has loaded
    figure = figures.first
    figure.scroll_into_view_if_needed()
    return figure


def link(figure: Locator, label: str) -> Locator:
    return figure.locator("figcaption a", has_text=re.compile(rf"^\s*{label}\s*$")).first


def download(seen: Visit, figure: Locator, label: str) -> bytes:
    """The file the figure's `label` link downloads, through the browser."""
    with seen.page.expect_download(timeout=WAIT) as started:
        link(figure, label).click()
    path = started.value.path()
    assert started.value.failure() is None, started.value.failure()
    return Path(path).read_bytes()


def rows_of(answer: Any) -> list[dict[str, Any]]:
    """The rows of a data API answer: `results` (analysis, measurements, incidents),
    `result` (aggregation) or `events`."""
    for key in ("results", "result", "events"):
        if isinstance(answer, dict) and isinstance(answer.get(key), list):
            rows: list[dict[str, Any]] = answer[key]
            return rows
    raise AssertionError(f"not a data API answer: {str(answer)[:300]}")


def test_chart_picture_loaded(charted: Visit) -> None:
    assert charted.status == 200
    sources = chart_images(charted.page)  # each loaded
    assert sources, "no chart picture"
    assert urlsplit(sources[0]).path.endswith(".svg")
    assert not urlsplit(sources[0]).netloc  # this server's
    assert figure_of(charted).locator("img").first.get_attribute("alt")


def test_interactive_chart_on_click_from_this_server(harness: Harness, where: str) -> None:
    """In a context of its own: its request log starts empty and nothing is cached."""
    context = new_context(harness.browser)
    charted = visit(context, harness.served, where)
    try:
        clicked(harness, charted)
    finally:
        context.close()


def clicked(harness: Harness, charted: Visit) -> None:
    figure = figure_of(charted)
    source = figure.locator("img").first.get_attribute("src")
    assert not [u for u in charted.requests if VEGA in u], "Vega loaded before any click"
    figure.get_by_role("button", name="Interactive chart").click()
    view = figure.locator(".chart-view canvas, .chart-view svg").first
    view.wait_for(state="visible", timeout=WAIT)
    charted.page.wait_for_load_state("networkidle", timeout=WAIT)
    assert figure.locator(f'img[src="{source}"]').count() == 0  # the view took its place
    assert figure.locator(".chart-error").count() == 0
    assert [u for u in charted.requests if VEGA in u], "no Vega request on the click"
    assert foreign(charted.requests, harness.served) == []
    assert charted.errors == []


def test_csv_download_has_the_api_columns(charted: Visit) -> None:
    figure = figure_of(charted)
    body = download(charted, figure, "CSV").decode("utf-8")
    table = list(csv.reader(io.StringIO(body)))
    json_url = link(figure, "JSON").get_attribute("href") or ""
    answer = charted.page.request.get(urljoin(charted.page.url, json_url))
    assert answer.status == 200
    rows = rows_of(answer.json())
    assert rows, f"the chart's API query {json_url} answers no row"
    assert table[0] == list(rows[0])
    assert len(table) - 1 == len(rows)


def test_svg_download_is_xml(charted: Visit) -> None:
    root = ElementTree.fromstring(download(charted, figure_of(charted), "SVG"))
    assert root.tag == SVG
    assert float(root.attrib["width"]) > 0
    assert float(root.attrib["height"]) > 0


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR, after checking the signature and the chunk's CRC
    (PNG, 2nd ed., §5.2-§5.3, §11.2.2: IHDR comes first and is 13 bytes)."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    (crc,) = struct.unpack(">I", data[29:33])
    assert zlib.crc32(data[12:29]) == crc
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_png_download_is_the_chart(charted: Visit) -> None:
    figure = figure_of(charted)
    data = download(charted, figure, "PNG")
    width, height = png_size(data)
    href = link(figure, "PNG").get_attribute("href") or ""
    decoded = charted.page.evaluate(
        """href => new Promise((resolve, reject) => {
            const img = new Image();
            img.onload = () => resolve([img.naturalWidth, img.naturalHeight]);
            img.onerror = () => reject(new Error("the browser cannot decode " + href));
            img.src = href;
        })""",
        href,
    )
    assert decoded == [width, height]
    svg = ElementTree.fromstring(download(charted, figure, "SVG"))
    drawn_width, drawn_height = float(svg.attrib["width"]), float(svg.attrib["height"])
    # The same picture at a scale: the heights agree within the pixel the PNG rounds to.
    assert abs(height - drawn_height * width / drawn_width) < 1
