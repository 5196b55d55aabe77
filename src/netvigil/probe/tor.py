"""The `tor` nettest (ts-023): can the Tor directory authorities and bridges be reached?

Per target kind (ts-023 "Test description"; ooni/probe-cli internal/experiment/tor/tor.go):
`dir_port` — TCP, then an HTTP GET of /tor/status-vote/current/consensus.z, keeping the first
256 bytes of the body (probe-cli: snapshot size 1 << 8); `or_port` / `or_port_dirauth` — TCP,
then a TLS handshake *without* certificate validation (relays present self-signed, randomly
named certificates; probe-cli: InsecureSkipVerify). Two targets at a time (probe-cli
`parallelism = 2`). obfs4 bridges need an obfs4 implementation we do not have: not measured.

Targets: OONI fetches them from its backend; our defaults are the nine directory authorities
compiled into tor 0.4.9.11 (Debian bookworm's `tor`: name, IP, DirPort, ORPort), each as a
`dir_port` and an `or_port_dirauth` target with OONI's "ip:port" id. `--endpoint` replaces
them all: `dir_port=HOST:PORT`, `or_port_dirauth=HOST:PORT`, `or_port=HOST:PORT` (a public
bridge) and `bridge=HOST:PORT`, a *private* bridge (source "user"): its address is scrubbed
from the keys and never logged (ts-023 privacy; netvigil.bridges). Bridge ids are SHA-256
hex, as OONI's, of the address with a random salt.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

import msgspec

from netvigil.addresses import join_host_port
from netvigil.bridges import log_name, scrub_tor_keys
from netvigil.net.connect import connect_tcp, tls_handshake
from netvigil.net.http import REQUEST_HEADERS, round_trip
from netvigil.probe.nettest import Context, Endpoints
from netvigil.probe.recording import Trace, http_record
from netvigil.records.tor import (
    DIR_PORT,
    OR_PORT,
    OR_PORT_DIRAUTH,
    TorKeys,
    TorNetworkEvent,
    TorOperation,
    TorTarget,
    TorTCPConnect,
    TorTLSHandshake,
)

log = logging.getLogger(__name__)
Kind = TypeVar("Kind", TorTCPConnect, TorTLSHandshake)

CONSENSUS = "/tor/status-vote/current/consensus.z"
SNAPSHOT = 1 << 8
PARALLELISM = 2
# (name, IP, DirPort, ORPort): `strings /usr/sbin/tor` of Debian's tor 0.4.9.11 (auth_dirs.inc).
AUTHORITIES = (
    ("moria1", "128.31.0.39", 9231, 9201),
    ("tor26", "217.196.147.77", 80, 443),
    ("dizum", "45.66.35.11", 80, 443),
    ("gabelmoo", "131.188.40.189", 80, 443),
    ("dannenberg", "193.23.244.244", 80, 443),
    ("maatuska", "171.25.193.9", 443, 80),
    ("longclaw", "199.58.81.140", 80, 443),
    ("bastet", "204.13.164.118", 80, 443),
    ("faravahar", "216.218.219.41", 80, 443),
)
_NAMES = {f"{ip}:{port}": name for name, ip, d, o in AUTHORITIES for port in (d, o)}
DEFAULTS = {
    DIR_PORT: tuple(f"{ip}:{dirport}" for _, ip, dirport, _ in AUTHORITIES),
    OR_PORT_DIRAUTH: tuple(f"{ip}:{orport}" for _, ip, _, orport in AUTHORITIES),
    OR_PORT: (),
    "bridge": (),
}


@dataclass(frozen=True)
class Target:
    id: str
    host: str
    port: int
    protocol: str
    name: str | None = None
    source: str | None = None  # non-empty: a private bridge

    @property
    def address(self) -> str:
        return join_host_port(self.host, self.port)


def targets(endpoints: Endpoints) -> list[Target]:
    """The targets to measure, from `--endpoint` or the defaults (EndpointError if bad)."""
    endpoints.check(DEFAULTS)
    # Any target given replaces the whole default list, not only its own kind's: a lab or a
    # test that names its targets must never also reach tor's real authorities.
    given = bool(endpoints.keys() & DEFAULTS.keys())
    found: list[Target] = []
    for key, default in DEFAULTS.items():
        for host, port in endpoints.host_ports(key, () if given else default):
            address = join_host_port(host, port)
            if key in (DIR_PORT, OR_PORT_DIRAUTH):
                found.append(Target(address, host, port, key, _NAMES.get(address)))
            else:
                # OONI's id hashes address and fingerprint; we know no fingerprint, and a hash
                # of "ip:port" alone is undone by trying them all: a random salt.
                ident = hashlib.sha256(secrets.token_bytes(32) + address.encode()).hexdigest()
                source = "user" if key == "bridge" else None
                found.append(Target(ident, host, port, OR_PORT, source=source))
    return found


def _insecure() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # a relay's certificate is self-signed: not a check
    return context


async def measure_target(target: Target, ctx: Context) -> TorTarget:
    """Measure one target; its failure is data (null when reached)."""
    trace, clock = Trace(ctx.clock), ctx.trace.now
    tid = ctx.trace.endpoint_transaction()
    settings = ctx.settings
    connection, tcp = await connect_tcp(
        ctx.backend, target.host, target.port, timeout=settings.connect_timeout, clock=clock
    )
    trace.record(tcp, tid, [])
    failure = tcp.status.failure
    try:
        if connection is not None and target.protocol == DIR_PORT:
            url = f"http://{target.address}{CONSENSUS}"
            sent = [("Host", target.address), *REQUEST_HEADERS]
            t0 = clock()
            exchange = await round_trip(
                connection.reader,
                connection.writer,
                method="GET",
                target=CONSENSUS,
                headers=sent,
                deadline=settings.http_timeout,
                max_body=SNAPSHOT,
            )
            failure = exchange.failure
            record = http_record(url, connection, sent, exchange, failure, t0, clock(), ctx.scrub)
            trace.record(record, tid, [])
        elif connection is not None:
            connection, tls = await tls_handshake(
                connection, target.host, _insecure(), timeout=settings.tls_timeout, clock=clock
            )
            trace.record(msgspec.structs.replace(tls, no_tls_verify=True), tid, [])
            failure = tls.failure
    finally:
        if connection is not None:
            connection.close()
    summary = {"connect": TorOperation(failure=tcp.status.failure)}
    if trace.tls_handshakes:  # probe-cli `fillSummary`: the TLS handshake's failure
        summary["handshake"] = TorOperation(failure=trace.tls_handshakes[0].failure)
    log.info(
        "tor: %s/%s: %s",
        log_name(target.address, target.source),
        target.protocol,
        failure or "success",
    )
    return _result(target, trace, failure, summary)


def _result(
    target: Target, trace: Trace, failure: str | None, summary: dict[str, TorOperation]
) -> TorTarget:
    def tor_record(record: msgspec.Struct, kind: type[Kind], **ids: int) -> Kind:
        fields = msgspec.to_builtins(record)
        fields.pop("tags", None)  # OONI's tor records carry none
        return msgspec.convert(fields | ids, kind)

    tid = trace.tcp_connect[0].transaction_id
    connect = [tor_record(r, TorTCPConnect, conn_id=tid, dial_id=tid) for r in trace.tcp_connect]
    events = [
        TorNetworkEvent(
            operation="connect",
            address=join_host_port(r.ip, r.port),
            proto="tcp",
            failure=r.status.failure,
            t0=r.t0,
            t=r.t,
            conn_id=tid,
            dial_id=tid,
            transaction_id=tid,
        )
        for r in trace.tcp_connect
    ]
    return TorTarget(
        agent="redirect",
        failure=failure,
        network_events=events,
        queries=None,
        requests=trace.requests or None,
        summary=summary,
        target_address=target.address,
        target_name=target.name,
        target_protocol=target.protocol,
        target_source=target.source,
        tcp_connect=connect,
        tls_handshakes=[tor_record(r, TorTLSHandshake, conn_id=tid) for r in trace.tls_handshakes]
        or None,
    )


def counted(results: Mapping[str, TorTarget]) -> TorKeys:
    """The keys with OONI's per-protocol totals (probe-cli tor.go `fillToplevelKeys`)."""
    counts: dict[str, int] = {}
    for protocol in ("dir_port", "obfs4", "or_port_dirauth", "or_port"):
        members = [t for t in results.values() if t.target_protocol == protocol]
        counts[f"{protocol}_total"] = len(members)
        counts[f"{protocol}_accessible"] = sum(1 for t in members if t.failure is None)
    return TorKeys(**counts, targets=dict(results))


