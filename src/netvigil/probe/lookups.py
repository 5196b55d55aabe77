"""One DNS lookup through one resolver endpoint, recorded as a ts-027 urlgetter result.

The four transports of dnscheck (ts-028): Do53 over UDP (`net/dns.py`), over TCP and over
TLS (`net/dot.py`, framed), and DoH (`net/doh.py`), each over the probe's Backend. Every
step is kept as OONI's urlgetter keeps it (probe-cli internal/experiment/urlgetter): the
query with its engine ("udp", "tcp", "dot", "doh"), each TCP connect and TLS handshake,
the DoH round trip, and df-008 network events (resolve_start/done,
dns_round_trip_start/done, connect, tls_handshake_start/done, write and read with their
sizes). As OONI's netxlite does for TCP, DoT and DoH, each query opens its own connection
(the ts-028 example shows two connects per endpoint). Answers that are bogons make the
query fail with `dns_bogon_error`, the answers kept (dnscheck sets RejectDNSBogons;
dnscheck.go).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from netvigil.addresses import join_host_port
from netvigil.failures import FailedOperation, Failure
from netvigil.net.backend import Backend
from netvigil.net.connect import Connection, connect_tcp, tls_context, tls_handshake
from netvigil.net.dns import build_query, interpret, lookup_udp
from netvigil.net.doh import DoHResult
from netvigil.net.doh import query as doh_query
from netvigil.net.dot import dot_context, exchange_framed
from netvigil.probe.recording import Scrub, http_record
from netvigil.records import (
    BinaryData,
    DNSQuery,
    NetworkEvent,
    TCPConnect,
    TLSHandshake,
    answer_addresses,
)
from netvigil.records.resolvers import URLGetterResult
from netvigil.records.templates import HTTPTransaction

QUERY_TYPES = ("A", "AAAA")


@dataclass(frozen=True)
class Resolver:
    """One endpoint: `engine` udp/tcp/dot/doh, the address to reach, the names to present."""

    engine: str
    ip: str
    port: int
    server_name: str  # SNI for dot and doh (the input's host name)
    url: str  # the lookup's key in `lookups`, and DoH's request URL
    host_header: str = ""  # DoH's Host: the input's host[:port], not the address


@dataclass(frozen=True)
class Limits:
    connect: float
    tls: float
    round_trip: float
    ca_file: str | None


@dataclass
class Steps:
    """The observations of one urlgetter run, timed by the measurement's clock."""

    now: Callable[[], float]
    queries: list[DNSQuery] = field(default_factory=list)
    tcp_connect: list[TCPConnect] = field(default_factory=list)
    tls_handshakes: list[TLSHandshake] = field(default_factory=list)
    requests: list[HTTPTransaction] = field(default_factory=list)
    network_events: list[NetworkEvent] = field(default_factory=list)

    def event(self, operation: str, **values: Any) -> None:
        self.network_events.append(NetworkEvent(operation=operation, t=self.now(), **values))

    def result(self, failure: str | None, failed: str | None) -> URLGetterResult:
        return URLGetterResult(
            agent="redirect",
            failed_operation=failed,
            failure=failure,
            network_events=self.network_events or None,
            queries=self.queries or None,
            requests=self.requests or None,
            tcp_connect=self.tcp_connect or None,
            tls_handshakes=self.tls_handshakes or None,
        )


async def lookup(
    backend: Backend,
    resolver: Resolver,
    domain: str,
    limits: Limits,
    steps: Steps,
    *,
    is_bogon: Callable[[str], bool],
    scrub: Scrub,
) -> URLGetterResult:
    """A and AAAA of `domain` through `resolver`; success when either query answered."""
    failures: list[tuple[str, str]] = []
    steps.event("resolve_start")
    for query_type in QUERY_TYPES:
        steps.event("dns_round_trip_start")
        record, failed = await _one(backend, resolver, domain, query_type, limits, steps, scrub)
        if record.failure is None and any(is_bogon(a) for a in answer_addresses(record.answers)):
            record = _replace_failure(record, Failure.DNS_BOGON)
            failed = FailedOperation.RESOLVE
        steps.queries.append(record)
        steps.event("dns_round_trip_done", failure=record.failure)
        if record.failure is not None:
            failures.append((record.failure, failed or FailedOperation.RESOLVE))
    if len(failures) < len(QUERY_TYPES):
        steps.event("resolve_done")
        return steps.result(None, None)
    steps.event("resolve_done", failure=failures[0][0])
    return steps.result(failures[0][0], failures[0][1])


