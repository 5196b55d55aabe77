"""The charts on real data: the corpus measurements through the real aggregation, Monash's
Bago pings through the real detector; each spec compiled by vl-convert's Vega-Lite, each
image drawn by it and read back (XML, PNG header), the map's colours checked by country.

The helpers at the top are shared with test_charts_routes.py."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import struct
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
import vl_convert

from netvigil.cli import demo_data
from netvigil.datadir import DataDir
from netvigil.detect.engine import detect, wide_heartbeats
from netvigil.detect.model import Event, Series
from netvigil.observatory.data import aggregate
from netvigil.observatory.events_api import parse
from netvigil.observatory.eventstore import EventStore
from netvigil.observatory.heartbeat_store import HeartbeatStore
from netvigil.observatory.ingest import ingest_file
from netvigil.web import chart_data
from netvigil.web.atlas import topology
from netvigil.web.charts import COLOURS, Chart
from netvigil.web.event_bars import events_timeline
from netvigil.web.maps import NO_DATA
from netvigil.web.names import country_name
from netvigil.web.render import png_of, svg_of
from netvigil.web.timelines import event_signals, iso
from tests.corpus import JSONL
from tests.detect.test_engine import bago

NOW = dt.datetime(2021, 5, 1, tzinfo=dt.UTC)  # after the Bago series ends
SVG = "{http://www.w3.org/2000/svg}"


@dataclasses.dataclass(frozen=True)
class Parts:
    """What the charts read of a Site (event_series.Sources), over real stores."""

    tables: Path
    events: EventStore
    heartbeats: HeartbeatStore
    now: Callable[[], dt.datetime]
    outside: Path


def loaded(root: Path) -> DataDir:
    """A data folder with the corpus measurements imported, and the Bago events stored."""
    folder = DataDir(root=root)
    folder.tables.mkdir(parents=True, exist_ok=True)
    result = ingest_file(str(JSONL), str(folder.tables))
    assert (result.rows, result.errors) == (64, ())  # the file's 64 lines (SOURCES.md)
    _, events = bago_events()
    EventStore(folder.events).update([(e, ("MM",)) for e in events], since=events[0].start, now=NOW)
    return folder


def bago_events() -> tuple[Series, list[Event]]:
    series = bago()
    return series, [e for e in detect([series]) if e.end is not None]


def parts(folder: DataDir) -> Parts:
    return Parts(
        tables=folder.tables,
        events=EventStore(folder.events),
        heartbeats=HeartbeatStore(folder.heartbeats, now=lambda: NOW),
        now=lambda: NOW,
        outside=folder.series,
    )


def corpus_count(cc: str) -> int:
    """Measurements from `cc` in the corpus file, counted in the file itself."""
    with JSONL.open() as handle:
        return sum(json.loads(line)["probe_cc"] == cc for line in handle if line.strip())


def corpus_days(cc: str) -> set[str]:
    """The UTC days on which `cc` measured, read from the corpus file."""
    with JSONL.open() as handle:
        found = [json.loads(line) for line in handle if line.strip()]
    return {m["measurement_start_time"][:10] for m in found if m["probe_cc"] == cc}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Parts:
    return parts(loaded(tmp_path_factory.mktemp("charts")))


def every_chart(site: Parts) -> dict[str, Chart]:
    some = site.events.select(parse({"country": "MM"}))[0].event
    return {
        "outcomes": chart_data.outcomes(site, {"probe_cc": "IR", "time_grain": "month"}),
        "heatmap": chart_data.heat(site, {"axis_x": "probe_cc", "axis_y": "outcome"}),
        "event": chart_data.event(site, {"id": some.id}),
        "events": chart_data.events(site, {"probe_cc": "MM"}),
        "world": chart_data.world(site, {}, name=country_name),
        "country": chart_data.country_chart(site, {"probe_cc": "IR"}, name=country_name),
    }


NAMES = ("outcomes", "heatmap", "event", "events", "world", "country")


@pytest.mark.parametrize("name", NAMES)
def test_each_spec_compiles_and_draws_an_svg_with_its_title(site: Parts, name: str) -> None:
    chart = every_chart(site)[name]
    assert chart.name == name
    compiled = vl_convert.vegalite_to_vega(chart.spec, vl_version="6.4")  # raises if invalid
    assert compiled["$schema"].startswith("https://vega.github.io/schema/vega/v6")
    root = ET.fromstring(svg_of(chart.spec))
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height")) == (str(chart.width), str(chart.height))
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert chart.title in texts
    marks = [p.get("aria-roledescription") for p in root.iter(f"{SVG}path")]
    shapes = len(topology()["objects"]["countries"]["geometries"])
    first = chart.spec.get("layer", [chart.spec])[0]  # the event's band is its first layer
    rows = len(first["data"].get("values", []))
    drawn = {  # what each chart draws, one mark per row of its data
        "outcomes": ("bar", rows),
        "heatmap": ("rect mark", rows),
        "event": ("rect mark", rows),
        "events": ("bar", rows),
        "world": ("geoshape", shapes),
        "country": ("geoshape", shapes),
    }
    kind, count = drawn[name]
    assert marks.count(kind) == count > 0
    assert "http" not in json.dumps(chart.spec).replace(chart.spec["$schema"], "")  # no URL


def test_the_png_is_the_chart_at_twice_its_size(site: Parts) -> None:
    chart = every_chart(site)["outcomes"]
    image = png_of(chart.spec, 2.0)
    assert image[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind, width, height = struct.unpack(">I4sII", image[8:24])
    assert (length, kind) == (13, b"IHDR")
    assert (width, height) == (2 * chart.width, 2 * chart.height) == (1280, 520)


def test_outcomes_chart_holds_the_aggregation_cells_of_its_query(site: Parts) -> None:
    chart = every_chart(site)["outcomes"]
    assert chart.query == (
        "/api/v1/aggregation?axis_x=measurement_start_day&axis_y=outcome&probe_cc=IR"
        "&time_grain=month"
    )
    cells, _ = aggregate(
        site.tables,
        {"probe_cc": "IR", "axis_x": "measurement_start_day", "axis_y": "outcome"}
        | {"time_grain": "month"},
    )
    assert chart.spec["data"]["values"] == cells
    bars = [
        p.get("aria-label", "")
        for p in ET.fromstring(svg_of(chart.spec)).iter(f"{SVG}path")
        if p.get("aria-roledescription") == "bar"
    ]
    assert len(bars) == len(cells)  # one bar segment per cell, each with its count
    assert sorted(re.search(r"Measurements: (\d+)", b)[1] for b in bars) == sorted(  # type: ignore[index]
        str(c["measurement_count"]) for c in cells
    )
    # the corpus has 3 measurements from IR; every one is in the chart and its alt text
    total = sum(c["measurement_count"] for c in cells)
    assert total == corpus_count("IR") == 3
    assert "of 3 measurements by outcome" in chart.alt
    assert sum(sum(row[o] for o in COLOURS) for row in chart.table) == 3
    scale = chart.spec["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == COLOURS
    assert chart.svg_url == "/charts/outcomes.svg?probe_cc=IR&time_grain=month"
    assert chart.csv_url == chart.query + "&format=CSV"
    assert chart.filename == "netvigil-outcomes-IR"


def test_heatmap_share_is_blocked_of_those_with_a_verdict_and_every_cell_is_drawn(
    site: Parts,
) -> None:
    chart = every_chart(site)["heatmap"]
    cells, _ = aggregate(site.tables, {"axis_x": "probe_cc", "axis_y": "outcome"})
    assert chart.spec["data"]["values"] == cells
    assert len(chart.table) == len(cells)
    drawn = {}
    for attributes in re.findall(r"<path([^>]*aria-label=\"country: [^>]*)>", svg_of(chart.spec)):
        label = re.search(r'aria-label="country: (\w+); outcome: (\w+);', attributes)
        fill = re.search(r'fill="([^"]+)"', attributes)
        assert label is not None and fill is not None
        drawn[label.groups()] = fill.group(1)
    assert set(drawn) == {(c["probe_cc"], c["outcome"]) for c in cells}  # none dropped
    for cell in cells:
        judged = cell["measurement_count"] - cell["failure_count"]
        key = (cell["probe_cc"], cell["outcome"])
        # no verdict in the cell (insufficient, unanalysed, error): grey, not 0 %
        assert (drawn[key] == NO_DATA) is (judged == 0), key
    full = {drawn[(c["probe_cc"], c["outcome"])] for c in cells if c["outcome"] == "blocked"}
    none = {drawn[(c["probe_cc"], c["outcome"])] for c in cells if c["outcome"] == "ok"}
    assert len(full) == 1 and len(none) == 1 and full != none  # 100 % and 0 %, one colour each


def fill_of(svg: str, country: str) -> str:
    """The fill of the map's shape whose accessible name is `country`."""
    root = ET.fromstring(svg)
    found = [p.get("fill") for p in root.iter(f"{SVG}path") if p.get("aria-label") == country]
    assert len(found) == 1, country
    return str(found[0])


