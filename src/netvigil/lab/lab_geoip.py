"""The lab's GeoIP database: where its probe is, and which hosts are in an AS that matters.

A volunteer's probe learns its country and network from a MaxMind-format database looked
up at its address (probe/location.py); in the lab that address is 10.77.1.2, which no real
database places, so the lab writes its own, in OONI's ip2country-as layout (the one
tests/geo.py and the collector read): the client's network in the scenario's `probe_cc`
(fingerprints confirm a blockpage by country) and in a lab AS, and the sites with an `asn`
in that AS (facebook_messenger checks its hosts resolve into AS32934). Every other lab
address is in no AS, so no answer is vouched for by one it does not have.

The AS is from RFC 6996's private range: it belongs to no real network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from mmdb_writer import MMDBWriter
from netaddr import IPSet

from netvigil.lab.scenario_records import Table
from netvigil.lab.topology import CLIENT_NET

__all__ = ["LAB_ASN", "LAB_NETWORK_NAME", "write_geoip"]

LAB_ASN: Final = 64_777  # RFC 6996: for private use
LAB_NETWORK_NAME: Final = "netvigil lab ISP"
_NAMES: Final = {32934: "Facebook, Inc."}  # the AS names the table's sites may carry


def write_geoip(table: Table, probe_cc: str, path: Path) -> Path:
    """Write the database for a probe in `probe_cc`; returns `path`."""
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="ip2country-as")
    writer.insert_network(
        IPSet([f"{CLIENT_NET}.0/24"]),
        {
            "country": {"iso_code": probe_cc},
            "autonomous_system_number": LAB_ASN,
            "autonomous_system_organization": LAB_NETWORK_NAME,
        },
    )
    by_asn: dict[int, list[str]] = {}
    for site in table.sites.values():
        if site.asn is not None and site.address is not None:
            by_asn.setdefault(site.asn, []).append(f"{site.address}/32")
    for asn, networks in sorted(by_asn.items()):
        writer.insert_network(
            IPSet(networks),
            {
                "autonomous_system_number": asn,
                "autonomous_system_organization": _NAMES.get(asn, f"AS{asn}"),
            },
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    writer.to_db_file(str(path))
    return path
