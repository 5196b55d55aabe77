"""The control measurement, as OONI's test helper (oohelperd) makes it (ooni.md §2).

Given a `THRequest` it resolves the URL's host, connects to every endpoint the probe saw
plus its own (both 80 and 443 for http://, the URL's port otherwise), handshakes TLS on 443
with the URL's host as SNI, and fetches the URL following redirects with a cookie jar. The
answer uses the legacy failure strings the probe's analysis expects from a helper
(`dns_name_error`, `connection_refused_error`, ...), `-1` for an HTTP result that does not
exist, and `ip_info` flags (1 probe, 2 helper, 4 bogon, 8 valid for the domain).

Server-side request forgery: by default the helper never connects to private, loopback or
link-local addresses (the bogon list), whoever asks; `allow_private` lifts that for the lab.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import msgspec

from netvigil.addresses import is_bogon, join_host_port, parse_ip
from netvigil.analysis.traces import title_of
from netvigil.failures import Failure, FailureKind, kind_of
from netvigil.net.backend import Backend
from netvigil.net.connect import Connection, connect_tcp, tls_context, tls_handshake
from netvigil.net.errors import map_failures
from netvigil.net.http import REDIRECT_CODES, REQUEST_HEADERS, Browsing, round_trip
from netvigil.records import (
    ControlDNS,
    ControlHTTPRequest,
    ControlIPInfo,
    ControlRequest,
    ControlResponse,
    ControlTCPConnect,
    ControlTLSHandshake,
    TCPConnect,
    TLSHandshake,
)

MAX_BODY = 1 << 24
FLAG_PROBE, FLAG_HELPER, FLAG_BOGON, FLAG_VALID = 1, 2, 4, 8


class HelperSettings(msgspec.Struct, frozen=True, kw_only=True):
    allow_private: bool = False
    dns_timeout: float = 4.0
    endpoint_timeout: float = 15.0
    http_timeout: float = 15.0
    ca_file: str | None = None


def _legacy_dns(failure: str) -> str | None:
    kind = kind_of(failure)
    if kind is FailureKind.NONE or kind is FailureKind.NO_ANSWER:
        return None
    return Failure.DNS_NAME_ERROR if kind is FailureKind.NXDOMAIN else Failure.DNS_SERVER_FAILURE


def _legacy_connect(failure: str) -> str:
    kind = kind_of(failure)
    if kind is FailureKind.REFUSED:
        return Failure.CONNECTION_REFUSED_LEGACY
    return Failure.GENERIC_TIMEOUT if kind is FailureKind.TIMEOUT else Failure.CONNECT_ERROR


def _legacy_http(failure: str) -> str:
    kind = kind_of(failure)
    if kind in (FailureKind.NXDOMAIN, FailureKind.NO_ANSWER, FailureKind.DNS_SERVER_ERROR):
        return Failure.DNS_LOOKUP_ERROR
    if kind is FailureKind.REFUSED:
        return Failure.CONNECTION_REFUSED_LEGACY
    return Failure.GENERIC_TIMEOUT if kind is FailureKind.TIMEOUT else Failure.UNKNOWN_ERROR


def no_asn(address: str) -> int:
    return 0


async def control(
    request: ControlRequest,
    backend: Backend,
    settings: HelperSettings,
    asn_of: Callable[[str], int] = no_asn,
) -> ControlResponse:
    """The control view; `asn_of` fills `ip_info[ip].asn` (a geoip lookup, 0 if unknown)."""
    url = request.http_request
    parts = urlsplit(url)
    host = (parts.hostname or "").encode("idna").decode("ascii")
    https = parts.scheme == "https"
    dns_failure, addrs = await _resolve(backend, host, settings.dns_timeout)
    ports = [parts.port] if parts.port else ([443] if https else [80, 443])
    probe_ips = {_ip_of(ep) for ep in request.tcp_connect or ()} - {""}
    endpoints = dict.fromkeys(
        [*(request.tcp_connect or ()), *(join_host_port(ip, p) for ip in addrs for p in ports)]
    )
    allowed = [ep for ep in endpoints if settings.allow_private or not is_bogon(_ip_of(ep))]
    tls_ports = {443, parts.port or 443} if https else {443}
    tcp, tls = await _endpoints(allowed, host, tls_ports, backend, settings)
    http = await _fetch(url, backend, settings, addrs if dns_failure is None else [])
    info: dict[str, ControlIPInfo] = {}
    for ip in {*probe_ips, *addrs}:
        flags = (FLAG_PROBE if ip in probe_ips else 0) | (FLAG_HELPER if ip in addrs else 0)
        flags |= FLAG_BOGON if is_bogon(ip) else 0
        if any(_ip_of(ep) == ip and r.failure is None for ep, r in tls.items()):
            flags |= FLAG_VALID
        info[ip] = ControlIPInfo(asn=asn_of(ip), flags=flags)
    return ControlResponse(
        tcp_connect=tcp,
        tls_handshake=tls,
        quic_handshake={},
        http_request=http,
        dns=ControlDNS(failure=dns_failure, addrs=addrs),
        ip_info=info,
    )


def _host_port(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    host = (parts.hostname or "").encode("idna").decode("ascii")
    return parts.scheme, host, parts.port or (443 if parts.scheme == "https" else 80)


def _ip_of(endpoint: str) -> str:
    host = endpoint.rsplit(":", 1)[0]
    return host[1:-1] if host.startswith("[") else host


async def _resolve(backend: Backend, host: str, timeout: float) -> tuple[str | None, list[str]]:
    if parse_ip(host) is not None:
        return None, [host]
    addresses: list[str] = []
    with map_failures() as caught:
        async with asyncio.timeout(timeout):
            addresses = await backend.resolve(host)
    if caught.failure is not None:
        return _legacy_dns(caught.failure), []
    return None, addresses


async def _open(
    backend: Backend, ip: str, port: int, server_name: str | None, settings: HelperSettings
) -> tuple[Connection | None, TCPConnect, TLSHandshake | None]:
    """TCP and, with `server_name`, TLS: the connection if it worked, and the steps' records."""
    timeout = settings.endpoint_timeout
    connection, connect = await connect_tcp(backend, ip, port, timeout=timeout)
    if connection is None or server_name is None:
        return connection, connect, None
    context = tls_context(settings.ca_file)
    secured, handshake = await tls_handshake(connection, server_name, context, timeout=timeout)
    return secured, connect, handshake


