"""The test helper speaks OONI's protocol, refuses what it must, and interoperates."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import msgspec
import pytest

from netvigil.lab.webserver import Behaviour, serve_web
from netvigil.net.backend import AsyncioBackend
from netvigil.net.fake import FakeNetwork
from netvigil.probe.control import CONTROL_RESPONSE
from netvigil.records import ControlRequest, ControlResponse
from netvigil.testhelper.app import create_app
from netvigil.testhelper.measure import HelperSettings, control
from tests.corpus import JSONL, qa_files


def call(app: Any, method: str, body: bytes = b"", **headers: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://th") as client:
            return await client.request(method, "/", content=body, headers=headers)

    return asyncio.run(go())


APP = create_app(AsyncioBackend(), HelperSettings())


def test_hello_and_methods() -> None:
    assert call(APP, "GET").json() == {"message": "Hello OONItarian!"}
    refused = call(APP, "PUT")
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, POST"
    assert "GET and POST" in refused.json()["error"]


def test_bad_requests_are_clear_4xx() -> None:
    assert call(APP, "POST", b"{not json").status_code == 400
    assert call(APP, "POST", b'{"http_request": "ftp://x/"}').status_code == 400
    big = call(APP, "POST", b"x", **{"content-length": str(1 << 25)})
    assert big.status_code == 413
    assert "error" in call(APP, "POST", b"[]").json()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://[x/", "http_request: malformed URL (Invalid IPv6 URL)"),
        ("http://a.example:99999/", "http_request: port must be a number from 1 to 65535"),
        (
            "http://a..example/",
            "http_request: host is not a valid domain name (an empty label, or one over 63 "
            "characters)",
        ),
        ("http://user@a.example/", "http_request: credentials in URLs are not allowed"),
    ],
)
def test_a_url_the_probe_would_not_measure_is_a_400_before_any_connection(
    url: str, reason: str
) -> None:
    network = FakeNetwork()  # knows no name and no endpoint: any step would be recorded
    app = create_app(network, HelperSettings())
    request = {"http_request": url, "http_request_headers": {}, "tcp_connect": ["1.2.3.4:80"]}
    response = call(app, "POST", json.dumps(request).encode())
    assert (response.status_code, response.json()) == (400, {"error": reason})
    assert (network.resolved, network.connected) == ([], [])


def test_over_capacity_is_503_with_retry_after() -> None:
    app = create_app(AsyncioBackend(), HelperSettings(), in_flight=0)
    response = call(app, "POST", b'{"http_request": "http://127.0.0.1:1/"}')
    assert response.status_code == 503 and response.headers["retry-after"] == "1"


def test_private_targets_are_refused_by_default() -> None:
    async def go() -> tuple[ControlResponse, list[tuple[str, str]]]:
        web = await serve_web(lambda host, path, client: Behaviour())
        url = f"http://127.0.0.1:{web.port}/"
        request = ControlRequest(http_request=url, tcp_connect=[f"127.0.0.1:{web.port}"])
        refused = await control(request, AsyncioBackend(), HelperSettings())
        allowed = await control(request, AsyncioBackend(), HelperSettings(allow_private=True))
        assert allowed.http_request is not None and allowed.http_request.status_code == 200
        return refused, web.requests

    refused, seen = asyncio.run(go())
    assert refused.tcp_connect == {}  # no connection attempted
    assert refused.http_request is not None and refused.http_request.failure is not None
    assert len(seen) == 1  # only the allowed helper reached the server


def test_probe_accepts_every_recorded_ooni_control() -> None:
    controls = [json.loads(p.read_text())["test_keys"].get("control") for p in qa_files()]
    controls += [
        json.loads(line)["test_keys"].get("control") for line in JSONL.read_bytes().splitlines()
    ]
    decoded = [CONTROL_RESPONSE.decode(json.dumps(c)) for c in controls if c]
    assert len(decoded) > 50
    assert all(isinstance(c, ControlResponse) for c in decoded)


def test_our_response_has_ooni_th_response_shape() -> None:
    reference = json.loads(qa_files()[-1].read_text())["test_keys"]["control"]

    async def go() -> dict[str, Any]:
        web = await serve_web(lambda host, path, client: Behaviour())
        url = f"http://127.0.0.1:{web.port}/"
        request = ControlRequest(http_request=url, tcp_connect=[f"127.0.0.1:{web.port}"])
        answer = await control(request, AsyncioBackend(), HelperSettings(allow_private=True))
        shape: dict[str, Any] = json.loads(msgspec.json.encode(answer))
        return shape

    ours = asyncio.run(go())
    for key, value in reference.items():
        assert key in ours, key
        if isinstance(value, dict) and key in ("http_request", "dns"):
            assert set(value) <= set(ours[key]), key
