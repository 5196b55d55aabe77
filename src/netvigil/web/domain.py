"""`/domain/{name}`: one website's name, where it is blocked, since when, and how.

Which countries and networks blocked it (each pair with its techniques, its first and last
blocked measurement and a witness), its measurements over time by outcome, and the blocking
change-points the detector found on it. The name is normalised as the analysis table holds
hosts (observatory/columns.py: `host_of` of the measured URL): lower case, IDNA's ASCII form
(RFC 5891, as Python's `idna` codec writes it, like the rest of netvigil), no final dot. A
name that cannot be a host is a 400; one nothing is known of is a 404, but for a name whose
`www.` twin is measured (the table holds `www.facebook.com`, a reader types `facebook.com`),
which is a redirect there.
"""

from __future__ import annotations

import ipaddress
import re

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from netvigil.web import chart_data, place_ooni
from netvigil.web.charts import Chart
from netvigil.web.layout import Missing, Refused, page, render
from netvigil.web.place_pages import api, names, quoted, redirect
from netvigil.web.place_queries import Place, blocked, grain, overview, shares, timeline
from netvigil.web.place_reports import domain_events, regions
from netvigil.web.session import NO_STORE, header
from netvigil.web.site import Site

MAX_NAME = 253  # characters of a DNS name in text (RFC 1035 §2.3.4, without the final dot)
LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")  # `_` is in some measured hosts


def normalised(asked: str) -> str:
    """The host a path names, as the table spells it; Refused for what is no host."""
    refusal = Refused(f"{quoted(asked)} is not a domain name (like example.org).")
    if not asked or len(asked) > 4 * MAX_NAME:  # before any work on a 10 KB path
        raise refusal
    text = asked.strip().rstrip(".").lower()
    try:
        return str(ipaddress.ip_address(text.strip("[]")))  # a URL can name an address
    except ValueError:
        pass
    try:
        name = text if text.isascii() else text.encode("idna").decode("ascii")
    except UnicodeError:
        raise refusal from None
    labels = name.split(".")
    if len(name) > MAX_NAME or not all(LABEL.fullmatch(label) for label in labels):
        raise refusal
    return name


def domain_page(request: Request, site: Site) -> Response:
    asked = request.path_params["name"]
    name = normalised(asked)
    if asked != name:
        return redirect(request, f"/domain/{name}")
    place = Place("domain", name)
    known = overview(site.tables, place)
    events = domain_events(site, name)
    ooni = place_ooni.verdicts(site.folder, "domain", name)
    if not known.measurements and not events and ooni is None:
        twin = name.removeprefix("www.") if name.startswith("www.") else f"www.{name}"
        if overview(site.tables, Place("domain", twin)).measurements:
            return RedirectResponse(f"/domain/{twin}", status_code=302)  # data, not a rule
        raise Missing(f"netvigil knows nothing of {quoted(name)}: no measurement or event.")
    networks = blocked(site.tables, place, by="network")
    step = grain(known.first, known.last)
    seen = header(request, site)
    return render(
        request,
        "domain.html",
        domain=name,
        known=known,
        blocked=networks,
        countries=shares(site.tables, place, by="probe_cc"),
        events=events,
        regions=regions(events),
        ooni=ooni,
        step=step,
        timeline=timeline(site.tables, place, step),
        names=names(site, networks, events=events),
        charts=charts(request, site, name, step) if known.measurements else [],
        headers=NO_STORE if seen["who"].kind == "member" else None,
        **seen,
        links={
            "overview": api(
                "/api/v1/aggregation", {"domain": name, "axis_x": "probe_cc", "axis_y": "outcome"}
            ),
            "blocked": api(
                "/api/v1/analysis", {"domain": name, "outcome": "blocked", "limit": 10_000}
            ),
            "networks": api(
                "/api/v1/aggregation",
                {
                    "domain": name,
                    "outcome": "blocked",
                    "axis_x": "probe_asn",
                    "axis_y": "technique",
                },
            ),
            "timeline": api(
                "/api/v1/aggregation",
                {
                    "domain": name,
                    "axis_x": "measurement_start_day",
                    "axis_y": "outcome",
                    "time_grain": step,
                },
            ),
            "events": api("/api/v1/events", {"kind": "blocking_change"}, csv="csv"),
        },
    )


def charts(request: Request, site: Site, name: str, step: str) -> list[Chart]:
    """Its outcomes over time, and a heat-map of the share found blocked in each country in
    each period (a grid of countries by outcome would be 0 % or 100 % in every cell)."""
    words = chart_data.words(request)
    return [
        chart_data.outcomes(
            site,
            {"domain": name, "time_grain": step},
            title=words["gettext"]("Outcomes of measurements of {domain}, by {grain}").format(
                domain=name, grain=step
            ),
            **words,
        ),
        chart_data.heat(
            site,
            {
                "domain": name,
                "axis_x": "measurement_start_day",
                "axis_y": "probe_cc",
                "time_grain": step,
            },
            **words,
        ),
    ]


def routes(site: Site) -> list[Route]:
    return [
        Route(
            "/domain/{name:path}", page(site, domain_page), methods=["GET"], include_in_schema=False
        )
    ]