async def _endpoints(
    endpoints: list[str],
    host: str,
    tls_ports: set[int],
    backend: Backend,
    settings: HelperSettings,
) -> tuple[dict[str, ControlTCPConnect], dict[str, ControlTLSHandshake]]:
    async def one(endpoint: str) -> tuple[Connection | None, TCPConnect, TLSHandshake | None]:
        port = int(endpoint.rsplit(":", 1)[1])
        server_name = host if port in tls_ports else None
        return await _open(backend, _ip_of(endpoint), port, server_name, settings)

    async with asyncio.TaskGroup() as group:
        tasks = {ep: group.create_task(one(ep)) for ep in endpoints}
    tcp: dict[str, ControlTCPConnect] = {}
    tls: dict[str, ControlTLSHandshake] = {}
    for endpoint, task in tasks.items():
        connection, connect, handshake = task.result()
        if connection is not None:
            connection.close()
        if handshake is not None:  # connected: the failure, if any, was the handshake's
            tcp[endpoint] = ControlTCPConnect(status=True, failure=None)
            tls[endpoint] = ControlTLSHandshake(
                server_name=host, status=handshake.failure is None, failure=handshake.failure
            )
        else:
            failure = connect.status.failure
            failure = None if failure is None else _legacy_connect(failure)
            tcp[endpoint] = ControlTCPConnect(status=failure is None, failure=failure)
    return tcp, tls


async def _fetch(
    url: str, backend: Backend, settings: HelperSettings, first_addrs: list[str]
) -> ControlHTTPRequest:
    """GET with redirects and cookies; a failure at any hop is the result's failure."""
    browsing = Browsing(REQUEST_HEADERS)
    addrs = first_addrs
    location = ""  # where the last response sent us
    for hop in range(11):
        try:  # a redirect's URL is the server's choice: it may name no usable host or port
            url = urljoin(url, location)
            scheme, host, port = _host_port(url)
        except ValueError:  # urllib's, or IDNA's UnicodeError (a ValueError too)
            return _failed(Failure.UNKNOWN_ERROR)
        if hop > 0:
            failure, addrs = await _resolve(backend, host, settings.dns_timeout)
            if failure is not None:
                return _failed(Failure.DNS_LOOKUP_ERROR)
        usable = [ip for ip in addrs if settings.allow_private or not is_bogon(ip)]
        if not usable:
            return _failed(Failure.DNS_LOOKUP_ERROR if not addrs else Failure.UNKNOWN_ERROR)
        sni = host if scheme == "https" else None
        connection, connect, handshake = await _open(backend, usable[0], port, sni, settings)
        if connection is None:
            failure = handshake.failure if handshake else connect.status.failure
            return _failed(_legacy_http(failure or ""))
        target, headers = browsing.request(url)
        exchange = await round_trip(
            connection.reader,
            connection.writer,
            method="GET",
            target=target,
            headers=headers,
            deadline=settings.http_timeout,
            max_body=MAX_BODY,
        )
        connection.close()
        if exchange.failure is not None:
            return _failed(_legacy_http(exchange.failure))
        location = browsing.received(exchange) or ""
        if exchange.status in REDIRECT_CODES and location:
            continue
        first: dict[str, str] = {}
        for name, value in exchange.headers:
            first.setdefault(name, value)
        body = exchange.body.decode("utf-8", "replace")
        return ControlHTTPRequest(
            body_length=len(exchange.body),
            discovered_h3_endpoint="",
            failure=None,
            title=title_of(body),
            headers=dict(first),
            status_code=exchange.status,
        )
    return _failed(Failure.UNKNOWN_ERROR)  # more than ten redirects


def _failed(failure: str) -> ControlHTTPRequest:
    return ControlHTTPRequest(
        body_length=-1,
        discovered_h3_endpoint="",
        failure=failure,
        title="",
        headers={},
        status_code=-1,
    )