def test_world_map_colours_countries_from_their_rows(site: Parts) -> None:
    chart = every_chart(site)["world"]
    cells, _ = aggregate(site.tables, {"axis_x": "probe_cc"})
    lookup = chart.spec["transform"][1]["from"]["data"]["values"]
    assert lookup == cells
    codes = {c["id"]: c["cc"] for c in chart.spec["transform"][0]["from"]["data"]["values"]}
    assert codes["364"] == "IR" and codes["104"] == "MM"  # ISO 3166-1 numeric → alpha-2
    svg = svg_of(chart.spec)
    grey = NO_DATA
    iran, us, france = (
        fill_of(svg, "Iran"),
        fill_of(svg, "United States"),
        fill_of(svg, "France"),
    )
    assert france == grey  # no measurement from FR in the corpus: grey, not 0 %
    ir = next(c for c in cells if c["probe_cc"] == "IR")
    assert ir["anomaly_count"] > 0  # so Iran is not the 0 % colour that the US has
    assert next(c for c in cells if c["probe_cc"] == "US")["anomaly_count"] == 0
    assert grey not in (iran, us) and iran != us
    # a country whose every measurement is without a verdict is grey, not 0 %: the share is
    # blocked among those with a verdict (the corpus: TM and NL only insufficient)
    for cc, name in (("TM", "Turkmenistan"), ("NL", "Netherlands")):
        cell = next(c for c in cells if c["probe_cc"] == cc)
        assert cell["measurement_count"] == cell["failure_count"] > 0
        assert fill_of(svg, name) == grey
        assert next(r for r in chart.table if r["probe_cc"] == cc)["share"] == "no verdict"
    assert chart.browser is not None
    assert chart.browser["data"]["url"] == "/static/vendor/world-atlas/countries-110m.json"
    assert "values" in chart.spec["data"]
    assert len(json.dumps(chart.browser)) < len(json.dumps(chart.spec)) // 10


