"""`/charts/...` in the real app (create_app over a data folder with the corpus measurements
and the Bago events) through httpx's ASGI transport; the renderer's limits; the include."""

from __future__ import annotations

import asyncio
import csv
import functools
import io
import struct
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest
from jinja2 import Environment, PackageLoader
from starlette.applications import Starlette

from netvigil.datadir import DataDir
from netvigil.observatory.errors import Busy
from netvigil.observatory.events_api import parse
from netvigil.server import create_app
from netvigil.web import chart_data, chart_routes
from netvigil.web.render import Renderer, TooManyRows
from tests.web.test_charts import NOW, corpus_days, loaded, parts


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("routes")
    loaded(root)
    return root


def get(folder: Path, *paths: str) -> list[httpx.Response]:
    """The answers of the real app, in one event loop (the app's renderer lives in it)."""

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(folder, now=lambda: NOW))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [await client.get(path) for path in paths]

    return asyncio.run(run())


def event_id(folder: Path) -> str:
    site = parts(DataDir(root=folder))
    return site.events.select(parse({"country": "MM"}))[0].event.id


def test_every_chart_answers_in_every_format(folder: Path) -> None:
    ident = event_id(folder)
    queries = {
        "outcomes": "probe_cc=IR&time_grain=week",
        "heatmap": "axis_x=probe_cc&axis_y=outcome",
        "event": f"id={ident}",
        "events": "probe_cc=MM",
        "world": "",
        "country": "probe_cc=IR",
    }
    types = {
        "svg": "image/svg+xml",
        "png": "image/png",
        "json": "application/json",
        "csv": "text/csv; charset=utf-8",
    }
    paths = [f"/charts/{n}.{ext}?{q}" for n, q in queries.items() for ext in types]
    answers = get(folder, *paths)
    for path, answer in zip(paths, answers, strict=True):
        ext = path.split("?")[0].rsplit(".", 1)[1]
        assert (answer.status_code, answer.headers["content-type"]) == (200, types[ext]), path
    by = dict(zip(paths, answers, strict=True))
    svg = by["/charts/outcomes.svg?probe_cc=IR&time_grain=week"]
    assert ET.fromstring(svg.content).get("width") == "640"
    assert svg.headers["content-disposition"] == 'inline; filename="netvigil-outcomes-IR.svg"'
    png = by["/charts/outcomes.png?probe_cc=IR&time_grain=week"]
    assert png.headers["content-disposition"] == 'inline; filename="netvigil-outcomes-IR.png"'
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png.content[16:24]) == (1280, 520)
    event_png = by[f"/charts/event.png?id={ident}"]
    disposition = event_png.headers["content-disposition"]
    assert disposition == f'inline; filename="netvigil-event-{ident}.png"'
    world = by["/charts/world.json?"].json()
    assert world["data"] == {
        "url": "/static/vendor/world-atlas/countries-110m.json",
        "format": {"type": "topojson", "feature": "countries"},
    }
    assert "script-src" not in svg.headers["content-security-policy"]
    # httpx asks for gzip: the text comes compressed (and decoded here), the PNG as it is
    assert svg.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in png.headers


def test_text_is_sent_plain_to_a_client_that_takes_no_gzip(folder: Path) -> None:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(folder, now=lambda: NOW))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(
                "/charts/world.svg", headers={"Accept-Encoding": "gzip;q=0, identity"}
            )

    answer = asyncio.run(run())
    assert answer.status_code == 200 and "content-encoding" not in answer.headers
    assert ET.fromstring(answer.content).get("width") == "640"


def test_the_chart_holds_what_its_json_and_csv_links_return(folder: Path) -> None:
    site = parts(DataDir(root=folder))
    chart = chart_data.outcomes(site, {"probe_cc": "IR", "time_grain": "day"})
    spec, api, table = get(folder, chart.spec_url, chart.json_url, chart.csv_url)
    assert spec.json()["data"]["values"] == api.json()["result"] == chart.spec["data"]["values"]
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [int(r["measurement_count"]) for r in rows] == [
        c["measurement_count"] for c in chart.spec["data"]["values"]
    ]


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/charts/outcomes.svg?probe_cc=IRN", 400, "probe_cc: expected two letters"),
        ("/charts/outcomes.png?time_grain=decade", 400, "time_grain: expected one of"),
        ("/charts/outcomes.svg?colour=red", 400, "colour: not a parameter of this chart"),
        ("/charts/outcomes.svg?probe_cc=IR&probe_cc=MM", 400, "given more than once"),
        ("/charts/outcomes.svg?since=yesterday", 400, "since: expected a date"),
        ("/charts/heatmap.svg?axis_x=probe_cc", 400, "axis_y: required"),
        ("/charts/heatmap.svg?axis_x=probe_cc&axis_y=probe_cc", 400, "must differ"),
        ("/charts/heatmap.svg?axis_x=probe_cc&axis_y=colour", 400, "axis_y: expected one of"),
        ("/charts/event.svg?id=ev_0000", 400, "id: expected an event id"),
        ("/charts/event.svg?id=ev_00000000000000000000", 404, "no event"),
        ("/charts/events.svg", 400, "probe_cc: expected two letters"),
        ("/charts/country.png?probe_cc=", 400, "probe_cc: empty value"),
        ("/charts/pie.svg", 404, "no chart 'pie.svg'"),
        ("/charts/outcomes.gif", 404, "no chart 'outcomes.gif'"),
    ],
)
def test_bad_requests_are_one_line_json(folder: Path, path: str, status: int, words: str) -> None:
    (answer,) = get(folder, path)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()["error"]
    assert words in error and "\n" not in error


