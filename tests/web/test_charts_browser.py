"""Every chart in real headless Chromium: a page of the six includes (chart.html) on a loopback
server with the chart routes and the static files, under the explorer's CSP (layout.HEADERS:
no 'unsafe-eval', no inline style). Each server-drawn picture loads at its stated size; a
click on each makes it interactive with the vendored Vega (its expressions run by the
interpreter); nothing fails, nothing breaks the CSP, no other host is asked for anything."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from jinja2 import Environment, PackageLoader
from playwright.sync_api import Browser, sync_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from netvigil.observatory.events_api import parse
from netvigil.web import chart_data, chart_routes, static
from netvigil.web.charts import Chart
from netvigil.web.layout import HEADERS
from tests.incidents.test_pages import CHROMIUM_FLAGS
from tests.probe.world import free_port
from tests.served import served
from tests.web.test_charts import Parts, loaded, parts

NAMES = ("outcomes", "heatmap", "event", "events", "world", "country")


def charts(site: Parts) -> list[Chart]:
    ident = site.events.select(parse({"country": "MM"}))[0].event.id
    return [
        chart_data.outcomes(site, {"probe_cc": "IT", "time_grain": "month"}),
        chart_data.heat(site, {"axis_x": "probe_cc", "axis_y": "outcome"}),
        chart_data.event(site, {"id": ident}),
        chart_data.events(site, {"probe_cc": "MM"}),
        chart_data.world(site, {}),
        chart_data.country_chart(site, {"probe_cc": "IR"}),
    ]


def page_of(shown: list[Chart]) -> str:
    env = Environment(loader=PackageLoader("netvigil.web", "templates"), autoescape=True)
    env.add_extension("jinja2.ext.i18n")
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    include = env.get_template("chart.html")
    figures = "".join(f'<div id="{c.name}">{include.render(chart=c)}</div>' for c in shown)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>charts</title>'
        '<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/netvigil.css">'
        '<script defer src="/static/interactive.js"></script></head>'
        f"<body>{figures}</body></html>"
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(chromium).exists(), "Debian's chromium is needed (apt-get install chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def test_every_chart_shows_and_turns_interactive_in_chromium(
    browser: Browser, tmp_path: Path
) -> None:
    site = parts(loaded(tmp_path))
    shown = charts(site)
    html = page_of(shown)

    async def page(request: Request) -> Response:
        return HTMLResponse(html, headers=dict(HEADERS))

    app = Starlette(routes=[Route("/", page), *static.routes(), *chart_routes.routes(site)])
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    with served(app, port):
        tab = browser.new_context().new_page()
        requests: list[str] = []
        errors: list[str] = []
        tab.on("request", lambda r: requests.append(r.url))
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.add_init_script(
            "window.violations = [];"
            "document.addEventListener('securitypolicyviolation',"
            " e => window.violations.push(e.violatedDirective + ' ' + e.blockedURI));"
        )
        tab.goto(origin + "/")
        for chart in shown:  # lazy pictures: each is fetched once it comes into view
            tab.locator(f"#{chart.name} img").scroll_into_view_if_needed()
            tab.wait_for_function(
                "n => document.querySelector('#' + n + ' img').complete", arg=chart.name
            )
            size = tab.evaluate(
                "n => { const i = document.querySelector('#' + n + ' img');"
                " return [i.complete, i.naturalWidth, i.naturalHeight]; }",
                chart.name,
            )
            assert size == [True, chart.width, chart.height], chart.name
        for name in NAMES:
            tab.click(f"#{name} button.chart-interactive")
            tab.wait_for_selector(f"#{name} .chart-view canvas, #{name} .chart-view svg")
            assert tab.locator(f"#{name} .chart-error").count() == 0, name
        assert tab.evaluate("window.violations") == []
        assert errors == []
        assert [url for url in requests if not url.startswith(origin + "/")] == []
        atlas = f"{origin}/static/vendor/world-atlas/countries-110m.json"
        assert atlas in requests  # the browser's maps read the vendored file, by URL
        tab.context.close()
