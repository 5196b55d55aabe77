"""stunreachability (ts-025): does a STUN server answer a Binding request from here?

As OONI's probe measures it (probe-cli internal/experiment/stunreachability, v0.4.0): the
input is `stun://HOST:PORT` (default `stun.l.google.com:19302`, ts-025); `endpoint` is
HOST:PORT; the host is resolved with the system resolver (`queries`), a Binding request is
sent to the first address that is not a bogon, and the test succeeds when a Binding
success response with a mapped address comes back. The request is retransmitted once
(RFC 5389 §7.2.1 retransmits over UDP; pion/stun, OONI's library, does too).

Privacy (ts-025): the response carries the probe's public address. Only its size is kept
(a `read` network event); the datagram is parsed for validity and dropped
(:func:`netvigil.net.stun.parse_response` does not even return the address).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from netvigil.addresses import REAL_WORLD, Bogons, join_host_port, parse_ip
from netvigil.failures import Failure, unknown
from netvigil.net import stun
from netvigil.net.dns import addresses_of, lookup_system
from netvigil.net.errors import map_failures
from netvigil.probe.lookups import Steps
from netvigil.probe.nettest import Context, EndpointError, Endpoints, parse_host_port
from netvigil.records import DNSQuery, Record
from netvigil.records.resolvers import (
    STUNREACHABILITY,
    STUNREACHABILITY_VERSION,
    STUNReachabilityKeys,
)

DEFAULT_ENDPOINT = "stun.l.google.com:19302"  # ts-025 "Expected inputs"
ATTEMPTS = 2
NOT_STUN = unknown("the reply is not a STUN Binding response")
NO_MAPPED_ADDRESS = unknown("the Binding response has no XOR-MAPPED-ADDRESS")


def parse_stun(value: str) -> tuple[str, int]:
    """`stun://HOST:PORT` (or HOST:PORT) -> (host, port); raises EndpointError."""
    if "://" in value:
        parts = urlsplit(value)
        if parts.scheme != "stun" or not parts.netloc:
            raise EndpointError(f"{value!r} is not a stun://HOST:PORT URL")
        value = parts.netloc
    return parse_host_port(value)


def _failure_of(response: stun.Response) -> str | None:
    if not response.is_stun:
        return NOT_STUN
    if not response.success:
        return unknown(f"STUN error response {response.error_code}")
    return None if response.has_mapped_address else NO_MAPPED_ADDRESS


@dataclass
class STUNReachability:
    name: str = STUNREACHABILITY
    version: str = STUNREACHABILITY_VERSION
    input: Literal["none", "required", "optional"] = "optional"
    endpoint_help: Mapping[str, str] = field(
        default_factory=lambda: {"stun": f"the STUN server HOST:PORT ({DEFAULT_ENDPOINT})"}
    )
    bogon: Bogons = REAL_WORLD

    def endpoints(self, endpoints: Endpoints) -> tuple[str, int]:
        """The server measured without input; EndpointError for a key or value it cannot use."""
        endpoints.check(self.endpoint_help)
        return endpoints.values("stun", (DEFAULT_ENDPOINT,), parse_stun)[0]

    def check_endpoints(self, endpoints: Endpoints) -> None:
        self.endpoints(endpoints)

    async def measure(self, input: str | None, ctx: Context) -> Record:
        server = self.endpoints(ctx.endpoints)
        host, port = parse_stun(input) if input else server
        endpoint = join_host_port(host, port)
        steps = Steps(now=ctx.trace.now)
        queries: list[DNSQuery] = []
        addresses = [host]
        if parse_ip(host) is None:
            steps.event("resolve_start")
            query = await lookup_system(ctx.backend, host, clock=ctx.trace.now)
            steps.event("resolve_done", failure=query.failure)
            queries.append(query)
            if query.failure is not None:
                return self._keys(endpoint, query.failure, steps, queries)
            addresses = [a for a in addresses_of(query) if not self.bogon(a)]
            if not addresses:  # only bogons: never sent into a private network
                return self._keys(endpoint, Failure.DNS_BOGON, steps, queries)
        failure = await self._bind(ctx, (addresses[0], port), steps)
        return self._keys(endpoint, failure, steps, queries)

    async def _bind(self, ctx: Context, server: tuple[str, int], steps: Steps) -> str | None:
        transaction = stun.new_transaction_id()
        request = stun.binding_request(transaction)
        steps.event("connect", address=join_host_port(*server), proto="udp")
        timeout = ctx.settings.dns_timeout
        failure: str | None = Failure.GENERIC_TIMEOUT
        for _ in range(ATTEMPTS):
            replies: list[tuple[float, bytes]] = []
            with map_failures() as caught:
                steps.event("write", num_bytes=len(request))
                replies = await ctx.backend.exchange_udp(server, request, timeout, 0.0)
            if caught.failure is not None:
                steps.event("read", failure=caught.failure)
                return caught.failure  # e.g. connection_refused: ICMP port unreachable
            if not replies:
                continue  # silence: retransmit, then give up
            _after, datagram = replies[0]
            steps.event("read", num_bytes=len(datagram))
            return _failure_of(stun.parse_response(datagram, transaction))
        return failure

    def _keys(
        self, endpoint: str, failure: str | None, steps: Steps, queries: list[DNSQuery]
    ) -> STUNReachabilityKeys:
        return STUNReachabilityKeys(
            endpoint=endpoint,
            failure=failure,
            network_events=steps.network_events,
            queries=queries,
        )
