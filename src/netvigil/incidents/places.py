"""Where an incident happened, in words a reader knows: country, region and network names.

Codes stay in the record (ISO 3166, AS numbers); the page shows names beside them. Country
and subdivision names come from pycountry (ISO's lists, offline); a network's name is the
incident's own if its author gave one, else the observatory's (evidence.py: the GeoIP
database's, else what probes in that network reported). A code nobody names is shown as is.
"""

from __future__ import annotations

from functools import cache

import msgspec
import pycountry

from netvigil.incidents.model import Incident
from netvigil.incidents.normalise import Evidence


class Network(msgspec.Struct, frozen=True):
    asn: int
    name: str
    type: str


class Seen(msgspec.Struct, frozen=True):
    """Where one measurement given as evidence was made."""

    country: str
    asn: int
    network: str


class Places(msgspec.Struct, frozen=True):
    countries: list[str]
    subdivisions: list[str]
    networks: list[Network]
    measurements: dict[str, Seen]


@cache
def country(code: str) -> str:
    """`Iran (IR)`: the common name where ISO's is long (`Iran, Islamic Republic of`)."""
    found = pycountry.countries.get(alpha_2=code)
    name = getattr(found, "common_name", None) or getattr(found, "name", None)
    return f"{name} ({code})" if name else code


@cache
def subdivision(code: str) -> str:
    found = _subdivisions().get(code)
    return f"{found} ({code})" if found else code


@cache
def _subdivisions() -> dict[str, str]:
    return {s.code: s.name for s in pycountry.subdivisions}


def places(incident: Incident, evidence: Evidence) -> Places:
    uids = [e.ref for e in incident.evidence if e.type == "measurement"]
    seen = evidence.seen(uids)
    asns = sorted({n.asn for n in incident.networks} | {asn for _, asn, _ in seen.values()})
    names = evidence.networks(asns)
    return Places(
        countries=[country(c) for c in incident.countries],
        subdivisions=[subdivision(s) for s in incident.subdivisions],
        networks=[
            Network(n.asn, n.name or names.get(n.asn, ""), n.type) for n in incident.networks
        ],
        measurements={
            uid: Seen(country(cc), asn, names.get(asn) or name)
            for uid, (cc, asn, name) in seen.items()
        },
    )
