"""The explorer's routes: every page, chart and static file, over one `Site`.

Each page module brings its own routes; this is the one list server.py mounts, in the order
they are matched (a literal path before a pattern that would also match it).
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from netvigil.web import (
    alerts_page,
    chart_routes,
    country,
    domain,
    events,
    explore,
    home,
    incident_pages,
    measurement,
    network,
    search,
    session,
    static,
    vendors,
)
from netvigil.web.site import Site


def routes(site: Site) -> list[BaseRoute]:
    return [
        *static.routes(),
        *chart_routes.routes(site),
        *home.routes(site),
        *measurement.routes(site),
        *events.routes(site),
        *search.routes(site),
        *incident_pages.routes(site),
        *alerts_page.routes(site),
        *session.routes(site),
        *explore.routes(site),
        *country.routes(site),
        *network.routes(site),
        *domain.routes(site),
        *vendors.routes(site),
    ]
