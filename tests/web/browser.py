"""The explorer in a real browser: one `netvigil serve --demo` with the corpus, one Chromium.

The server is what a newcomer runs (`netvigil serve --demo`, a subprocess on a free loopback
port), on a temporary data folder into which the web-connectivity corpus was first ingested
with `netvigil ingest`, as an operator would. The paths visited are picked from the data API's
answers (`Picks`), never guessed. Both the server and Debian's Chromium (driven by Playwright,
as tests/incidents/test_pages.py launches it) are started once: the server for the whole test
session, shared by the test_browser_*.py modules (`shared`), the browser once per module.

`visit` opens one page and keeps its request log (every request, every host), its console
errors and uncaught exceptions, and the bytes transferred by its first render (the sum of
CDP's `Network.loadingFinished` encodedDataLength until `load` and network idle: headers and
bodies as they came over the wire). Screenshots go to `artefacts/screenshots/` at the
repository's root, or under $NETVIGIL_ARTEFACTS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from babel import Locale
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    sync_playwright,
)
from playwright.sync_api import Response as PageResponse

from tests.incidents.test_pages import CHROMIUM_FLAGS
from tests.observatory.running import wait_ready
from tests.probe.world import free_port

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared/corpus/ooni-measurements/ooni-webconnectivity-corpus.jsonl"
BUDGET = 300 * 1024  # bytes: the "first render ≤ 300 KB transferred"
WAIT = 30_000  # ms: only ends a hung wait; Playwright waits for conditions, not durations


def artefacts() -> Path:
    return Path(os.environ.get("NETVIGIL_ARTEFACTS") or ROOT / "artefacts")


@dataclass(frozen=True)
class Served:
    url: str  # http://127.0.0.1:PORT
    log: Path  # the server's stdout and stderr

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    def api(self, path: str) -> Any:
        answer = httpx.get(self.url + path, timeout=60)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:500])
        return answer.json()


@dataclass(frozen=True)
class Picks:
    """What the pages are asked about, from the data API's answers.

    The blocked measurement is the first of `/api/v1/analysis?outcome=blocked` (the newest):
    its country, network, domain and uid are the pages visited. Events and incidents are the
    first the API lists, None when it lists none (the tests needing one then fail)."""

    cc: str
    country: str  # its English name (CLDR's, through Babel)
    asn: str  # "AS23693"
    network: str  # the probe's name for its network, as the API gives it
    domain: str
    input: str
    uid: str
    outcome: str
    event: dict[str, Any] | None
    incident: dict[str, Any] | None


def pick(served: Served) -> Picks:
    blocked = served.api("/api/v1/analysis?outcome=blocked")["results"]
    assert blocked, "the demo and corpus hold no blocked measurement"
    row = blocked[0]
    events = served.api("/api/v1/events")["events"]
    incidents = served.api("/api/v1/incidents")["results"]
    return Picks(
        cc=row["probe_cc"],
        country=Locale("en").territories[row["probe_cc"]],
        asn=row["probe_asn"],
        network=row["probe_network_name"],
        domain=urlsplit(row["input"]).hostname or "",
        input=row["input"],
        uid=row["measurement_uid"],
        outcome=row["outcome"],
        event=events[0] if events else None,
        incident=incidents[0] if incidents else None,
    )


@contextmanager
def serve_demo(folder: Path) -> Iterator[Served]:
    """`netvigil serve --demo` on loopback over the ingested corpus, stopped on exit."""
    data = folder / "observatory"
    command = [sys.executable, "-m", "netvigil", "ingest", str(CORPUS), "--workers", "1"]
    done = subprocess.run(
        [*command, "--data-dir", str(data)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    lines = len(CORPUS.read_bytes().splitlines())  # one measurement a line (SOURCES.md)
    assert done.returncode == 0, done.stderr
    assert f": {lines} new, 0 duplicate(s) of stored ones, 0 error(s)" in done.stderr
    port, log = free_port(), folder / "server.log"
    with log.open("wb") as output:
        command = [sys.executable, "-m", "netvigil", "serve", "--demo", "--port", str(port)]
        server = subprocess.Popen(
            [*command, "--data-dir", str(data)],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, seconds=180)
            yield Served(url=url, log=log)
        finally:
            server.terminate()
            server.wait(timeout=30)


@contextmanager
def chromium() -> Iterator[Browser]:
    path = Path("/usr/bin/chromium")
    assert path.exists(), "Debian's chromium is needed (apt-get install chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(path), args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass(frozen=True)
class Harness:
    served: Served
    browser: Browser
    picks: Picks
    first_render: dict[str, int]  # page name → bytes, written to artefacts at the end


_SERVED: list[tuple[Served, Picks, dict[str, int]]] = []


@contextmanager
def shared(config: pytest.Config) -> Iterator[Harness]:
    """The session's one server, started by the first module that asks and stopped when
    pytest ends (modules' fixtures cannot share a session fixture without a conftest.py,
    which is not this file's), and a browser for the module: Playwright's sync API cannot be
    started twice in one thread, so it is stopped before the next module that uses it (this
    suite's or another's, e.g. test_interactive.py)."""
    if not _SERVED:
        stack = ExitStack()
        config.add_cleanup(stack.close)
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nv-browser-")))
        served = stack.enter_context(serve_demo(folder))
        figures: dict[str, int] = {}
        stack.callback(write_first_render, figures)
        _SERVED.append((served, pick(served), figures))
    served, picks, figures = _SERVED[0]
    with chromium() as browser:
        yield Harness(served, browser, picks, figures)


def write_first_render(figures: dict[str, int]) -> None:
    if figures:
        out = artefacts() / "first-render-bytes.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(dict(sorted(figures.items())), indent=1) + "\n")


@dataclass
class Visit:
    """One page opened in a context, and what the browser saw while it was open."""

    page: Page
    response: PageResponse | None
    requests: list[str] = field(default_factory=list)  # every request of the context
    errors: list[str] = field(default_factory=list)
    transferred: int = 0
    _stop: Callable[[], None] = lambda: None

    @property
    def status(self) -> int:
        assert self.response is not None, "no response to the page's navigation"
        return self.response.status

    def main_text(self) -> str:
        return self.page.locator("main").inner_text()

    def close(self) -> None:
        self._stop()
        self.page.close()


def foreign(requests: list[str], served: Served) -> list[str]:
    """The requests not to the server: any host but 127.0.0.1:PORT. `data:` URLs are no
    request to anyone; a `blob:` URL is only the server's own."""
    wrong = []
    for url in requests:
        parts = urlsplit(url)
        if parts.scheme == "data":
            continue
        if parts.scheme == "blob" and url.startswith(f"blob:{served.url}/"):
            continue
        if parts.scheme != "http" or parts.netloc != served.host:
            wrong.append(url)
    return wrong


def visit(
    context: BrowserContext,
    served: Served,
    path: str,
    *,
    measure: bool = False,
    expected_status: int = 200,
) -> Visit:
    """Open `path`, wait for `load` and network idle. The request log is the context's (a
    worker's or a popup's requests count too). Console errors and uncaught exceptions are
    kept, except the one Chromium logs for the document itself when its status is the error
    `expected_status` (a 404 page is a failed load to the console)."""
    page = context.new_page()
    seen = Visit(page=page, response=None)

    def requested(request: Request) -> None:
        seen.requests.append(request.url)

    context.on("request", requested)
    seen._stop = lambda: context.remove_listener("request", requested)
    page.on("pageerror", lambda error: seen.errors.append(f"uncaught: {error}"))
    target = served.url + path

    def console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url")
        if where == f"{served.url}/favicon.ico":
            return  # fetched whenever Chromium pleases, so checked by `icon`, not here
        document = (
            expected_status >= 400
            and where == target
            and message.text.startswith(
                f"Failed to load resource: the server responded with a status of {expected_status}"
            )
        )
        if not document:
            seen.errors.append(f"console: {message.text} at {where}")

    page.on("console", console)
    sizes: list[float] = []
    if measure:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on("Network.loadingFinished", lambda event: sizes.append(event["encodedDataLength"]))
    seen.response = page.goto(target, wait_until="load", timeout=WAIT)
    page.wait_for_load_state("networkidle", timeout=WAIT)
    seen.transferred = int(sum(sizes))
    return seen


def icon(visit: Visit, served: Served) -> tuple[str, int]:
    """The page's icon and its status: the `<link rel=icon>`'s, else /favicon.ico, which
    browsers ask for (a 404 there is a console error on every page). A `data:` icon is 200."""
    links = visit.page.locator('head link[rel~="icon"]')
    href = links.first.get_attribute("href") if links.count() else None
    address = urljoin(visit.page.url, href or "/favicon.ico")
    if address.startswith("data:"):
        return address, 200
    return address, visit.page.request.get(address).status


def screenshot(page: Page, name: str) -> Path:
    out = artefacts() / "screenshots" / f"{name}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out), full_page=True)
    return out


def chart_images(page: Page) -> list[str]:
    """The `src` of every chart picture on the page, each scrolled into view (they load
    lazily) and waited for until it has loaded with a size: naturalWidth > 0."""
    pictures = page.locator("main figure.chart img")
    sources = []
    for index in range(pictures.count()):
        picture = pictures.nth(index)
        picture.scroll_into_view_if_needed(timeout=WAIT)
        source = picture.get_attribute("src") or ""
        page.wait_for_function("img => img.complete", arg=picture.element_handle())
        width = picture.evaluate("img => img.naturalWidth")
        assert width > 0, f"the chart picture {source} did not load"
        sources.append(source)
    return sources


def new_context(browser: Browser, **options: Any) -> BrowserContext:
    context = browser.new_context(**options)
    context.set_default_timeout(WAIT)
    return context
