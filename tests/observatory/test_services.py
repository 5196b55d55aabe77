"""Geolookup: OONI's answer shape, from the observatory's database, plus the caller's own."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from netvigil.geoip import GeoIP
from netvigil.observatory import services
from netvigil.server import create_app
from tests.geo import tiny_database
from tests.observatory.apps import SECRET, bare, now


def test_geolookup_answers_from_the_database(tmp_path: Path) -> None:
    with GeoIP(tiny_database(tmp_path / "geoip.mmdb")) as geo:
        app = bare(services.routes(SECRET, now=now, geo=geo))
        with TestClient(app) as client:
            answer = client.post(
                "/api/v1/geolookup",
                json={"addresses": ["203.0.113.5", "2001:db8::1", "192.0.2.1"]},
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
    assert empty == {"geolocation": {}, "client": answer["client"], "v": 1}


def test_the_server_gives_the_data_folder_database_to_services_and_test_helper(
    tmp_path: Path,
) -> None:
    """The whole server: its composition hands the folder's database to each part."""
    tiny_database(tmp_path / "geoip.mmdb")
    request = {
        # Documentation addresses: bogons, so the helper refuses to connect to them (no
        # traffic leaves the machine) yet still reports what it knows about them.
        "http_request": "http://203.0.113.9/",
        "http_request_headers": {},
        "tcp_connect": ["203.0.113.9:80", "192.0.2.1:80"],
    }
    with TestClient(create_app(tmp_path)) as client:
        assert client.get("/th/").json() == {"message": "Hello OONItarian!"}
        info = client.post("/th/", json=request).json()["ip_info"]
        where = client.post("/api/v1/geolookup", json={"addresses": ["203.0.113.9"]}).json()
    assert info["203.0.113.9"]["asn"] == 137
    assert info["192.0.2.1"]["asn"] == 0
    assert where["geolocation"]["203.0.113.9"]["asn"] == 137