def test_country_map_outlines_the_country(site: Parts) -> None:
    chart = every_chart(site)["country"]
    root = ET.fromstring(svg_of(chart.spec))
    iran = [p for p in root.iter(f"{SVG}path") if p.get("aria-label") == "Iran"]
    assert [(p.get("stroke"), p.get("stroke-width")) for p in iran] == [("black", "2")]
    assert chart.spec["projection"]["type"] == "mercator"
    assert chart.filename == "netvigil-country-IR"
    cells, _ = aggregate(site.tables, {"axis_x": "probe_cc", "probe_cc": "IR"})
    blocked = cells[0]["anomaly_count"]
    assert f"{blocked} of its {corpus_count('IR')} measurements found blocked" in chart.alt


def test_event_chart_draws_the_series_and_baseline_around_the_event() -> None:
    series, events = bago_events()
    event = events[10]
    chart = event_signals(event, [series], NOW)
    values = chart.spec["data"]["values"]
    assert {v["what"] for v in values} == {
        "value",
        "baseline",
        "value at firing",
        "baseline at firing",
    }
    inside = [
        v["amount"]
        for v in values
        if v["what"] == "value" and iso(event.start) <= v["time"] < iso(event.end or NOW)
    ]
    # the file: no replies at night during the nightly cuts (01:00–09:00 local)
    assert inside and set(inside) == {0.0}
    band = chart.spec["layer"][0]["data"]["values"]
    assert band == [{"start": iso(event.start), "end": iso(event.end or NOW), "label": "outage"}]
    (fired,) = event.signals
    at = [v for v in values if v["time"] == iso(fired.at)]
    # what the detector saw when it fired is the series' own value there
    assert {v["what"]: v["amount"] for v in at} == {
        "value": fired.value,
        "value at firing": fired.value,
        "baseline": fired.baseline,
        "baseline at firing": fired.baseline,
    }
    assert "could not be read back" not in chart.alt
    assert "against the baseline detection used" in chart.alt
    vl_convert.vegalite_to_vega(chart.spec, vl_version="6.4")