def _replace_failure(record: DNSQuery, failure: str) -> DNSQuery:
    return msgspec.structs.replace(record, failure=failure)


async def _one(
    backend: Backend,
    resolver: Resolver,
    domain: str,
    query_type: str,
    limits: Limits,
    steps: Steps,
    scrub: Scrub,
) -> tuple[DNSQuery, str | None]:
    """One query: its record and, when it failed, the operation that failed."""
    address = join_host_port(resolver.ip, resolver.port)
    if resolver.engine == "udp":
        steps.event("connect", address=address, proto="udp")
        first, _late = await lookup_udp(
            backend,
            (resolver.ip, resolver.port),
            domain,
            query_type,
            timeout=limits.round_trip,
            linger=0.0,
            clock=steps.now,
        )
        failed = None if first.failure is None else FailedOperation.RESOLVE
        return first, failed
    common: dict[str, Any] = {
        "engine": resolver.engine,
        "hostname": domain,
        "query_type": query_type,
        "resolver_address": resolver.url if resolver.engine == "doh" else address,
    }
    t0 = steps.now()
    connection, tcp = await connect_tcp(
        backend, resolver.ip, resolver.port, timeout=limits.connect, clock=steps.now
    )
    steps.tcp_connect.append(tcp)
    steps.event("connect", address=address, proto="tcp", failure=tcp.status.failure)
    if connection is None:
        refused = tcp.status.failure or Failure.GENERIC_TIMEOUT
        return DNSQuery(failure=refused, t0=t0, t=steps.now(), **common), FailedOperation.CONNECT
    try:
        if resolver.engine in ("dot", "doh"):
            steps.event("tls_handshake_start")
            context = (dot_context if resolver.engine == "dot" else tls_context)(limits.ca_file)
            secured, handshake = await tls_handshake(
                connection, resolver.server_name, context, timeout=limits.tls, clock=steps.now
            )
            steps.tls_handshakes.append(handshake)
            steps.event("tls_handshake_done", failure=handshake.failure)
            if secured is None:
                cut = handshake.failure or Failure.SSL_FAILED_HANDSHAKE
                record = DNSQuery(failure=cut, t0=t0, t=steps.now(), **common)
                return record, FailedOperation.TLS_HANDSHAKE
            connection = secured
        query = build_query(domain, query_type)
        wire = query.to_wire()
        reply: bytes | None
        failure: str | None
        if resolver.engine == "doh":
            started = steps.now()
            result = await doh_query(
                connection,
                resolver.url,
                wire,
                timeout=limits.round_trip,
                host=resolver.host_header or None,
            )
            steps.requests.append(
                _post_record(resolver.url, connection, result, wire, started, steps.now(), scrub)
            )
            reply, failure, failed = result.reply, result.failure, FailedOperation.HTTP_ROUND_TRIP
        else:
            done = await exchange_framed(
                connection.reader, connection.writer, wire, timeout=limits.round_trip
            )
            steps.event("write", num_bytes=done.written)
            if done.read:
                steps.event("read", num_bytes=done.read, failure=done.failure)
            reply, failure, failed = done.reply, done.failure, FailedOperation.READ
    finally:
        connection.close()
    if reply is None:
        silent = failure or Failure.GENERIC_TIMEOUT
        return DNSQuery(failure=silent, t0=t0, t=steps.now(), **common), failed
    answers, meaning, rcode = interpret(query, reply)
    record = DNSQuery(
        answers=answers or None,
        failure=meaning,
        raw_response=base64.b64encode(reply).decode(),
        rcode=rcode,
        t0=t0,
        t=steps.now(),
        **common,
    )
    return record, None if meaning is None else FailedOperation.RESOLVE


def _post_record(
    url: str,
    connection: Connection,
    result: DoHResult,
    wire: bytes,
    t0: float,
    t: float,
    scrub: Scrub,
) -> HTTPTransaction:
    """The df-001 record of a DoH POST; the bodies are DNS messages (base64, df-000)."""
    record = http_record(
        url, connection, result.sent, result.exchange, result.failure, t0, t, scrub
    )
    request = msgspec.structs.replace(record.request, method="POST", body=BinaryData.of(wire))
    return msgspec.structs.replace(record, request=request)
