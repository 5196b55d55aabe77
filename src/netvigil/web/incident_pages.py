"""The incident pages: list, read, create, review and publish incidents, without JavaScript.

- In the explorer's layout (layout.py): Jinja2 with autoescaping, so every member-supplied
  string is text, never markup; the Content-Security-Policy allows scripts from this server
  only, so even a string that slipped through could not run (reliability.md §3.3: XSS is
  MISP's largest CVE class). Every page is `Cache-Control: no-store`: it is its reader's.
- The session, every form's CSRF token and logging in: session.py.
- The same service and access rules as the API: a page never shows more than a read would,
  and an incident is read through the incidents' service with the session's principal.
- Names beside codes and evidence as links into the explorer: incident_view.py.
"""

from __future__ import annotations

import datetime as dt
from typing import get_args

import msgspec
from starlette.responses import Response
from starlette.routing import Route

from netvigil.incidents import access, store
from netvigil.incidents.filters import Filter
from netvigil.incidents.levels import Level
from netvigil.incidents.model import IncidentInput, Kind
from netvigil.incidents.validate import InvalidIncident, describe
from netvigil.web.incident_view import asns_of, country_link, domain_link, view
from netvigil.web.session import Visit, Work, handler, see_other
from netvigil.web.site import Site

# Until the static files' route (`/static/{path}`, helper "static") lands, this one file is
# served here, from the explorer's own folder; the lead removes this route at the merge.
ACTIONS = ("publish", "review", "retract")


def routes(site: Site) -> list[Route]:
    instance = site.instance

    def listing(visit: Visit) -> Response:
        who, service = visit.who, instance.service
        found = service.view(who, instance.select(who, Filter(limit=10**9)))
        return visit.render("incidents/list.html", incidents=found, country_link=country_link)

    def show(visit: Visit) -> Response:
        who, service = visit.who, instance.service
        incident = service.view(who, [service.get(who, visit.params["id"])])[0]
        with instance.engine.connect() as connection:
            sharing = store.sharing_of(connection, incident)
            requester = store.requested_by(connection, incident.id)
        actions = []
        live = incident.status != "retracted"
        unpublished = incident.publication == "none" and incident.visibility != "public"
        if live and unpublished and access.can_revise(who, sharing):
            actions.append("publish")
        requested = incident.publication == "requested"
        if live and requested and access.can_review(who, sharing, requester):
            actions.append("review")
        if live and access.can_retract(who, sharing):
            actions.append("retract")
        uids = [e.ref for e in incident.evidence if e.type == "measurement"]
        seen = site.data.seen(uids)
        names = site.data.networks(asns_of(incident, seen))
        return visit.render(
            "incidents/show.html",
            incident=incident,
            actions=actions,
            shown=view(incident, instance.url, seen, names),
            country_link=country_link,
            domain_link=domain_link,
        )

    def act(name: str) -> Route:
        def work(visit: Visit) -> Response:
            ident, service = visit.params["id"], instance.service
            if name == "publish":
                service.request_publication(visit.who, ident)
            elif name == "review":
                service.review(visit.who, ident, approve=True)
            else:
                service.retract(visit.who, ident, visit.form.get("reason", ""))
            return see_other(f"/incidents/{ident}")

        endpoint = handler(site, work, post=True)
        path = f"/incidents/{{id}}/{name}"
        return Route(path, endpoint, methods=["POST"], include_in_schema=False)

    def new_form(visit: Visit) -> Response:
        if visit.who.kind != "member":
            return see_other("/login")
        return form(visit, [], 200)

    def form(visit: Visit, problems: list[str], status: int) -> Response:
        return visit.render(
            "incidents/new.html",
            status,
            problems=problems,
            form=visit.form,
            groups=instance.group_names(),
            levels=[(level.label, level.plain) for level in Level],
            kinds=get_args(Kind),
        )

    def create(visit: Visit) -> Response:
        f = visit.form
        try:
            start = dt.datetime.fromisoformat(f.get("start", "")).replace(tzinfo=dt.UTC)
            data = msgspec.convert(
                {
                    "title": f.get("title", ""),
                    "summary": f.get("summary", ""),
                    "kind": f.get("kind", ""),
                    "start": {"time": start},
                    "countries": [
                        c.strip().upper() for c in f.get("countries", "").split(",") if c.strip()
                    ],
                    "visibility": f.get("visibility", "draft"),
                    "sharing_group": f.get("sharing_group") or None,
                },
                IncidentInput,
            )
            made = instance.service.create(visit.who, data)
        except msgspec.ValidationError as exc:  # the form again, saying what to correct
            return form(visit, [describe(exc)], 400)
        except InvalidIncident as exc:
            return form(visit, exc.problems, 400)
        except ValueError as exc:  # a start that is not a date
            return form(visit, [str(exc).splitlines()[0]], 400)
        return see_other(f"/incidents/{made.id}")

    def get(path: str, work: Work) -> Route:
        return Route(path, handler(site, work), methods=["GET"], include_in_schema=False)

    return [
        get("/incidents", listing),
        get("/incidents/new", new_form),
        Route(
            "/incidents/new",
            handler(site, create, post=True),
            methods=["POST"],
            include_in_schema=False,
        ),
        get("/incidents/{id}", show),
        *(act(name) for name in ACTIONS),
    ]
