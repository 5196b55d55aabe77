"""Where the probe is: a country and a network, never more (ooni.md §6).

The probe's public address is looked up in a MaxMind-format database (see
`netvigil.geoip`). Without an address or a database the probe writes OONI's "unknown"
values, ZZ and AS0, and says so once.
"""

from __future__ import annotations

from pathlib import Path

from netvigil.geoip import GeoIP, GeoIPError
from netvigil.probe.report import Location

UNKNOWN = Location()


def locate(address: str | None, database: Path | None) -> tuple[Location, str | None]:
    """(location, warning): the warning is one line, None when the lookup worked."""
    if address is None:
        return UNKNOWN, "location unknown: no probe address, writing ZZ/AS0"
    if database is None:
        return UNKNOWN, "location unknown: no geolocation database, writing ZZ/AS0"
    try:
        with GeoIP(database) as reader:
            network = reader.lookup(address)
    except GeoIPError as exc:
        return UNKNOWN, f"location unknown: {exc}"
    if network is None:
        return UNKNOWN, "location unknown: the address is not in the database, writing ZZ/AS0"
    return (
        Location(
            probe_cc=network.cc,
            probe_asn=f"AS{network.asn}",
            probe_network_name=network.name,
        ),
        None,
    )
