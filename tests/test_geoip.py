"""MaxMind-format lookups: OONI's ip2country-as layout, GeoLite2-style records, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from netvigil.geoip import GeoIP, GeoIPError, Network
from tests.geo import tiny_database


def test_lookups_in_both_layouts(tmp_path: Path) -> None:
    with GeoIP(tiny_database(tmp_path / "geo.mmdb")) as geo:
        assert geo.lookup("203.0.113.200") == Network(cc="IT", asn=137, name="Consortium GARR")
        assert geo.lookup("2001:db8:1::1") == Network(cc="BR", asn=28573, name="Claro NXT")
        assert geo.lookup("198.51.100.7") == Network(cc="DE", asn=0, name="")
        assert geo.lookup("192.0.2.1") is None  # not in the database
        assert geo.lookup("not an address") is None
        assert geo.lookup("") is None


def test_a_bad_database_is_one_line(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.mmdb"
    garbage.write_bytes(b"\x00" * 64)
    for path in (garbage, tmp_path / "missing.mmdb"):
        with pytest.raises(GeoIPError) as caught:
            GeoIP(path)
        assert path.name in str(caught.value) and "\n" not in str(caught.value)
