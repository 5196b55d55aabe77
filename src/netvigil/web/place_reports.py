"""What the detector and the incidents say about a place: its events, with the signals that
fired, and the incidents naming it that the reader may read.

Events come from the event store (observatory/eventstore.py) as the events API selects them:
a country's are those whose vantage points are in it (its own, its regions', its
networks'), a network's those of its `asn:N` entity, a domain's the blocking change-points
whose target is that domain (detect/engine.py writes a target as "DOMAIN by TECHNIQUE").
Incidents are those the principal may read (incidents/access.py); the anonymous reader sees
the public ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import pycountry

from netvigil.incidents.access import ANONYMOUS, Principal
from netvigil.incidents.filters import Filter
from netvigil.incidents.model import Incident
from netvigil.observatory.eventstore import Query, Stored
from netvigil.web.site import Site

EVENT_LIMIT = 20  # the latest; the events API and the chart have the rest
INCIDENT_LIMIT = 50
BLOCKING_KINDS = ("blocking_change", "service_block")
SCAN_LIMIT = 1000  # change-points read to find a domain's (the store has no target filter)


class Shown(msgspec.Struct, frozen=True, kw_only=True):
    """An incident as a place page lists it: its title in the reader's language."""

    id: str
    title: str
    kind: str
    status: str
    start: str
    countries: tuple[str, ...]


def country_events(site: Site, cc: str) -> list[Stored]:
    return site.events.select(Query(country=cc, limit=EVENT_LIMIT))


def network_events(site: Site, asn: int) -> list[Stored]:
    return site.events.select(Query(entity=f"asn:{asn}", limit=EVENT_LIMIT))


def domain_events(site: Site, domain: str) -> list[Stored]:
    """The blocking change-points on `domain`, the latest start first."""
    prefix = f"{domain} by "
    found = [
        stored
        for kind in BLOCKING_KINDS
        for stored in site.events.select(Query(kind=kind, limit=SCAN_LIMIT))
        if (stored.event.target or "").startswith(prefix)
    ]
    found.sort(key=lambda s: (s.event.start, s.event.id), reverse=True)
    return found[:EVENT_LIMIT]


def regions(events: Sequence[Stored]) -> dict[str, str]:
    """`region:CC-NAME` entity → the region's name (ISO 3166-2's, else what follows the
    country code: detect/model.py allows any name)."""
    found = {}
    for stored in events:
        for entity in (stored.event.entity, *(s.entity for s in stored.event.signals)):
            if entity.startswith("region:"):
                code = entity.removeprefix("region:")
                known = pycountry.subdivisions.get(code=code)  # type: ignore[no-untyped-call]
                found[entity] = f"{known.name} ({code})" if known else code
    return found


def technique_of(stored: Stored) -> str:
    """The technique of a blocking change-point ("DOMAIN by TECHNIQUE"), or ""."""
    _, by, technique = (stored.event.target or "").rpartition(" by ")
    return technique if by else ""


def title(incident: Incident, lang: str) -> str:
    """The title in `lang`, else English, else the first language it has."""
    texts = incident.title
    return texts.get(lang) or texts.get("en") or next(iter(texts.values()), incident.id)


def shown(incidents: Sequence[Incident], lang: str) -> list[Shown]:
    return [
        Shown(
            id=i.id,
            title=title(i, lang),
            kind=i.kind,
            status=i.status,
            start=i.start.time.strftime("%Y-%m-%d"),
            countries=tuple(i.countries),
        )
        for i in incidents[:INCIDENT_LIMIT]
    ]


def incidents(
    site: Site, lang: str, *, cc: str | None = None, asn: int | None = None,
    who: Principal = ANONYMOUS,
) -> list[Shown]:  # fmt: skip
    chosen = Filter(country=cc, asn=asn, limit=INCIDENT_LIMIT)
    return shown(site.instance.select(who, chosen), lang)
