"""The urlgetter steps the messaging nettests are made of: resolve, connect, TLS, HTTP.

OONI builds signal, telegram, whatsapp and facebook_messenger from urlgetter targets
(ooni/probe-cli internal/experiment/urlgetter): `https://host/` (resolve, connect to each
address in turn until one works, TLS with SNI, one request), `http://ip:port/` and
`tcpconnect://host:port`. Every step is recorded in the context's trace as it completes, a
target's connects, handshake and request sharing one `transaction_id` (so the analysis can
follow it), and a request that never got sent is still recorded with its failure, as
urlgetter records it (shared/corpus .../signal_679.json: a DNS failure in `requests`).
A failure is returned as data: (failure, failed_operation), never raised.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import msgspec

from netvigil.addresses import parse_ip
from netvigil.failures import FailedOperation, Failure
from netvigil.net.connect import Connection, connect_tcp, tls_handshake
from netvigil.net.dns import addresses_of, lookup_system
from netvigil.net.http import REQUEST_HEADERS, round_trip
from netvigil.probe.nettest import Context
from netvigil.probe.recording import Trace, http_record
from netvigil.records import HTTPRequest, HTTPResponse, HTTPTransaction, TorInfo


@dataclass(frozen=True)
class Result:
    """How one target ended: None when it worked, else OONI's failure and operation."""

    failure: str | None = None
    failed_operation: str | None = None
    addresses: tuple[str, ...] = ()


def urlgetter_keys(trace: Trace) -> dict[str, Any]:
    """The keys every messaging test writes as urlgetter does: no failure of its own (each
    step's failure is in its record), and every step the trace holds."""
    return {
        "agent": "redirect",
        "failed_operation": None,
        "failure": None,
        "network_events": list(trace.network_events),
        "queries": list(trace.queries),
        "requests": list(trace.requests),
        "tcp_connect": list(trace.tcp_connect),
        "tls_handshakes": list(trace.tls_handshakes),
    }


async def resolve(ctx: Context, host: str, tag: str) -> tuple[list[str], str | None]:
    """The system resolver's addresses of `host` (an IP literal is its own), recorded."""
    if parse_ip(host) is not None:
        return [host], None
    transaction = ctx.trace.dns_transaction()
    query = await lookup_system(ctx.backend, host, clock=ctx.trace.now)
    ctx.trace.record(query, transaction, [tag])
    found = addresses_of(query)
    return found, query.failure or (None if found else Failure.DNS_NO_ANSWER)


async def connect(
    ctx: Context,
    addresses: list[str],
    port: int,
    tag: str,
    transaction: int,
    *,
    tls: tuple[ssl.SSLContext, str] | None = None,
) -> tuple[Connection | None, Result]:
    """TCP to each address in turn until one works, then TLS (context, SNI) if asked."""
    failure: str | None = Failure.DNS_NO_ANSWER
    connection: Connection | None = None
    for ip in addresses:
        connection, record = await connect_tcp(
            ctx.backend, ip, port, timeout=ctx.settings.connect_timeout, clock=ctx.trace.now
        )
        ctx.trace.record(record, transaction, [tag])
        if connection is not None:
            break
        failure = record.status.failure
    if connection is None:
        return None, Result(failure, FailedOperation.CONNECT)
    if tls is not None:
        context, server_name = tls
        secured, handshake = await tls_handshake(
            connection, server_name, context, timeout=ctx.settings.tls_timeout, clock=ctx.trace.now
        )
        ctx.trace.record(handshake, transaction, [tag])
        if secured is None:
            return None, Result(handshake.failure, FailedOperation.TLS_HANDSHAKE)
        connection = secured
    return connection, Result()


async def fetch(
    ctx: Context,
    url: str,
    tag: str,
    *,
    method: str = "GET",
    tls: ssl.SSLContext | None = None,
) -> Result:
    """One urlgetter HTTP(S) target: resolve, connect, handshake (https), one request."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    sent = [("Host", parts.netloc), *REQUEST_HEADERS]
    if method == "POST":
        sent.append(("Content-Length", "0"))
    addresses, failure = await resolve(ctx, host, tag)
    transaction = ctx.trace.endpoint_transaction()
    t0 = ctx.trace.now()
    if failure is not None:
        return _failed(ctx, url, method, sent, transaction, t0, Result(failure, "resolve"), tag)
    wanted = (tls, host) if parts.scheme == "https" and tls is not None else None
    connection, result = await connect(ctx, addresses, port, tag, transaction, tls=wanted)
    if connection is None:
        return _failed(ctx, url, method, sent, transaction, t0, result, tag)
    exchange = await round_trip(
        connection.reader,
        connection.writer,
        method=method,
        target=target,
        headers=sent,
        deadline=ctx.settings.http_timeout,
    )
    connection.close()
    record = http_record(
        url, connection, sent, exchange, exchange.failure, t0, ctx.trace.now(), ctx.scrub
    )
    request = msgspec.structs.replace(record.request, method=method)
    ctx.trace.record(msgspec.structs.replace(record, request=request), transaction, [tag])
    operation = FailedOperation.HTTP_ROUND_TRIP if exchange.failure else None
    return Result(exchange.failure, operation, tuple(addresses))


def _failed(
    ctx: Context,
    url: str,
    method: str,
    sent: list[tuple[str, str]],
    transaction: int,
    t0: float,
    result: Result,
    tag: str,
) -> Result:
    """Record the request a failed earlier step kept from being sent (code 0, no body)."""
    record = HTTPTransaction(
        network="tcp",
        failure=result.failure,
        request=HTTPRequest(
            url=url,
            method=method,
            headers=dict(sent),
            headers_list=[[name, value] for name, value in sent],
            body="",
            body_is_truncated=False,
            tor=TorInfo(),
            x_transport="tcp",
        ),
        response=HTTPResponse(
            code=0, headers={}, headers_list=[], body="", body_is_truncated=False
        ),
        t0=t0,
        t=ctx.trace.now(),
    )
    ctx.trace.record(record, transaction, [tag])
    return result