def test_a_chart_over_the_row_cap_is_refused_with_400(folder: Path) -> None:
    site = parts(DataDir(root=folder))
    rows = len(chart_data.heat(site, {"axis_x": "probe_cc", "axis_y": "outcome"}).table)
    small = Renderer(rows=rows - 1)
    app = Starlette(routes=chart_routes.routes(site, small))

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [
                await client.get(f"/charts/heatmap.{ext}?axis_x=probe_cc&axis_y=outcome")
                for ext in ("svg", "json")
            ]

    for answer in asyncio.run(run()):
        assert answer.status_code == 400
        assert answer.json()["error"].startswith(f"this chart would draw {rows} data rows")
    assert small.drawn == 0


def test_the_limiter_refuses_a_render_beyond_its_slots() -> None:
    gate = threading.Event()
    started: list[int] = []

    def held(n: int) -> int:
        started.append(n)
        gate.wait(60)
        return n

    async def run() -> tuple[list[int], str, dict[str, str], int]:
        renderer = Renderer(slots=2, wait=0.0)
        holding = [asyncio.create_task(renderer.run(functools.partial(held, n))) for n in range(2)]
        for _ in range(1000):  # until both hold their slot (bounded)
            if renderer.busy == 2:
                break
            await asyncio.sleep(0)
        with pytest.raises(Busy) as refused:
            await renderer.run(lambda: held(99))
        gate.set()
        done = sorted(await asyncio.gather(*holding))
        after = await renderer.run(lambda: 7)  # the slots are free again
        renderer.close()
        return done, refused.value.message, refused.value.headers, after

    done, message, headers, after = asyncio.run(run())
    assert done == [0, 1] and sorted(started) == [0, 1]  # the third never ran
    assert "busy" in message and headers == {"Retry-After": "5"}
    assert after == 7


def test_a_busy_renderer_answers_503_with_retry_after(folder: Path) -> None:
    site = parts(DataDir(root=folder))
    gate = threading.Event()
    renderer = Renderer(slots=1, wait=0.0)
    app = Starlette(routes=chart_routes.routes(site, renderer))

    async def run() -> httpx.Response:
        holding = asyncio.create_task(renderer.run(lambda: gate.wait(60)))
        for _ in range(1000):
            if renderer.busy == 1:
                break
            await asyncio.sleep(0)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answer = await client.get("/charts/world.svg")
        gate.set()
        await holding
        return answer

    answer = asyncio.run(run())
    assert (answer.status_code, answer.headers["retry-after"]) == (503, "5")
    assert "busy" in answer.json()["error"]
    renderer.close()


def test_the_same_chart_is_drawn_once(folder: Path) -> None:
    site = parts(DataDir(root=folder))
    spec = chart_data.outcomes(site, {"probe_cc": "IR"}).spec

    async def run() -> tuple[bytes, bytes, int]:
        renderer = Renderer()
        first, second = await renderer.svg(spec), await renderer.svg(spec)
        renderer.close()
        return first, second, renderer.drawn

    first, second, drawn = asyncio.run(run())
    assert first == second and drawn == 1
    with pytest.raises(TooManyRows):
        Renderer(rows=1).check(spec)


def test_the_include_shows_the_image_its_downloads_and_its_table(folder: Path) -> None:
    site = parts(DataDir(root=folder))
    chart = chart_data.outcomes(site, {"probe_cc": "IR", "time_grain": "day"})
    env = Environment(loader=PackageLoader("netvigil.web", "templates"), autoescape=True)
    env.add_extension("jinja2.ext.i18n")
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    html = env.get_template("chart.html").render(chart=chart)
    root = ET.fromstring(html)  # the fragment is well-formed: one <figure>
    assert root.tag == "figure" and root.get("data-spec") == chart.spec_url
    assert (root.get("data-label"), root.get("data-name")) == (
        "Interactive chart",
        "netvigil-outcomes-IR",
    )
    img = root.find("img")
    assert img is not None
    assert (img.get("src"), img.get("alt")) == (chart.svg_url, chart.alt)
    assert (img.get("width"), img.get("height")) == ("640", "260")
    links = {a.text: a.get("href") for a in root.iter("a")}
    assert links == {
        "PNG": chart.png_url,
        "SVG": chart.svg_url,
        "JSON": chart.json_url,
        "CSV": chart.csv_url,
        "Vega-Lite spec": chart.spec_url,
    }
    body = root.find("details/table/tbody")
    assert body is not None and len(body) == len(chart.table) == len(corpus_days("IR"))


def test_a_chart_speaks_the_language_of_its_page(folder: Path) -> None:
    persian, english = get(
        folder, "/charts/outcomes.svg?probe_cc=IR&lang=fa", "/charts/outcomes.svg?probe_cc=IR"
    )
    # CLDR's Persian name of Iran (web/names.py), in the chart's title
    assert "ایران" in persian.text and "Iran" not in persian.text
    assert "Outcomes of measurements in Iran, by day" in english.text
