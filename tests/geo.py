"""A tiny MaxMind-format database, built in the test: documentation prefixes only."""

from __future__ import annotations

from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet


def tiny_database(path: Path) -> Path:
    # RFC 5737 and RFC 3849 prefixes, in OONI's ip2country-as layout, which is MaxMind's:
    # country.iso_code and the autonomous_system_* fields.
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="ip2country-as")
    writer.insert_network(
        IPSet(["203.0.113.0/24"]),
        {
            "country": {"iso_code": "IT"},
            "autonomous_system_number": 137,
            "autonomous_system_organization": "Consortium GARR",
        },
    )
    writer.insert_network(
        IPSet(["2001:db8::/32"]),
        {
            "country": {"iso_code": "BR"},
            "autonomous_system_number": 28573,
            "autonomous_system_organization": "Claro NXT",
        },
    )
    writer.insert_network(
        IPSet(["198.51.100.0/24"]),  # a GeoLite2-Country-like record: registered country only
        {"registered_country": {"iso_code": "de"}},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    writer.to_db_file(str(path))
    return path
