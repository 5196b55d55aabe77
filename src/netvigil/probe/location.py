"""Where the probe is: a country and a network, never more (ooni.md §6).

The probe's public address is looked up in a MaxMind-format database: OONI's
`ip2country-as` (read by ooni/probe-cli internal/geoipx with MaxMind's record layout) or
MaxMind's own GeoLite2 files. Only `country.iso_code`, `autonomous_system_number` and
`autonomous_system_organization` are read. Without an address or a database the probe
writes OONI's "unknown" values, ZZ and AS0, and says so once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import maxminddb

from netvigil.probe.report import Location

UNKNOWN = Location()


def locate(address: str | None, database: Path | None) -> tuple[Location, str | None]:
    """(location, warning): the warning is one line, None when the lookup worked."""
    if address is None:
        return UNKNOWN, "location unknown: no probe address, writing ZZ/AS0"
    if database is None:
        return UNKNOWN, "location unknown: no geolocation database, writing ZZ/AS0"
    try:
        with maxminddb.open_database(str(database)) as reader:
            record: Any = reader.get(address)
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
        return UNKNOWN, f"location unknown: cannot read {database.name}: {exc}".splitlines()[0]
    if not isinstance(record, dict):
        return UNKNOWN, "location unknown: the address is not in the database, writing ZZ/AS0"
    country = record.get("country") or record.get("registered_country") or {}
    cc = country.get("iso_code") if isinstance(country, dict) else None
    asn = record.get("autonomous_system_number")
    org = record.get("autonomous_system_organization") or ""
    return (
        Location(
            probe_cc=str(cc).upper() if cc else "ZZ",
            probe_asn=f"AS{int(asn)}" if isinstance(asn, int) else "AS0",
            probe_network_name=str(org),
        ),
        None,
    )
