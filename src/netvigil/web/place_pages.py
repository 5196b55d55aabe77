"""What the three place pages share: the canonical address of a place, the data-API links of
their lists, and the names beside the numbers.

- A place has one address: `/country/IR`, `/network/AS197207`, `/domain/example.org`. Any
  other spelling that means the same place (`ir`, `as197207`, `Example.ORG`) is a permanent
  redirect there (RFC 9110 §15.4.2), the query string (a language switch) kept.
- Every list links to the API query whose rows it shows, as JSON and as CSV (issue 12: what
  a reader can put in a report). The parameters are the API's own (observatory/query.py).
- A value from the request quoted in a refusal is cut short: a 10 KB path is not echoed back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import quote, urlencode

import msgspec
from starlette.requests import Request
from starlette.responses import RedirectResponse

from netvigil.observatory.eventstore import Stored
from netvigil.web.names import network_names
from netvigil.web.place_queries import Blocked, Share
from netvigil.web.site import Site

QUOTED = 60  # characters of a request's value a refusal repeats


class Api(msgspec.Struct, frozen=True):
    """A data-API query: its JSON answer and the same as CSV."""

    json: str
    csv: str


def api(path: str, params: Mapping[str, str | int], csv: str = "CSV") -> Api:
    """`csv` is how the endpoint spells the format (the data API CSV, events and incidents csv)."""
    query = urlencode(list(params.items()))
    base = f"{path}?{query}" if query else path
    return Api(json=base, csv=f"{base}{'&' if query else '?'}format={csv}")


def incidents_api(params: Mapping[str, str | int]) -> Api:
    """The incidents' listing as JSON, and their export as CSV (incidents/api.py)."""
    query = urlencode(list(params.items()))
    return Api(
        json=f"/api/v1/incidents?{query}", csv=f"/api/v1/incidents/export?{query}&format=csv"
    )


def quoted(text: str) -> str:
    """The request's value as a refusal repeats it: printable, and at most QUOTED characters."""
    shown = "".join(c if c.isprintable() else "\N{REPLACEMENT CHARACTER}" for c in text[:QUOTED])
    return repr(shown + ("…" if len(text) > QUOTED else ""))


def redirect(request: Request, path: str) -> RedirectResponse:
    """A permanent redirect to the canonical `path` (already safe), keeping the query."""
    query = request.url.query
    target = quote(path, safe="/:") + (f"?{query}" if query else "")
    return RedirectResponse(target, status_code=301)


def names(
    site: Site,
    blocked: Iterable[Blocked] = (),
    shares: Iterable[Share] = (),
    events: Iterable[Stored] = (),
    more: Iterable[int] = (),
) -> dict[int, str]:
    """AS names of every network a page shows, in one query."""
    asns = [asn for b in blocked for asn in b.probe_asn]
    asns += [s.key for s in shares if isinstance(s.key, int)]
    for stored in events:
        event = stored.event
        asns += [n.asn for n in event.networks]
        if event.entity.startswith("asn:"):
            asns.append(int(event.entity[4:]))
    return network_names(site, [*asns, *more])
