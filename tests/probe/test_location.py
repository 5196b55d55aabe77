"""Country and network from a MaxMind-format database; ZZ/AS0 and one warning otherwise."""

from __future__ import annotations

from pathlib import Path

from netvigil.probe.location import UNKNOWN, locate
from tests.geo import tiny_database


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
        ("192.0.2.1", database),
        ("203.0.113.9", tmp_path / "missing"),
    ]:
        location, warning = locate(address, path)
        assert location == UNKNOWN and (location.probe_cc, location.probe_asn) == ("ZZ", "AS0")
        assert warning is not None and "\n" not in warning
    garbage = tmp_path / "garbage.mmdb"
    garbage.write_bytes(b"not a database")
    assert locate("203.0.113.9", garbage)[0] == UNKNOWN
