"""Enrichment: the network and country of every address a measurement resolved or reached.

OONI's pipeline annotates each DNS answer and connected address with `ip_asn`,
`ip_as_org_name` and `ip_as_cc` (ooni/data `observations`: "enrichment with ASN and
country"). A DNS answer in the ISP's own network where the control saw a CDN's is how a
researcher recognises a redirect to a blockpage server, so the rows keep the same.

Where the observatory has a database (`geoip/*.mmdb` in its data folder, e.g. OONI's
`ip2country-as`), it is the authority: every address is looked up at analysis time, the
same way for every probe. Without one, or for an address it does not hold, the probe's own
annotation (Go probes write `asn` and `as_org_name` into each answer) is kept, with an
unknown country; otherwise AS0.
"""

from __future__ import annotations

import msgspec

from netvigil.geoip import GeoIP
from netvigil.records import AnyMeasurement, MeasurementFormatError, web_connectivity_keys

MAX_ADDRESSES = 32  # a row stays small even for a domain with hundreds of answers


class Address(msgspec.Struct, frozen=True, kw_only=True):
    ip: str
    asn: int
    cc: str
    as_name: str


def addresses_of(measurement: AnyMeasurement, geo: GeoIP | None) -> tuple[Address, ...]:
    """The measurement's resolved and connected addresses, first seen first, enriched."""
    try:
        keys = web_connectivity_keys(measurement)
    except MeasurementFormatError:
        return ()  # the row records the measurement as unanalysed
    if keys is None:
        return ()
    probe: dict[str, tuple[int, str]] = {}  # what the probe itself said, address → (asn, org)
    for query in keys.queries or ():
        for answer in query.answers or ():
            address = answer.address
            if address and address not in probe:
                probe[address] = (answer.asn or 0, answer.as_org_name or "")
    for connect in keys.tcp_connect or ():
        if connect.ip:
            probe.setdefault(connect.ip, (0, ""))
    found = []
    for ip, (asn, name) in list(probe.items())[:MAX_ADDRESSES]:
        network = geo.lookup(ip) if geo is not None else None
        if network is not None:
            found.append(Address(ip=ip, asn=network.asn, cc=network.cc, as_name=network.name))
        else:
            found.append(Address(ip=ip, asn=asn, cc="ZZ", as_name=name))
    return tuple(found)
