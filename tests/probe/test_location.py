"""Country and network from a MaxMind-format database; ZZ/AS0 and one warning otherwise."""

from __future__ import annotations

from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet

from netvigil.probe.location import UNKNOWN, locate


def tiny_database(path: Path) -> Path:
    # Documentation prefixes only (RFC 5737, RFC 3849), in OONI's ip2country-as layout,
    # which is MaxMind's: country.iso_code and the autonomous_system_* fields.
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
    writer.to_db_file(str(path))
    return path


def test_lookup(tmp_path: Path) -> None:
    database = tiny_database(tmp_path / "geo.mmdb")
    location, warning = locate("203.0.113.9", database)
    assert warning is None
    assert (location.probe_cc, location.probe_asn, location.probe_network_name) == (
        "IT",
        "AS137",
        "Consortium GARR",
    )
    location, _ = locate("2001:db8::5", database)
    assert (location.probe_cc, location.probe_asn) == ("BR", "AS28573")


def test_unknown_is_zz_as0_with_one_line(tmp_path: Path) -> None:
    database = tiny_database(tmp_path / "geo.mmdb")
    for address, path in [
        (None, database),
        ("203.0.113.9", None),
        ("198.51.100.1", database),
        ("203.0.113.9", tmp_path / "missing"),
    ]:
        location, warning = locate(address, path)
        assert location == UNKNOWN and (location.probe_cc, location.probe_asn) == ("ZZ", "AS0")
        assert warning is not None and "\n" not in warning
    garbage = tmp_path / "garbage.mmdb"
    garbage.write_bytes(b"not a database")
    assert locate("203.0.113.9", garbage)[0] == UNKNOWN