def test_event_chart_without_series_shows_what_the_event_carries() -> None:
    _, events = bago_events()
    event = events[10]
    chart = event_signals(event, [], NOW)
    (fired,) = event.signals
    at = {"time": iso(fired.at), "signal": "responses"}
    assert chart.spec["data"]["values"] == [
        at | {"what": "value at firing", "amount": fired.value},
        at | {"what": "baseline at firing", "amount": fired.baseline},
    ]
    assert "could not be read back" in chart.alt
    assert chart.csv_url == f"/charts/event.csv?id={event.id}"


def test_events_timeline_has_one_bar_per_event() -> None:
    _, events = bago_events()
    chart = events_timeline(events, "MM", NOW, place="Myanmar")
    assert len(chart.spec["data"]["values"]) == len(events) == len(chart.table)
    assert chart.alt.startswith(f"{len(events)} detection events in Myanmar")
    assert chart.title == "Shutdowns and outages in Myanmar"
    assert chart.query == "/api/v1/events?country=MM"


def test_a_language_translates_the_chart_words(site: Parts) -> None:
    words = {"Outcomes of measurements in {where}, by {grain}": "نتایج در {where}، {grain}"}
    chart = chart_data.outcomes(
        site, {"probe_cc": "IR"}, gettext=lambda s: words.get(s, s), name=lambda cc: "ایران"
    )
    assert chart.title == "نتایج در ایران، day"
    assert re.search("نتایج در ایران", svg_of(chart.spec))


def test_a_minute_series_over_hours_is_drawn_as_means_and_says_so() -> None:
    from tests.detect.test_engine import CUT, CUT_MINUTES, T0, network, probes

    series = [network(64500, probes(2, 1, CUT_MINUTES)), network(64501, probes(3, 2, CUT_MINUTES))]
    (event,) = detect(series)
    chart = event_signals(event, [*series, *wide_heartbeats(series)], NOW)
    # shown: the 2-hour cut and 6 hours either side, 840 minutes: over 600 points, so pairs
    assert "Each point is the mean of 2 minutes." in chart.alt
    assert {f.entity for f in event.signals} >= {"country:XX"}
    values = [  # the country's heartbeats: its networks' summed, as detection read them
        v
        for v in chart.spec["data"]["values"]
        if (v["what"], v["signal"]) == ("value", "heartbeats")
    ]
    cut = {iso(dt.datetime.fromtimestamp(T0 + 60 * m, dt.UTC)) for m in CUT_MINUTES}
    assert {v["amount"] for v in values if v["time"] in cut} == {0.0}  # all five were silent
    before = [v["amount"] for v in values if v["time"] < iso(event.start)]
    assert int(event.start.timestamp()) == T0 + 60 * CUT
    assert len(before) == 6 * 60 // 2  # six hours of minutes, in pairs
    assert max(before) <= 5.0 and min(before) > 0  # five probes, each lost 1 % of the time


def test_an_event_from_an_outside_series_is_drawn_over_the_series_the_folder_keeps(
    tmp_path: Path,
) -> None:
    """The demo keeps Monash's Bago series in the data folder (DataDir.series): the chart of
    one of its events reads it back, so it draws the replies per hour, not only the firing."""
    folder = DataDir(root=tmp_path)
    found = demo_data.bago_events(folder)
    nights = [e for e in found if e.end is not None]
    EventStore(folder.events).update([(e, ("MM",)) for e in nights], since=NOW, now=NOW)
    event = nights[10]
    chart = chart_data.event(parts(folder), {"id": event.id})
    drawn = [v for v in chart.spec["data"]["values"] if v["what"] == "value"]
    raw = bago()
    series = {
        iso(dt.datetime.fromtimestamp(int(t), dt.UTC)): float(v)
        for t, v in zip(raw.times, raw.values, strict=True)
    }
    assert drawn and all(series[v["time"]] == v["amount"] for v in drawn)
    assert "could not be read back" not in chart.alt
    (folder.series / "monash-bago-responses.csv").write_text("not,a,series\n")
    unread = chart_data.event(parts(folder), {"id": event.id})  # a bad file: left out
    assert not [v for v in unread.spec["data"]["values"] if v["what"] == "value"]
    assert "could not be read back" in unread.alt
