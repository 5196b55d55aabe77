"""`/alerts`: a member subscribes to alerts from a page: a saved feed, or a webhook.

The page calls the incidents' own functions, as the API's `POST /api/v1/feeds` and
`POST /api/v1/webhooks` do (incidents/api.py), with the session's principal: the same
checks, the same quotas, the same audit entries, never the HTTP API.

- A saved feed is a filter (country, kind, technique, AS number), read with its saver's
  clearance through a secret URL (`Instance.create_feed`); a webhook gets every incident its
  member may read, signed with a `whsec_` secret (`Instance.subscribe`). The URL and the
  secret are shown once, on the answer to the form (no-store), and never again: the store
  keeps the feed's token as its sha256, and has no listing of a member's feeds or webhooks,
  which the page says.
- A webhook's URL is checked as the API checks it (http or https, at most 2,000
  characters); private, loopback and link-local destinations are refused at each delivery
  on the address actually connected to (incidents/delivery.py), unless the server was
  started with `--allow-private-targets`.
- Anonymous visitors are sent to the login form; hostile values get the form again with a
  400 and the problem in one line (an `IncidentError`'s own status and message).
"""

from __future__ import annotations

from typing import Any, get_args

from starlette.responses import Response
from starlette.routing import Route

from netvigil.incidents.errors import IncidentError
from netvigil.incidents.model import Kind, Technique
from netvigil.web.session import Visit, handler, see_other
from netvigil.web.site import Site

FILTERS = ("country", "kind", "technique", "asn")
LONGEST_NAME, LONGEST_URL = 200, 2000  # the API's bounds (api.py: `Call.text`)


def wanted(form: dict[str, str]) -> dict[str, str]:
    """The feed's filter from the form: the fields given, trimmed (a country in capitals)."""
    chosen = {name: form.get(name, "").strip() for name in FILTERS}
    if chosen["country"]:
        chosen["country"] = chosen["country"].upper()
    return {name: value for name, value in chosen.items() if value}


def bounded(form: dict[str, str], name: str, longest: int) -> str | None:
    """The problem with a required text field, in the API's words, or None."""
    value = form.get(name, "")
    return None if 0 < len(value) <= longest else f"{name}: a string of 1 to {longest} characters"


def routes(site: Site) -> list[Route]:
    instance = site.instance

    def page(visit: Visit, status: int = 200, **context: Any) -> Response:
        return visit.render(
            "alerts.html",
            status,
            form=visit.form,
            kinds=get_args(Kind),
            techniques=get_args(Technique),
            public_feed=f"{instance.url}/api/v1/incidents/feed",
            **context,
        )

    def alerts(visit: Visit) -> Response:
        if visit.who.kind != "member":
            return see_other("/login")
        return page(visit)

    def new_feed(visit: Visit) -> Response:
        if visit.who.kind != "member":
            return see_other("/login")
        problem = bounded(visit.form, "name", LONGEST_NAME)
        if problem is not None:
            return page(visit, 400, feed_problem=problem)
        try:
            made = instance.create_feed(visit.who, visit.form["name"], wanted(visit.form))
        except IncidentError as exc:
            return page(visit, exc.status, feed_problem=str(exc))
        return page(visit, feed=made)

    def new_webhook(visit: Visit) -> Response:
        if visit.who.kind != "member":
            return see_other("/login")
        problem = bounded(visit.form, "url", LONGEST_URL)
        if problem is not None:
            return page(visit, 400, webhook_problem=problem)
        try:
            made = instance.subscribe(visit.who, visit.form["url"])
        except IncidentError as exc:
            return page(visit, exc.status, webhook_problem=str(exc))
        return page(visit, webhook=made, url=visit.form["url"])

    return [
        Route("/alerts", handler(site, alerts), methods=["GET"], include_in_schema=False),
        Route(
            "/alerts/feeds",
            handler(site, new_feed, post=True),
            methods=["POST"],
            include_in_schema=False,
        ),
        Route(
            "/alerts/webhooks",
            handler(site, new_webhook, post=True),
            methods=["POST"],
            include_in_schema=False,
        ),
    ]
