"""Geolookup: OONI's answer shape, from the observatory's database, plus the caller's own."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from netvigil.server import create_app
from tests.geo import tiny_database


def test_geolookup_answers_from_the_data_folder_database(tmp_path: Path) -> None:
    tiny_database(tmp_path / "geoip.mmdb")
    with TestClient(create_app(tmp_path)) as client:
        answer = client.post(
            "/api/v1/geolookup", json={"addresses": ["203.0.113.5", "2001:db8::1", "192.0.2.1"]}
        ).json()
        empty = client.post("/api/v1/geolookup", content=b"").json()
    assert answer["geolocation"] == {
        "203.0.113.5": {"cc": "IT", "asn": 137, "as_name": "Consortium GARR"},
        "2001:db8::1": {"cc": "BR", "asn": 28573, "as_name": "Claro NXT"},
        "192.0.2.1": {"cc": "ZZ", "asn": 0, "as_name": ""},
    }
    assert answer["v"] == 1
    # The in-process client has no IP address ("testclient"): none is invented.
    assert answer["client"] == {"ip": None, "cc": "ZZ", "asn": 0, "as_name": ""}
    assert empty["geolocation"] == {}


def test_the_mounted_test_helper_fills_ip_info_asn_from_the_database(tmp_path: Path) -> None:
    tiny_database(tmp_path / "geoip.mmdb")
    request = {
        # Documentation addresses: bogons, so the helper refuses to connect to them (no
        # traffic leaves the machine) yet still reports what it knows about them.
        "http_request": "http://203.0.113.9/",
        "http_request_headers": {},
        "tcp_connect": ["203.0.113.9:80", "192.0.2.1:80"],
    }
    with TestClient(create_app(tmp_path)) as client:
        info = client.post("/th/", json=request).json()["ip_info"]
    assert info["203.0.113.9"]["asn"] == 137
    assert info["192.0.2.1"]["asn"] == 0
