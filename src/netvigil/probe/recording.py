"""Turning one HTTP exchange into its df-001 record, scrubbed before anything is encoded.

The probe's own address can come back in a body or a header (a "your IP is" page, a
redirect carrying it). Scrubbing runs here, on the raw bytes, *before* a non-UTF-8 body
is base64-encoded (ooni.md §6 notes OONI's text scrubber cannot see inside base64); the
whole serialized measurement is scrubbed once more when it is written.
"""

from __future__ import annotations

from collections.abc import Callable

from netvigil.net.connect import Endpoint
from netvigil.net.http import Exchange
from netvigil.net.trace import tags
from netvigil.records import (
    HeaderValue,
    HTTPRequest,
    HTTPResponse,
    HTTPTransaction,
    MaybeBinary,
    TorInfo,
    maybe_binary,
)

Scrub = Callable[[bytes], bytes]


def no_scrub(data: bytes) -> bytes:
    return data


def _text(value: str, scrub: Scrub) -> str:
    return scrub(value.encode("utf-8", "surrogateescape")).decode("utf-8", "surrogateescape")


def http_record(
    url: str,
    endpoint: Endpoint,
    sent: list[tuple[str, str]],
    exchange: Exchange,
    failure: str | None,
    t0: float,
    t: float,
    scrub: Scrub,
) -> HTTPTransaction:
    """The df-001 transaction for one GET (`failure` may differ from the exchange's own)."""
    received = [(name, _text(value, scrub)) for name, value in exchange.headers]
    first: dict[str, HeaderValue] = {}
    for name, value in received:
        first.setdefault(name, value)
    response = None
    if exchange.status or exchange.failure is None:
        body: MaybeBinary = maybe_binary(scrub(exchange.body))
        response = HTTPResponse(
            code=exchange.status,
            headers=first,
            headers_list=[[name, value] for name, value in received],
            body=body,
            body_is_truncated=exchange.truncated,
        )
    return HTTPTransaction(
        network="tcp",
        address=endpoint.address,
        alpn="http/1.1" if endpoint.tls else "",
        failure=failure,
        request=HTTPRequest(
            url=url,
            method="GET",
            headers=dict(sent),
            headers_list=[[name, value] for name, value in sent],
            body="",
            body_is_truncated=False,
            tor=TorInfo(),
            x_transport="tcp",
        ),
        response=response or HTTPResponse(code=0, headers={}, headers_list=[], body=""),
        t0=t0,
        t=t,
        tags=tags(depth=endpoint.depth, classic=True, fetch_body=endpoint.fetch_body),
        transaction_id=endpoint.transaction_id,
    )
