"""The probe's network steps: each recorded in the measurement's :class:`Trace`, and polite.

`net/` does the I/O and returns what it saw; here the probe gives each step its
`transaction_id` and tags and records it the moment it completes, so the trace keeps the
order in which steps finished.

Politeness: at most a few connections to one host at a time, however many URLs run. A test
list often holds several URLs of one site; measuring 32 of them at once would look like an
attack to the site and stand out to anyone watching the network. Each connection holds one
of the host's slots (:class:`HostLimiter`) while it is open; an endpoint's id is taken once
it holds one, which makes the ids follow the order the connections were made.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from netvigil.addresses import join_host_port
from netvigil.net.backend import Backend
from netvigil.net.connect import Connection, connect_tcp, tls_handshake
from netvigil.net.dns import addresses_of, lookup_system, lookup_udp
from netvigil.probe.recording import Trace, tags
from netvigil.records import NetworkEvent

MAX_PER_HOST = 2


class HostLimiter:
    def __init__(self, per_host: int = MAX_PER_HOST) -> None:
        self.per_host = per_host
        self._slots: dict[str, asyncio.Semaphore] = {}

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        semaphore = self._slots.setdefault(host.lower(), asyncio.Semaphore(self.per_host))
        async with semaphore:
            yield


async def resolve_system(backend: Backend, trace: Trace, hostname: str, depth: int) -> list[str]:
    """The system resolver's addresses for `hostname`, the lookup recorded (`classic`)."""
    transaction = trace.dns_transaction()
    query = await lookup_system(backend, hostname, clock=trace.now)
    trace.record(query, transaction, tags(depth=depth, classic=True))
    return addresses_of(query)


async def resolve_udp(
    backend: Backend,
    trace: Trace,
    server: tuple[str, int],
    hostname: str,
    depth: int,
    *,
    timeout: float,
) -> None:
    """A and AAAA over UDP to `server`, each query with its late replies recorded."""
    for query_type in ("A", "AAAA"):
        transaction = trace.dns_transaction()
        first, late = await lookup_udp(
            backend, server, hostname, query_type, timeout=timeout, clock=trace.now
        )
        step_tags = tags(depth=depth)
        trace.record(first, transaction, step_tags)
        for reply in late:
            trace.duplicate(reply, transaction, step_tags)


@dataclass(frozen=True)
class Endpoint:
    """An endpoint the probe opened: its connection (None if it failed) and its records' id."""

    connection: Connection | None
    transaction_id: int
    tags: list[str]

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


async def open_endpoint(
    backend: Backend,
    trace: Trace,
    limiter: HostLimiter,
    ip: str,
    port: int,
    *,
    host: str,
    depth: int,
    fetch_body: bool,
    tls: ssl.SSLContext | None,
    connect_timeout: float,
    tls_timeout: float,
) -> Endpoint:
    """TCP to ip:port and, with a `tls` context, a handshake with SNI `host`; both recorded."""
    step_tags = tags(depth=depth, classic=True, fetch_body=fetch_body)
    async with limiter.slot(host):
        transaction = trace.endpoint_transaction()
        connection, tcp = await connect_tcp(
            backend, ip, port, timeout=connect_timeout, clock=trace.now
        )
        trace.record(tcp, transaction, step_tags)
        connected = NetworkEvent(
            operation="connect", address=join_host_port(ip, port), proto="tcp",
            failure=tcp.status.failure, t0=tcp.t0, t=tcp.t,
        )  # fmt: skip
        trace.event(connected, transaction, step_tags)
        if connection is not None and tls is not None:
            connection, handshake = await tls_handshake(
                connection,
                host,
                tls,
                timeout=tls_timeout,
                clock=trace.now,
                on_event=lambda event: trace.event(event, transaction, step_tags),
            )
            trace.record(handshake, transaction, step_tags)
    return Endpoint(connection, transaction, step_tags)
