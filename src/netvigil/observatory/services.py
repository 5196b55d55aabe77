"""Probe services under /api/v1 (ooni.md §5.2): check-in, test lists, test helpers, geolookup.

The test lists are the Citizen Lab lists bundled with the probe (data/test-lists), served as
OONI's backend serves them: the country's rows, then the global ones (reported as `XX`).
Unlike OONI we do not geolocate the client's address at check-in: the probe's own claim of
country and network is returned.

`POST /api/v1/geolookup` is the one place the server looks at a client's address, because a
probe must learn its own public address to scrub it from what it writes (ooni.md §6) and to
find its country and network. OONI's request and answer shape (`addresses` in,
`geolocation` out) gains a `client` object: the address this connection came from, with its
country and network. It is computed for the answer and forgotten: never logged, never stored.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from netvigil import testlists
from netvigil.bodies import decode_object
from netvigil.geoip import NOWHERE, GeoIP
from netvigil.observatory.collector import read_body
from netvigil.observatory.errors import BadRequest
from netvigil.observatory.ids import new_report_id
from netvigil.observatory.query import BadQuery, integer, once
from netvigil.patterns import PROBE_ASN

MAX_URLS = 9999  # OONI's limit for manual runs


def _helpers(request: Request) -> dict[str, list[dict[str, str]]]:
    base = str(request.base_url).rstrip("/")
    return {"web-connectivity": [{"address": f"{base}/th/", "type": request.url.scheme}]}


def _test_list(country: str, categories: str, limit: int) -> list[dict[str, str | None]]:
    listed = testlists.bundled(country)
    if categories:
        listed = testlists.filter_categories(listed, [categories])
    rows: list[dict[str, str | None]] = []
    for target in listed.targets[:limit]:
        code = target.source.rsplit(":", 1)[-1].upper()
        rows.append(
            {
                "category_code": target.category_code,
                "country_code": "XX" if code == "GLOBAL" else code,
                "url": target.url,
            }
        )
    return rows


MAX_LOOKUPS = 1000


def _where(geo: GeoIP | None, address: str) -> dict[str, str | int]:
    network = (geo.lookup(address) if geo is not None else None) or NOWHERE
    return {"cc": network.cc, "asn": network.asn, "as_name": network.name}


def _geolookup_request(body: bytes) -> list[str]:
    spec = decode_object(body)
    addresses = spec.get("addresses", [])
    if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
        raise ValueError("addresses must be a list of strings")
    if len(addresses) > MAX_LOOKUPS:
        raise ValueError(f"at most {MAX_LOOKUPS} addresses")
    for address in addresses:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ValueError(f"not an IP address: {address[:64]!r}") from None
    return addresses


def _check_in_request(body: bytes) -> tuple[str, str, str, int]:
    """(country, network, categories, limit) of a check-in; ValueError names the field."""
    spec = decode_object(body)
    cc, asn = spec.get("probe_cc", "ZZ"), spec.get("probe_asn", "AS0")
    if not isinstance(cc, str) or cc.upper() not in testlists.known_countries():
        raise ValueError(f"probe_cc: not a country code: {cc!r}")
    if not isinstance(asn, str) or not re.fullmatch(PROBE_ASN, asn):
        raise ValueError(f"probe_asn: expected AS1234, got {asn!r}")
    run_type = spec.get("run_type", "manual")
    if run_type not in ("timed", "manual"):
        raise ValueError(f"run_type: timed or manual, got {run_type!r}")
    wanted = spec.get("web_connectivity", {})
    codes = wanted.get("category_codes", []) if isinstance(wanted, dict) else None
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise ValueError("web_connectivity.category_codes: a list of category codes")
    return cc.upper(), asn, ",".join(codes), 20 if run_type == "timed" else 100


def routes(
    secret: bytes, *, now: Callable[[], dt.datetime], geo: GeoIP | None = None
) -> list[Route]:
    async def geolookup(request: Request) -> Response:
        body = await read_body(request)
        try:
            addresses = _geolookup_request(body)
        except ValueError as exc:  # BadBody is a ValueError
            raise BadRequest(f"bad geolookup request: {exc}".splitlines()[0]) from None
        peer = request.client.host if request.client else ""
        try:
            ipaddress.ip_address(peer)
        except ValueError:
            peer = ""  # not an IP connection (a unix socket, an in-process test client)
        client: dict[str, str | int | None] = {"ip": peer or None, **_where(geo, peer)}
        return JSONResponse(
            {"geolocation": {a: _where(geo, a) for a in addresses}, "client": client, "v": 1}
        )

    async def test_helpers(request: Request) -> Response:
        return JSONResponse(_helpers(request))

    async def test_list(request: Request) -> Response:
        query = request.query_params
        try:
            once(query.multi_items())
            limit = integer(query, "limit", 100, 1, MAX_URLS)
        except BadQuery as exc:  # its first line: a parameter's name may hold a newline
            raise BadQuery(str(exc).splitlines()[0]) from None
        categories = query.get("category_codes")
        if categories is not None and not re.fullmatch(r"[A-Za-z_]+(,[A-Za-z_]+)*", categories):
            raise BadRequest(f"category_codes: comma-separated codes, got {categories!r}")
        try:
            rows = _test_list(query.get("country_code", "XX"), categories or "", limit)
        except testlists.InputError as exc:
            raise BadRequest(str(exc).splitlines()[0]) from None
        return JSONResponse({"metadata": {"count": len(rows)}, "results": rows})

    async def check_in(request: Request) -> Response:
        body = await read_body(request)
        try:
            cc, asn, categories, limit = _check_in_request(body)
            urls = _test_list(cc, categories, limit)
        except ValueError as exc:  # BadBody and InputError are ValueErrors
            raise BadRequest(f"bad check-in request: {exc}".splitlines()[0]) from None
        report = (
            new_report_id(
                secret, now=now(), test_name="web_connectivity", probe_cc=cc, probe_asn=asn
            )
            if cc.isalpha() and asn[2:].isdigit()
            else None
        )
        return JSONResponse(
            {
                "probe_cc": cc,
                "probe_asn": asn,
                "tests": {"web_connectivity": {"report_id": report, "urls": urls}},
                "conf": {
                    "features": {"webconnectivity_0.5": True},
                    "test_helpers": _helpers(request),
                },
                "utc_time": now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )

    return [
        Route("/api/v1/test-helpers", test_helpers, methods=["GET"]),
        Route("/api/v1/test-list/urls", test_list, methods=["GET"]),
        Route("/api/v1/check-in", check_in, methods=["POST"]),
        Route("/api/v1/geolookup", geolookup, methods=["POST"]),
    ]
