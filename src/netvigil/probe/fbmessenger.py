"""Facebook Messenger (ts-019), as OONI's probe measures it (probe-cli fbmessenger, 0.2.1).

Resolve seven hosts; a host's DNS is consistent when every answer is in Facebook's AS
(AS32934); then connect on 443 to the addresses of each host but STUN's (a UDP service,
only resolved). `facebook_dns_blocking` / `facebook_tcp_blocking` when any host fails
(fbmessenger.go `ComputeEndpointStatus`). An address's AS comes from `asn_of` (the probe's
IP-to-AS database): where it knows none (0), consistency is unknown (null), never false —
we do not call a lookup inconsistent for want of a database. Every host can be replaced
(`--endpoint b_api=HOST:PORT`, `stun=HOST`), and so can the AS (`asn=N`; the tests use the
lab's own), which the keys then carry as `x_facebook_asn`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Literal

import msgspec

from netvigil.net.dns import addresses_of, lookup_system
from netvigil.probe.messaging import connect
from netvigil.probe.nettest import Context, EndpointError, Endpoints, parse_host
from netvigil.records.messaging import FACEBOOK_ASN, FACEBOOK_ENDPOINTS, FacebookMessengerKeys


def no_asn(address: str) -> int:
    return 0


def parse_asn(value: str) -> int:
    """`32934` or `AS32934`; raises EndpointError."""
    if not value.removeprefix("AS").isdigit():
        raise EndpointError(f"{value!r} is not an AS number")
    return int(value.removeprefix("AS"))


class FacebookMessenger:
    name = "facebook_messenger"
    version = "0.2.1"
    input: Literal["none", "required", "optional"] = "none"
    endpoint_help: Mapping[str, str] = {
        "asn": f"the AS the hosts must resolve into (default {FACEBOOK_ASN})",
        "stun": f"the STUN host, only resolved (default {FACEBOOK_ENDPOINTS['stun']})",
        **{
            key: f"HOST:PORT resolved and connected to (default {host}:443)"
            for key, host in FACEBOOK_ENDPOINTS.items()
            if key != "stun"
        },
    }

    def __init__(self, asn_of: Callable[[str], int] = no_asn) -> None:
        self.asn_of = asn_of

    def endpoints(self, given: Endpoints) -> tuple[int, dict[str, tuple[str, int]]]:
        """(the AS, each key's host and port, port 0 for STUN: only resolved); the last value
        of a key given twice counts. EndpointError for a key or value it cannot use."""
        given.check(self.endpoint_help)
        asn = given.values("asn", (str(FACEBOOK_ASN),), parse_asn)[-1]
        targets = {"stun": (given.values("stun", (FACEBOOK_ENDPOINTS["stun"],), parse_host)[-1], 0)}
        for key, host in FACEBOOK_ENDPOINTS.items():
            if key != "stun":
                targets[key] = given.host_ports(key, (f"{host}:443",))[-1]
        return asn, targets

    def check_endpoints(self, endpoints: Endpoints) -> None:
        self.endpoints(endpoints)

    async def measure(self, input: str | None, ctx: Context) -> FacebookMessengerKeys:
        asn, targets = self.endpoints(ctx.endpoints)
        results = await asyncio.gather(
            *(self._endpoint(ctx, host, port, asn) for host, port in targets.values())
        )
        status: dict[str, bool | None] = {}
        for key, (consistent, reachable) in zip(targets, results, strict=True):
            status[f"facebook_{key}_dns_consistent"] = consistent
            status[f"facebook_{key}_reachable"] = reachable
        trace = ctx.trace
        return FacebookMessengerKeys(
            agent="redirect",
            failed_operation=None,
            failure=None,
            network_events=list(trace.network_events),
            queries=list(trace.queries),
            requests=list(trace.requests),
            tcp_connect=list(trace.tcp_connect),
            tls_handshakes=list(trace.tls_handshakes),
            facebook_dns_blocking=any(v is False for k, v in status.items() if "_dns_" in k),
            facebook_tcp_blocking=any(v is False for k, v in status.items() if "_reach" in k),
            x_facebook_asn=asn if asn != FACEBOOK_ASN else None,
            **status,
        )

    async def _endpoint(
        self, ctx: Context, host: str, port: int, asn: int
    ) -> tuple[bool | None, bool | None]:
        """(dns consistent, reachable) of one host; port 0: only resolve (STUN)."""
        transaction = ctx.trace.dns_transaction()
        query = await lookup_system(ctx.backend, host, clock=ctx.trace.now)
        answers = [
            msgspec.structs.replace(a, asn=self.asn_of(a.address)) if a.address else a
            for a in query.answers or ()
        ]
        query = msgspec.structs.replace(query, answers=answers or None)
        ctx.trace.record(query, transaction, [self.name])
        addresses = addresses_of(query)
        if query.failure or not addresses:
            return False, None
        known = [a.asn for a in answers if a.address]
        if any(n and n != asn for n in known):
            return False, None
        consistent = True if all(known) else None
        if port == 0:
            return consistent, None
        connection, result = await connect(
            ctx, addresses, port, self.name, ctx.trace.endpoint_transaction()
        )
        if connection is not None:
            connection.close()
        return consistent, result.failure is None
