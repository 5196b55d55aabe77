"""`/country/{CC}`: what netvigil knows of a country, in plain language.

The overview says how many measurements, networks and days the data holds and what they
showed, outcome by outcome, never more (a measurement without a verdict is counted as one,
and a country with no measurement of access reads so); what works here now (each messaging
app and circumvention tool over the last day, observatory/works_here.py, by network when
there are several); then the websites and apps blocked,
how and since when, each with its witness measurement; the networks measured; the shutdown
and outage timeline with the signals that fired; the incidents; and OONI's own verdicts in a
section of their own. A real country with nothing measured is a page saying so, not a 404.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from netvigil.observatory.eventstore import Stored
from netvigil.observatory.works_here import works_here
from netvigil.web import chart_data, place_ooni
from netvigil.web.charts import Chart
from netvigil.web.layout import Missing, language, page, render
from netvigil.web.names import is_country
from netvigil.web.place_pages import api, incidents_api, names, quoted, redirect
from netvigil.web.place_queries import Place, blocked, grain, overview, shares, timeline
from netvigil.web.place_reports import country_events, incidents, regions
from netvigil.web.session import NO_STORE, header
from netvigil.web.site import Site
from netvigil.web.vendors import vendor_links, vendors_seen


def code(asked: str) -> str:
    """The country code a path names (any case); Missing for anything else."""
    cc = asked.upper() if asked.isascii() else ""
    if not is_country(cc):
        raise Missing(f"No country has the code {quoted(asked)}: a country is two letters (IR).")
    return cc


def country_page(request: Request, site: Site) -> Response:
    asked = request.path_params["cc"]
    cc = code(asked)
    if asked != cc:
        return redirect(request, f"/country/{cc}")
    place = Place("probe_cc", cc)
    known = overview(site.tables, place)
    targets = blocked(site.tables, place, by="target")
    networks = shares(site.tables, place, by="probe_asn")
    works = works_here(site.tables, cc, now=site.now(), as_of_newest=site.folder.demo.is_file())
    events = country_events(site, cc)
    step = grain(known.first, known.last)
    lang, seen = language(request), header(request, site)
    return render(
        request,
        "country.html",
        cc=cc,
        known=known,
        blocked=targets,
        networks=networks,
        events=events,
        incidents=incidents(site, lang, cc=cc, who=seen["who"]),
        ooni=place_ooni.verdicts(site.folder, "probe_cc", cc),
        step=step,
        timeline=timeline(site.tables, place, step),
        works=works,
        names=names(site, targets, networks, events, more=[n.probe_asn for n in works.networks]),
        charts=charts(request, site, cc, step, known.measurements > 0),
        events_chart=timeline_chart(request, site, cc, events),
        regions=regions(events),
        seen_vendors=vendors_seen(site.tables, cc),
        headers=NO_STORE if seen["who"].kind == "member" else None,
        **seen,
        links={
            "overview": api("/api/v1/aggregation", {"probe_cc": cc, "axis_x": "outcome"}),
            "blocked": api(
                "/api/v1/analysis", {"probe_cc": cc, "outcome": "blocked", "limit": 10_000}
            ),
            "techniques": api(
                "/api/v1/aggregation",
                {"probe_cc": cc, "outcome": "blocked", "axis_x": "domain", "axis_y": "technique"},
            ),
            "networks": api(
                "/api/v1/aggregation", {"probe_cc": cc, "axis_x": "probe_asn", "axis_y": "outcome"}
            ),
            "timeline": api(
                "/api/v1/aggregation",
                {
                    "probe_cc": cc,
                    "axis_x": "measurement_start_day",
                    "axis_y": "outcome",
                    "time_grain": step,
                },
            ),
            "events": api("/api/v1/events", {"country": cc}, csv="csv"),
            "works": f"/api/v1/works_here?probe_cc={cc}",
            "incidents": incidents_api({"country": cc}),
            "vendors": vendor_links(cc),
        },
    )


def charts(request: Request, site: Site, cc: str, step: str, measured: bool) -> list[Chart]:
    """Its outcomes over time and the country on the map (none for OONI's ZZ, no place),
    when it has measurements."""
    words = chart_data.words(request)
    if not measured:
        return []
    over_time = chart_data.outcomes(site, {"probe_cc": cc, "time_grain": step}, **words)
    if cc == "ZZ":
        return [over_time]
    return [over_time, chart_data.country_chart(site, {"probe_cc": cc}, **words)]


def timeline_chart(request: Request, site: Site, cc: str, events: list[Stored]) -> Chart | None:
    """Its shutdowns, outages and blocking changes as bars in time, when there are any."""
    if not events or cc == "ZZ":
        return None
    return chart_data.events(site, {"probe_cc": cc}, **chart_data.words(request))


def routes(site: Site) -> list[Route]:
    return [
        Route("/country/{cc}", page(site, country_page), methods=["GET"], include_in_schema=False)
    ]
