"""`/`: what is blocked where, now; ongoing shutdowns and outages; recent incidents; search.

"Now" is what the data shows, not a guess: per country, the sites whose *latest* verdicts
there (blocked, down or ok; a row with no verdict does not count either way) are all
blocked, with the techniques and the day measured, so a site measured accessible since is
not listed as blocked. Apps (whatsapp, telegram, signal…) are listed only once their
nettests are analysed; until then their rows are "unanalysed" and counted as such. OONI's
own verdicts (the demo's fastpath rows) have a section of their own, labelled OONI's, never
mixed into ours. Detected events: the ongoing ones, then the latest ended. Incidents: the
latest public ones. Counts of what the instance holds close the page, and a fresh instance
says what to do.

A client asking for JSON (`Accept: application/json` before text/html) gets the counts as an
object, as before the explorer, so a script can check what an instance holds.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from netvigil import __version__
from netvigil.incidents.access import ANONYMOUS
from netvigil.incidents.filters import Filter
from netvigil.observatory import ooni_verdicts
from netvigil.observatory.data import query_rows
from netvigil.observatory.eventstore import Query
from netvigil.web import chart_data
from netvigil.web.event_series import attributions
from netvigil.web.events import described
from netvigil.web.layout import language, page, render
from netvigil.web.site import Site

LINKS = (
    ("/api/v1/measurements", "measurements (OONI-compatible search)"),
    ("/api/v1/aggregation?axis_x=probe_cc&axis_y=outcome", "counts by country and outcome"),
    ("/api/v1/analysis?outcome=blocked", "our layered verdicts: what was blocked, and how"),
    ("/openapi.json", "the OpenAPI document of every operation"),
    ("/incidents", "incidents: verified reports, with their evidence"),
    ("/api/v1/incidents/feed", "public incidents as an Atom feed"),
)
PER_COUNTRY = 8  # sites listed per country; the country page lists them all

# Per country and site, the verdicts (rows without one, insufficient, unanalysed or error,
# neither show nor hide a block) at the latest time it was measured; it is blocked "now"
# when every one of them is (two at the same second that disagree say nothing for sure).
_BLOCKED_NOW = """
WITH judged AS (
    SELECT probe_cc, domain, outcome, layer, technique, measurement_uid, measurement_start_time,
           max(measurement_start_time) OVER (PARTITION BY probe_cc, domain) AS last
    FROM analysis WHERE domain IS NOT NULL AND outcome IN ('blocked', 'down', 'ok')
)
SELECT probe_cc, domain, min(measurement_uid) AS measurement_uid,
       string_agg(DISTINCT upper(layer) || ' · ' || technique, '; '
                  ORDER BY upper(layer) || ' · ' || technique) AS how,
       strftime(max(last), '%Y-%m-%d') AS day
FROM judged WHERE measurement_start_time = last
GROUP BY probe_cc, domain HAVING bool_and(outcome = 'blocked')
"""
_COUNTS = (
    "SELECT count(*) AS measurements, count(DISTINCT probe_cc) AS countries, "
    "count(DISTINCT probe_asn) AS networks, "
    "strftime(min(measurement_start_time), '%Y-%m-%d') AS first, "
    "strftime(max(measurement_start_time), '%Y-%m-%d') AS last, "
    "count(*) FILTER (WHERE outcome = 'blocked') AS blocked, "
    "count(*) FILTER (WHERE outcome IN ('insufficient', 'unanalysed', 'error')) AS no_verdict "
    "FROM analysis"
)


def facts(site: Site) -> dict[str, Any]:
    """What is loaded: counts over the analysis table and the public incidents."""
    (row,) = query_rows(site.tables, _COUNTS, [])
    public = site.instance.select(ANONYMOUS, Filter(limit=10**9))
    return {
        "name": "netvigil observatory",
        "version": __version__,
        **row,
        "public_incidents": len(public),
        "links": dict(LINKS),
    }


def blocked_now(site: Site) -> list[dict[str, Any]]:
    """Per country (most sites blocked first): the sites whose latest verdict is blocked."""
    rows = query_rows(site.tables, _BLOCKED_NOW, [])
    by_country: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_country[str(row["probe_cc"])].append(row)
    countries = sorted(by_country.items(), key=lambda item: (-len(item[1]), item[0]))
    return [
        {
            "cc": cc,
            "count": len(sites),
            "sites": sorted(sites, key=lambda r: (r["day"], r["domain"]), reverse=True)[
                :PER_COUNTRY
            ],
        }
        for cc, sites in countries
    ]


def ooni_confirmed(site: Site) -> list[ooni_verdicts.DomainCounts]:
    """Sites OONI's own verdicts (the demo's fastpath rows) found confirmed blocked: shown in
    their own section, labelled OONI's, never counted with ours."""
    found = ooni_verdicts.domains(site.folder.ooni_verdicts, limit=1000)
    return sorted((d for d in found if d.confirmed), key=lambda d: (-d.confirmed, d.probe_cc))[
        :PER_COUNTRY
    ]


def _title(text: dict[str, str], lang: str) -> str:
    return text.get(lang) or text.get("en") or next(iter(text.values()), "")


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and (
        "text/html" not in accept or accept.index("application/json") < accept.index("text/html")
    )


def home(request: Request, site: Site) -> Response:
    known = facts(site)
    if _wants_json(request):
        return JSONResponse(known)
    lang = language(request)
    ongoing = site.events.select(Query(ongoing=True, limit=20))
    ended = site.events.select(Query(ongoing=False, limit=5))
    incidents = site.instance.select(ANONYMOUS, Filter(limit=5))
    return render(
        request,
        "home.html",
        known=known,
        countries=blocked_now(site),
        ooni=ooni_confirmed(site),
        ongoing=described(site, ongoing, lang),
        ended=described(site, ended, lang),
        sources=attributions(site.outside),
        incidents=[
            {
                "id": i.id,
                "title": _title(i.title, lang),
                "kind": i.kind,
                "countries": i.countries,
                "status": i.status,
                "updated": i.updated_at.strftime("%Y-%m-%d"),
            }
            for i in incidents
        ],
        chart=chart_data.world(site, {}, **chart_data.words(request))
        if known["measurements"]
        else None,
    )


def routes(site: Site) -> list[Route]:
    return [Route("/", page(site, home), methods=["GET"])]
