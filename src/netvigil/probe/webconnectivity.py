"""Web Connectivity, as OONI's v0.5 probe measures it (ts-017; ooni.md §1.2–1.3).

Steps, each recorded as it completes (:mod:`netvigil.probe.steps`):

1. resolve the URL's host with the system resolver (`classic`) and, when a resolver is
   configured, with DNS over UDP (late replies kept, E003);
2. ask the test helper(s) for the control view, with the system resolver's addresses;
3. connect to every address on the URL's port, with a TLS handshake for https:// (SNI =
   host); for http:// URLs without a port, also TLS on 443 as a connectivity check
   (`fetch_body=false`, E001);
4. GET the URL over the first endpoint that worked, keeping cookies; follow 301, 302, 307
   and 308 (what OONI's code follows; ooni.md §1.2 E002), each redirect with its own DNS
   and connectivity step at `depth=N`, stopping after 10.

Deliberately left out for now: the connections OONI also makes to addresses only the test
helper or the UDP resolver returned (E005), DoH (E004) and HTTP/3.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urljoin, urlsplit

import msgspec

from netvigil.failures import TOO_MANY_REDIRECTS, Failure
from netvigil.net.backend import Backend
from netvigil.net.connect import tls_context
from netvigil.net.http import MAX_BODY, REDIRECT_CODES, REQUEST_HEADERS, Browsing, round_trip
from netvigil.probe.control import ask_helpers, control_request
from netvigil.probe.recording import Scrub, Trace, http_record, no_scrub
from netvigil.probe.steps import (
    Endpoint,
    HostLimiter,
    open_endpoint,
    resolve_system,
    resolve_udp,
)
from netvigil.records import ControlRequest, WebConnectivityKeys

MAX_REDIRECTS = 10


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    resolver: tuple[str, int] | None = None
    test_helpers: tuple[str, ...] = ()
    ca_file: str | None = None
    dns_timeout: float = 4.0
    connect_timeout: float = 10.0
    tls_timeout: float = 10.0
    http_timeout: float = 15.0
    control_timeout: float = 30.0
    max_body: int = MAX_BODY


def _host_port(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    host = (parts.hostname or "").encode("idna").decode("ascii")
    return parts.scheme, host, parts.port or (443 if parts.scheme == "https" else 80)


async def measure(
    url: str,
    backend: Backend,
    settings: Settings,
    trace: Trace,
    *,
    limiter: HostLimiter | None = None,
    scrub: Scrub = no_scrub,
) -> tuple[WebConnectivityKeys, str | None]:
    """Measure one URL: its test keys and the helper that answered.

    What the network does is recorded, never raised; an exception is a bug in netvigil.
    """
    scheme, host, port = _host_port(url)
    limiter = limiter or HostLimiter()
    headers = {name: [value] for name, value in REQUEST_HEADERS}
    async with asyncio.TaskGroup() as group:
        if settings.resolver is not None:
            udp = resolve_udp(
                backend, trace, settings.resolver, host, 0, timeout=settings.dns_timeout
            )
            group.create_task(udp)
        addresses = await resolve_system(backend, trace, host, 0)
        request = control_request(url, addresses, port, http_url=scheme == "http", headers=headers)
        control = group.create_task(
            ask_helpers(
                backend,
                settings.test_helpers,
                request,
                deadline=settings.control_timeout,
                ssl_context=tls_context(settings.ca_file),
            )
        )
        await _fetch_chain(url, addresses, backend, settings, trace, limiter, scrub)
    response, control_failure, helper = control.result()
    keys = WebConnectivityKeys(
        queries=trace.queries,
        tcp_connect=trace.tcp_connect,
        tls_handshakes=trace.tls_handshakes,
        requests=list(reversed(trace.requests)),  # df-001: newest first
        network_events=trace.network_events,
        x_dns_duplicate_responses=trace.duplicate_replies,
        agent="redirect",
        client_resolver="",  # the run's whoami, once per run: runner.py fills it in
        x_control_request=request if settings.test_helpers else ControlRequest(http_request=url),
        control=response,
        control_failure=control_failure,
    )
    return keys, helper


async def _fetch_chain(
    url: str,
    addresses: list[str],
    backend: Backend,
    settings: Settings,
    trace: Trace,
    limiter: HostLimiter,
    scrub: Scrub,
) -> None:
    browsing = Browsing(REQUEST_HEADERS)
    current = url
    for depth in range(MAX_REDIRECTS + 1):
        scheme, host, port = _host_port(current)
        if depth > 0:
            addresses = await resolve_system(backend, trace, host, depth)
        endpoint = await _connect_all(
            addresses,
            scheme,
            host,
            port,
            depth,
            url_has_port=urlsplit(current).port is not None,
            backend=backend,
            settings=settings,
            trace=trace,
            limiter=limiter,
        )
        if endpoint is None:
            return
        next_url = await _get(
            current, endpoint, host, browsing, depth, settings, trace, limiter, scrub
        )
        if next_url is None:
            return
        current = next_url


async def _connect_all(
    addresses: list[str],
    scheme: str,
    host: str,
    port: int,
    depth: int,
    *,
    url_has_port: bool,
    backend: Backend,
    settings: Settings,
    trace: Trace,
    limiter: HostLimiter,
) -> Endpoint | None:
    """Connect to every address; keep the first endpoint that works open for the GET."""
    context = tls_context(settings.ca_file)

    async def one(ip: str, port: int, fetch_body: bool, tls: bool) -> Endpoint:
        return await open_endpoint(
            backend,
            trace,
            limiter,
            ip,
            port,
            host=host,
            depth=depth,
            fetch_body=fetch_body,
            tls=context if tls else None,
            connect_timeout=settings.connect_timeout,
            tls_timeout=settings.tls_timeout,
        )

    async with asyncio.TaskGroup() as group:
        fetching = [group.create_task(one(ip, port, True, scheme == "https")) for ip in addresses]
        checks = []
        if depth == 0 and scheme == "http" and not url_has_port:
            # E001: a valid certificate on 443 proves the address is the site's.
            checks = [group.create_task(one(ip, 443, False, True)) for ip in addresses]
    endpoints = [task.result() for task in fetching]
    chosen = next((e for e in endpoints if e.connection is not None), None)
    for endpoint in [*endpoints, *(task.result() for task in checks)]:
        if endpoint is not chosen:
            endpoint.close()
    return chosen


async def _get(
    url: str,
    endpoint: Endpoint,
    host: str,
    browsing: Browsing,
    depth: int,
    settings: Settings,
    trace: Trace,
    limiter: HostLimiter,
    scrub: Scrub,
) -> str | None:
    """GET over `endpoint`; the next URL when the response is a redirect to follow."""
    connection = endpoint.connection
    assert connection is not None
    target, sent = browsing.request(url)
    t0 = trace.now()
    async with limiter.slot(host):
        exchange = await round_trip(
            connection.reader,
            connection.writer,
            method="GET",
            target=target,
            headers=sent,
            deadline=settings.http_timeout,
            max_body=settings.max_body,
        )
    connection.close()
    location = browsing.received(exchange)
    next_url: str | None = None
    failure = exchange.failure
    if failure is None and exchange.status in REDIRECT_CODES and location is not None:
        candidate = _redirect_target(url, location)
        if candidate is None:
            failure = Failure.HTTP_INVALID_REDIRECT_LOCATION_HOST
        elif depth >= MAX_REDIRECTS:
            failure = TOO_MANY_REDIRECTS
        else:
            next_url = candidate
    record = http_record(url, connection, sent, exchange, failure, t0, trace.now(), scrub)
    trace.record(record, endpoint.transaction_id, endpoint.tags)
    return next_url


def _redirect_target(url: str, location: str) -> str | None:
    """The URL a `Location` sends us to, or None when it names no http(s) host we can use.

    A server chooses the `Location`: a malformed one (`http://[x/`, a port over 65535, a
    label IDNA refuses) is the server's failure, recorded, not an error of the probe.
    """
    try:
        candidate = urljoin(url, location.strip())
        scheme, host, _ = _host_port(candidate) if candidate else ("", "", 0)
    except ValueError:  # from urllib, or IDNA's UnicodeError (a ValueError too)
        return None
    return candidate if scheme in ("http", "https") and host else None
