"""interactive.js in real headless Chromium, under the explorer's CSP (no 'unsafe-eval').

A page on a loopback server holds three charts as pictures: one whose spec is served, one whose
spec is missing, one whose spec is on another origin. Until a click nothing but the page, the
script and the pictures is requested; a click loads Vega's three files once, and the chart
appears, with its tooltip on hover, and no CSP violation: Vega evaluates the spec's expressions
with the interpreter, since the page cannot compile them (`new Function` throws there, checked).
The failures are text in their figures, the picture stays. Without Chromium this test fails
(CI installs Debian's `chromium`, scripts/system-packages.txt).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, sync_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from netvigil.web.static import routes
from tests.incidents.test_pages import CHROMIUM_FLAGS  # no sandbox, nothing of its own online
from tests.probe.world import free_port
from tests.served import served

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data: blob:"
)
VENDOR = ["vega/vega.min.js", "vega-lite/vega-lite.min.js", "vega-embed/vega-embed.min.js"]
SPEC = {
    "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
    "data": {"values": [{"country": "IR", "blocked": 12}, {"country": "MM", "blocked": 7}]},
    "params": [{"name": "pick", "select": {"type": "point", "on": "pointerover"}}],
    "mark": "bar",
    "encoding": {
        "x": {"field": "country", "type": "nominal"},
        "y": {"field": "blocked", "type": "quantitative"},
        "tooltip": [{"field": "country"}, {"field": "blocked"}],
        "opacity": {"condition": {"param": "pick", "value": 1}, "value": 0.5},
    },
}
# The witness that the page forbids compiling code, as the explorer's pages do (Playwright's own
# evaluate() is exempt from the CSP, so the check runs as a script of the page).
WITNESS = (
    "try { new Function('return 1'); document.body.dataset.compiling = 'allowed'; }"
    " catch (e) { document.body.dataset.compiling = e.name; }"
)
PICTURE = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
    '<rect width="40" height="20"/></svg>'
)


def figure(ident: str, spec: str) -> str:
    return (
        f'<figure class="chart" id="{ident}" data-spec="{spec}" data-label="Diagramme interactif"'
        ' data-error="Le diagramme ne peut être montré" data-save-svg="SVG" data-save-png="PNG">'
        '<img src="/picture.svg" alt="blocked by country">'
        f"<figcaption>{ident}</figcaption></figure>"
    )


PAGE = (
    '<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>charts</title>'
    '<link rel="icon" href="data:,">'
    '<script defer src="/static/interactive.js"></script><script defer src="/witness.js"></script>'
    "</head><body>"
    + figure("good", "/spec.json")
    + figure("missing", "/missing.json")
    + figure("elsewhere", "http://127.0.0.2:9/spec.json")
    + "</body></html>"
)


def app() -> Starlette:
    async def page(request: Request) -> Response:
        return HTMLResponse(PAGE, headers={"Content-Security-Policy": CSP})

    async def spec(request: Request) -> Response:
        return JSONResponse(SPEC)

    async def picture(request: Request) -> Response:
        return Response(PICTURE, media_type="image/svg+xml")

    async def witness(request: Request) -> Response:
        return Response(WITNESS, media_type="text/javascript")

    pages = [Route("/", page), Route("/spec.json", spec), Route("/picture.svg", picture)]
    pages.append(Route("/witness.js", witness))
    return Starlette(routes=pages + routes())


def logged(errors: list[str], message: ConsoleMessage) -> None:
    if message.type == "error":
        errors.append(message.location["url"])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(chromium).exists(), "Debian's chromium is needed (apt-get install chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def test_a_click_makes_the_chart_interactive_under_the_csp(browser: Browser) -> None:
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    with served(app(), port):
        page = browser.new_context().new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: logged(errors, message))
        page.add_init_script(
            "window.violations = [];"
            "document.addEventListener('securitypolicyviolation',"
            " e => window.violations.push(e.violatedDirective + ' ' + e.blockedURI));"
        )
        page.goto(origin + "/")
        page.wait_for_selector("#good button.chart-interactive")
        first = ["/", "/static/interactive.js", "/witness.js", "/picture.svg"]
        assert sorted(requests) == sorted(origin + path for path in first)
        assert page.text_content("#good button") == "Diagramme interactif"
        assert page.get_attribute("body", "data-compiling") == "EvalError"
        page.evaluate("window.violations = []")  # the witness's own refusal is one

        page.click("#good button")
        page.wait_for_selector("#good .chart-view svg .mark-rect path")
        assert page.locator("#good img").count() == 0
        assert page.locator("#good button").count() == 0
        assert page.locator("#good .mark-rect path").count() == 2  # one bar per country
        assert page.locator("#good .vega-actions a").all_text_contents() == ["SVG", "PNG"]
        page.hover("#good .mark-rect path >> nth=0")
        page.wait_for_selector("#vg-tooltip-element.visible")
        assert "IR" in (page.text_content("#vg-tooltip-element") or "")

        page.click("#missing button")
        page.wait_for_selector("#missing .chart-error")
        message = page.text_content("#missing .chart-error") or ""
        assert message.startswith("Le diagramme ne peut être montré (")
        assert "404" in message
        assert page.locator("#missing img").count() == 1
        assert page.locator("#missing button").is_enabled()

        page.click("#elsewhere button")
        page.wait_for_selector("#elsewhere .chart-error")
        assert "not on this server" in (page.text_content("#elsewhere .chart-error") or "")
        assert page.locator("#elsewhere img").count() == 1

        assert page.evaluate("window.violations") == []
        loaded = [url for url in requests if "/static/vendor/" in url]
        assert sorted(loaded) == sorted(f"{origin}/static/vendor/{file}" for file in VENDOR)
        assert [url for url in requests if not url.startswith(origin + "/")] == []
        assert errors == [f"{origin}/missing.json"]  # its 404, logged by Chromium; nothing else
        page.context.close()
