"""IP address → country and network, from a MaxMind-format database.

One reader for the probe (where am I?) and the pipeline (whose network is this DNS answer
in?). Two layouts are read, both MaxMind's record layout: OONI's `ip2country-as` (built by
ooni/historical-geoip and read by probe-cli internal/geoipx) and MaxMind's own GeoLite2
Country/ASN files. Only `country.iso_code` (else `registered_country.iso_code`),
`autonomous_system_number` and `autonomous_system_organization` are read.

Where a data folder keeps its database is the data folder's business
(`netvigil.datadir.DataDir.geoip_database`).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import maxminddb
import msgspec


class Network(msgspec.Struct, frozen=True, kw_only=True):
    """What the database knows about one address; empty strings and 0 when it does not."""

    cc: str = "ZZ"
    asn: int = 0
    name: str = ""


NOWHERE = Network()


class GeoIPError(ValueError):
    """The database cannot be opened or read (the message is one line)."""


class GeoIP:
    """An open database; `lookup` never raises for a bad address."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._reader: Any = maxminddb.open_database(str(path))
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            raise GeoIPError(f"cannot read {path.name}: {exc}".splitlines()[0]) from None

    def lookup(self, address: str) -> Network | None:
        try:
            ipaddress.ip_address(address)
            record = self._reader.get(address)
        except (ValueError, maxminddb.InvalidDatabaseError):
            return None
        if not isinstance(record, dict):
            return None
        return _network(record)

    def asn_of(self, address: str) -> int:
        network = self.lookup(address)
        return network.asn if network is not None else 0

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> GeoIP:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _network(record: dict[str, Any]) -> Network:
    country = record.get("country") or record.get("registered_country") or {}
    cc = country.get("iso_code") if isinstance(country, dict) else None
    asn = record.get("autonomous_system_number")
    name = record.get("autonomous_system_organization")
    return Network(
        cc=str(cc).upper() if cc else "ZZ",
        asn=asn if isinstance(asn, int) else 0,
        name=str(name) if name else "",
    )
