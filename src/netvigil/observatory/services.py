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
import json
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from netvigil.geoip import NOWHERE, GeoIP
from netvigil.observatory.collector import error, read_body
from netvigil.observatory.ids import new_report_id
from netvigil.probe import inputs

MAX_URLS = 9999  # OONI's limit for manual runs


def _helpers(request: Request) -> dict[str, list[dict[str, str]]]:
    base = str(request.base_url).rstrip("/")
    return {"web-connectivity": [{"address": f"{base}/th/", "type": request.url.scheme}]}


def _test_list(country: str, categories: str, limit: int) -> list[dict[str, str | None]]:
    listed = inputs.bundled(country)
    if categories:
        listed = inputs.filter_categories(listed, [categories])
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
    spec = json.loads(body or b"{}")
    addresses = spec.get("addresses", []) if isinstance(spec, dict) else None
    if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
        raise ValueError("addresses must be a list of strings")
    if len(addresses) > MAX_LOOKUPS:
        raise ValueError(f"at most {MAX_LOOKUPS} addresses")
    return addresses


def routes(
    secret: bytes, *, now: Callable[[], dt.datetime], geo: GeoIP | None = None
) -> list[Route]:
    async def geolookup(request: Request) -> Response:
        body = await read_body(request)
        if isinstance(body, Response):
            return body
        try:
            addresses = _geolookup_request(body)
        except ValueError as exc:  # JSONDecodeError is a ValueError
            return error(400, f"bad geolookup request: {exc}".splitlines()[0])
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
            limit = min(int(query.get("limit", "100")), MAX_URLS)
            rows = _test_list(
                query.get("country_code", "XX"), query.get("category_codes", ""), limit
            )
        except ValueError as exc:  # InputError is a ValueError
            return error(400, str(exc).splitlines()[0])
        return JSONResponse({"metadata": {"count": len(rows)}, "results": rows})

    async def check_in(request: Request) -> Response:
        body = await read_body(request)
        if isinstance(body, Response):
            return body
        try:
            spec = json.loads(body)
            cc = str(spec.get("probe_cc") or "ZZ").upper()
            asn = str(spec.get("probe_asn") or "AS0")
            wanted = spec.get("web_connectivity") or {}
            categories = ",".join(wanted.get("category_codes") or [])
            limit = 20 if spec.get("run_type") == "timed" else 100
            urls = _test_list(cc if len(cc) == 2 else "XX", categories, limit)
        except (ValueError, TypeError, AttributeError) as exc:
            return error(400, f"bad check-in request: {exc}".splitlines()[0])
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
