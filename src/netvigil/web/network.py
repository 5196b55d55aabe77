"""`/network/AS{N}`: one network (an autonomous system) by number and name.

Its country or countries (an AS can serve several, and probes report where they are), what
was blocked on it and how, since when, each with its witness measurement; its measurements
over time by outcome; what works on it now (apps and circumvention tools, in the country it
is measured from most); its detected events (the `asn:N` entity) and the incidents naming it;
OONI's verdicts in their own section. A number nothing is known of (no measurement, no
event, no OONI row) is a 404: an empty page would read as a network measured and clean.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from netvigil.observatory.works_here import works_here
from netvigil.web import chart_data, place_ooni
from netvigil.web.layout import Missing, language, page, render
from netvigil.web.names import parse_asn
from netvigil.web.place_pages import api, incidents_api, names, quoted, redirect
from netvigil.web.place_queries import Place, blocked, grain, overview, shares, timeline
from netvigil.web.place_reports import incidents, network_events, regions
from netvigil.web.session import NO_STORE, header
from netvigil.web.site import Site


def number(asked: str) -> int:
    """The AS number a path names (`AS1234`, any case, ASCII digits); Missing otherwise."""
    asn = parse_asn(asked) if asked.isascii() else None
    if asn is None:
        raise Missing(f"No network is called {quoted(asked)}: a network is AS and its number.")
    return asn


def network_page(request: Request, site: Site) -> Response:
    asked = request.path_params["asn"]
    asn = number(asked)
    if asked != f"AS{asn}":
        return redirect(request, f"/network/AS{asn}")
    place = Place("probe_asn", asn)
    known = overview(site.tables, place)
    events = network_events(site, asn)
    ooni = place_ooni.verdicts(site.folder, "probe_asn", asn)
    if not known.measurements and not events and ooni is None:
        raise Missing(f"netvigil knows nothing of AS{asn}: no measurement, event or verdict.")
    targets = blocked(site.tables, place, by="target")
    step = grain(known.first, known.last)
    countries = shares(site.tables, place, by="probe_cc")
    # What works here: in the country it is measured from most (an AS rarely serves two).
    home = str(countries[0].key) if countries else None
    demo = site.folder.demo.is_file()  # a fixed sample: as of its newest measurement
    works = (
        works_here(site.tables, home, now=site.now(), asn=asn, as_of_newest=demo) if home else None
    )
    shown = names(site, targets, events=events, more=[asn])
    lang, seen = language(request), header(request, site)
    return render(
        request,
        "network.html",
        asn=asn,
        as_name=shown.get(asn),
        known=known,
        countries=countries,
        works=works,
        blocked=targets,
        events=events,
        incidents=incidents(site, lang, asn=asn, who=seen["who"]),
        ooni=ooni,
        step=step,
        timeline=timeline(site.tables, place, step),
        names=shown,
        regions=regions(events),
        charts=[
            chart_data.outcomes(
                site, {"probe_asn": f"AS{asn}", "time_grain": step}, **chart_data.words(request)
            )
        ]
        if known.measurements
        else [],
        headers=NO_STORE if seen["who"].kind == "member" else None,
        **seen,
        links={
            "overview": api(
                "/api/v1/aggregation", {"probe_asn": asn, "axis_x": "probe_cc", "axis_y": "outcome"}
            ),
            "blocked": api(
                "/api/v1/analysis", {"probe_asn": asn, "outcome": "blocked", "limit": 10_000}
            ),
            "techniques": api(
                "/api/v1/aggregation",
                {"probe_asn": asn, "outcome": "blocked", "axis_x": "domain", "axis_y": "technique"},
            ),
            "timeline": api(
                "/api/v1/aggregation",
                {
                    "probe_asn": asn,
                    "axis_x": "measurement_start_day",
                    "axis_y": "outcome",
                    "time_grain": step,
                },
            ),
            "events": api("/api/v1/events", {"entity": f"asn:{asn}"}, csv="csv"),
            "works": f"/api/v1/works_here?probe_cc={home}&probe_asn={asn}",
            "incidents": incidents_api({"asn": asn}),
        },
    )


def routes(site: Site) -> list[Route]:
    return [
        Route("/network/{asn}", page(site, network_page), methods=["GET"], include_in_schema=False)
    ]
