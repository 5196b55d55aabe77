"""An incident as its page shows it: places and networks by name, evidence as links.

Pure over the incident and what the observatory's data says of it (`site.data`: where each
measurement given as evidence was made, and the networks' names), so each rule here is
tested without a server:

- a country is its code beside its name, linked to `/country/{CC}` (the template names it
  in the reader's language, names.country_name); a region is ISO 3166-2's name (pycountry);
- a network is `AS{N} · name`, linked to `/network/AS{N}`: the incident's own name for it
  if its author gave one, else the observatory's (the GeoIP database's, else the probes');
- evidence the explorer can show is a link into it: a measurement → `/measurement/{uid}`,
  an aggregate query (`/api/v1/aggregation?...`) → `/explore?...` with the same parameters
  (the explorer keeps the aggregation's names), a detected event (a changepoint whose ref
  is this instance's `/api/v1/events/{id}`) → `/events/{id}`; an http(s) document is a link
  out (the reader sees its whole address); anything else is shown as text, never a link;
- a domain target links to `/domain/{name}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlsplit

import msgspec

from netvigil.incidents.model import Evidence, Incident
from netvigil.incidents.places import subdivision
from netvigil.web.names import is_country

AGGREGATION = "/api/v1/aggregation"
EVENTS = "/api/v1/events/"


class Seen(msgspec.Struct, frozen=True):
    """Where a measurement given as evidence was made."""

    country: str
    asn: int
    network: str


class Network(msgspec.Struct, frozen=True):
    asn: int
    name: str
    type: str


class Shown(msgspec.Struct, frozen=True, kw_only=True):
    """One piece of evidence: its link (None: shown as text), whether the link leaves this
    server, the JSON behind it when that is an API query here, and where it was measured."""

    item: Evidence
    href: str | None
    external: bool = False
    json: str | None = None
    seen: Seen | None = None


class View(msgspec.Struct, frozen=True, kw_only=True):
    countries: list[str]  # codes; the template names them
    subdivisions: list[str]  # "Tehrān (IR-23)"
    networks: list[Network]
    evidence: list[Shown]


def evidence_link(item: Evidence, instance: str) -> tuple[str | None, bool, str | None]:
    """(href, leaves the server, JSON link) of one piece of evidence."""
    ref = item.ref
    if item.type == "measurement":
        return f"/measurement/{quote(ref, safe='')}", False, None
    parts = urlsplit(ref)
    local = not parts.scheme and not parts.netloc
    if item.type == "aggregate_query" and local and parts.path == AGGREGATION:
        return f"/explore?{parts.query}" if parts.query else "/explore", False, ref
    ours = ref.removeprefix(instance) if ref.startswith(f"{instance}/") else ref
    if item.type == "changepoint" and ours.startswith(EVENTS):
        ident = ours.removeprefix(EVENTS)
        if ident and "/" not in ident and "?" not in ident and "#" not in ident:
            return f"/events/{quote(ident, safe='')}", False, ours
    if parts.scheme in ("http", "https") and parts.netloc:
        return ref, True, None
    return None, False, None


def domain_link(kind: str, value: str) -> str | None:
    """`/domain/{name}` for a domain target (a name, not a URL or anything with a path)."""
    name = value.strip().rstrip(".").lower()
    plain = name and all(c.isalnum() or c in "-." for c in name) and name.isascii()
    return f"/domain/{name}" if kind == "domain" and plain else None


def view(
    incident: Incident,
    instance: str,
    seen: Mapping[str, tuple[str, int, str]],
    names: Mapping[int, str],
) -> View:
    """The page's view of `incident`; `seen` and `names` as `ObservatoryData` gives them."""
    shown = []
    for item in incident.evidence:
        href, external, api = evidence_link(item, instance)
        where = seen.get(item.ref) if item.type == "measurement" else None
        place = Seen(where[0], where[1], names.get(where[1]) or where[2]) if where else None
        shown.append(Shown(item=item, href=href, external=external, json=api, seen=place))
    return View(
        countries=list(incident.countries),
        subdivisions=[subdivision(s) for s in incident.subdivisions],
        networks=[
            Network(n.asn, n.name or names.get(n.asn, ""), n.type) for n in incident.networks
        ],
        evidence=shown,
    )


def asns_of(incident: Incident, seen: Mapping[str, tuple[str, int, str]]) -> list[int]:
    """Every network the page names: the incident's and its measurements'."""
    return sorted({n.asn for n in incident.networks} | {asn for _, asn, _ in seen.values()})


def country_link(cc: str) -> str | None:
    return f"/country/{cc}" if is_country(cc) and cc != "ZZ" else None
