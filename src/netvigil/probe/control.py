"""The control measurement: asking a test helper what the site looks like from elsewhere.

Speaks OONI's Web Connectivity test-helper protocol (ooni.md §1.3, §2): POST a
`THRequest` JSON (`http_request`, `http_request_headers`, `tcp_connect` as `ip:port`,
`x_quic_enabled`), read a `THResponse`. Several helpers may be given; they are tried in
order, as OONI's probe does (it overlaps them 15 s apart; we try the next one as soon as
one fails, which is what a failing helper costs anyway). Our own helper (`netvigil th
serve`) and OONI's answer with the same shape, so either can be used.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Sequence

import msgspec

from netvigil.analysis.observe import observe_control
from netvigil.failures import NO_TEST_HELPER, Failure
from netvigil.net.backend import Backend
from netvigil.net.errors import map_failures
from netvigil.net.posting import post_json
from netvigil.records import ControlRequest, ControlResponse, WebMeasurement

# A helper's answer, as the probe reads it (the test helper's tests read OONI's with it).
CONTROL_RESPONSE = msgspec.json.Decoder(ControlResponse)
MAX_CONTROL_BODY = 1 << 24  # oohelperd's own request limit; a response is far smaller


def control_request(
    url: str, addresses: list[str], port: int, *, http_url: bool, headers: dict[str, list[str]]
) -> ControlRequest:
    """The THRequest for `url`: every address on the URL's port (and 443 for http://)."""
    endpoints: list[str] = []
    for ip in addresses:
        host = f"[{ip}]" if ":" in ip else ip
        if http_url and port == 80:
            endpoints.append(f"{host}:443")
        endpoints.append(f"{host}:{port}")
    return ControlRequest(
        http_request=url, http_request_headers=headers, tcp_connect=endpoints, x_quic_enabled=False
    )


async def ask_helpers(
    backend: Backend,
    helpers: tuple[str, ...],
    request: ControlRequest,
    *,
    deadline: float,
    ssl_context: ssl.SSLContext,
) -> tuple[ControlResponse | None, str | None, str | None]:
    """(response, failure, helper used): the first helper that answers with a valid body."""
    failure: str | None = NO_TEST_HELPER
    for helper in helpers:
        with map_failures() as caught:  # the deadline over the whole exchange
            async with asyncio.timeout(deadline):
                response = await _ask(backend, helper, request, deadline, ssl_context)
        if caught.failure is not None:
            failure = caught.failure
            continue
        if isinstance(response, str):
            failure = response
            continue
        return response, None, helper
    return None, failure, None


async def _ask(
    backend: Backend,
    helper: str,
    request: ControlRequest,
    deadline: float,
    ssl_context: ssl.SSLContext,
) -> ControlResponse | str:
    exchange = await post_json(
        backend,
        helper,
        msgspec.json.encode(request),
        deadline=deadline,
        ssl_context=ssl_context,
        max_body=MAX_CONTROL_BODY,
    )
    if exchange.failure is not None:
        return exchange.failure
    if exchange.status != 200:
        return Failure.HTTP_UNEXPECTED_STATUS_CODE
    try:
        return CONTROL_RESPONSE.decode(exchange.body)
    except (msgspec.DecodeError, json.JSONDecodeError):
        return Failure.JSON_PARSE_ERROR


def missing_control_warning(measurements: Sequence[WebMeasurement]) -> str | None:
    """One line for the person running the probe when some URLs got no control, else None.

    Without the test helper's view nothing can be concluded (the layered verdict of those
    URLs is "insufficient: no control"), so the run must say so rather than look clean. The
    test is the analysis's own (`observe.observe_control`), so warning and verdict agree.
    """
    failures = [
        m.test_keys.control_failure if m.test_keys else None
        for m in measurements
        if m.test_keys is None or observe_control(m.test_keys, m.url) is None
    ]
    if not failures:
        return None
    reasons = sorted({f for f in failures if f})
    why = f" ({', '.join(reasons)})" if reasons else ""
    return (
        f"no control for {len(failures)} of {len(measurements)} URL(s): the test helper did not "
        f"answer{why}, so their outcome is insufficient; check --th"
    )
