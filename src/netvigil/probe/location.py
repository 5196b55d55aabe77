"""Where the probe is: a country and a network, never more (ooni.md §6).

The probe learns its public address from the observatory's geolookup answer (the address
its connection came from: what the censor sees too), or from `--probe-ip`. It needs the
address above all to scrub it from everything it writes. The address is then looked up in
a local MaxMind-format database (see `netvigil.geoip`) when there is one, otherwise the
server's answer for it is used. Without an address the probe writes OONI's "unknown"
values, ZZ and AS0, and says so once. The address itself is never written.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import msgspec

from netvigil.geoip import GeoIP, GeoIPError
from netvigil.net.backend import Backend
from netvigil.net.connect import tls_context
from netvigil.net.posting import post_json
from netvigil.probe.report import Location

DEADLINE = 15.0  # seconds; a slow backend delays the run, it does not stop it


class Learnt(msgspec.Struct, frozen=True):
    """The geolookup answer: our address, and where the server places it."""

    address: str
    location: Location


async def learn_address(
    backend: Backend, services: str, ca_file: str | None
) -> tuple[Learnt | None, str | None]:
    """(answer, warning) from `POST {services}/api/v1/geolookup`; never raises for the network."""
    exchange = await post_json(
        backend,
        services.rstrip("/") + "/api/v1/geolookup",
        b'{"addresses": []}',
        deadline=DEADLINE,
        ssl_context=tls_context(ca_file),
        max_body=64 << 10,
    )
    if exchange.failure is not None or exchange.status != 200:
        why = exchange.failure or f"HTTP {exchange.status}"
        return None, f"cannot learn this probe's address from {services}: {why}"
    try:
        client = json.loads(exchange.body)["client"]
        address = str(ipaddress.ip_address(client["ip"]))
        asn = int(client.get("asn") or 0)
        location = Location(
            probe_cc=str(client.get("cc") or "ZZ").upper()[:2],
            probe_asn=f"AS{asn}",
            probe_network_name=str(client.get("as_name") or ""),
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return None, f"cannot learn this probe's address from {services}: not a geolookup answer"
    return Learnt(address, location), None


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
