"""DNS over HTTPS (RFC 8484): one POST of `application/dns-message` over our connection.

The HTTP/1.1 round trip is :func:`netvigil.net.http.round_trip`, on a connection that
:mod:`netvigil.net.connect` opened and secured through the probe's Backend: the one
narrow waist, so DoH is measured, recorded and bounded like every other step (httpx's
own transport is not used). OONI's dnscheck sends POST too (probe-cli netxlite
dnsoverhttps.go). A reply counts only with status 200 and the dns-message type.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from netvigil.failures import Failure
from netvigil.net.connect import Connection
from netvigil.net.http import Exchange, round_trip

CONTENT_TYPE = "application/dns-message"
MAX_REPLY = 65535


@dataclass(frozen=True)
class DoHResult:
    exchange: Exchange
    sent: list[tuple[str, str]]
    reply: bytes | None
    failure: str | None


def request_headers(
    url: str, body: bytes, host: str | None = None
) -> tuple[str, list[tuple[str, str]]]:
    """The request target and headers of a DoH POST to `url`; `host` for the Host header
    when the URL names an address (dnscheck keeps the resolver's name: dnscheck.go httpHost)."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = [
        ("Host", host or parts.netloc.rsplit("@", 1)[-1]),
        ("Accept", CONTENT_TYPE),
        ("Content-Type", CONTENT_TYPE),
        ("Content-Length", str(len(body))),
    ]
    return target, headers


async def query(
    connection: Connection, url: str, message: bytes, *, timeout: float, host: str | None = None
) -> DoHResult:
    """POST `message` to `url` over `connection`; the reply's bytes when it is one."""
    target, headers = request_headers(url, message, host)
    exchange = await round_trip(
        connection.reader,
        connection.writer,
        method="POST",
        target=target,
        headers=headers,
        body=message,
        deadline=timeout,
        max_body=MAX_REPLY,
    )
    failure = exchange.failure
    reply: bytes | None = None
    if failure is None:
        kind = next((v for k, v in exchange.headers if k.lower() == "content-type"), "")
        if exchange.status != 200:
            failure = Failure.HTTP_REQUEST_FAILED  # OONI: netxlite ErrDNSOverHTTPSBadStatus
        elif kind.split(";", 1)[0].strip().lower() != CONTENT_TYPE:
            failure = Failure.DNS_SERVER_MISBEHAVING  # an HTML page is not a DNS reply
        else:
            reply = exchange.body
    return DoHResult(exchange=exchange, sent=headers, reply=reply, failure=failure)