class Tor:
    name = "tor"
    version = "0.4.0"  # probe-cli internal/experiment/tor testVersion
    input: Literal["none", "required", "optional"] = "none"
    endpoint_help: Mapping[str, str] = {
        DIR_PORT: "a directory authority's DirPort, HOST:PORT (default: tor's nine)",
        OR_PORT_DIRAUTH: "a directory authority's ORPort, HOST:PORT (default: tor's nine)",
        OR_PORT: "a public bridge's ORPort, HOST:PORT (default: none)",
        "bridge": "a private bridge's ORPort, HOST:PORT, never written or logged (default: none)",
    }

    def check_endpoints(self, endpoints: Endpoints) -> None:
        targets(endpoints)

    async def measure(self, input: str | None, ctx: Context) -> TorKeys:
        chosen = targets(ctx.endpoints)
        gate = asyncio.Semaphore(PARALLELISM)

        async def one(target: Target) -> TorTarget:
            async with gate:
                return await measure_target(target, ctx)

        async with asyncio.TaskGroup() as group:
            tasks = {t.id: group.create_task(one(t)) for t in chosen}
        keys = counted({ident: task.result() for ident, task in tasks.items()})
        if not any(t.source for t in chosen):
            return keys
        return msgspec.convert(scrub_tor_keys(msgspec.to_builtins(keys)), TorKeys)
