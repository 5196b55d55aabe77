"""Test keys of the tunnel nettests we read and analyse: psiphon, riseupvpn, openvpn.

Key names and types from ooni/spec nettests/ts-015-psiphon.md (0.3.x), ts-026-riseupvpn.md
(0.3.x: `api_failures`, `ca_cert_status`; the 0.2.x keys `api_failure`, `api_status`,
`failing_gateways`, `transport_status` of the version at spec commit f9bbaa83, which the
corpus's riseupvpn.json has) and ts-040-openvpn.md (`success`, `openvpn_handshake`,
`tcp_connect`, `bootstrap_time`, `tunnel`; the corpus's openvpn.json is the experimental
0.0.16, with one `tcp_connect` object and `success_handshake`/`success_icmp`/
`success_urlgrab`). Loose on purpose (df-000: tolerate null or missing keys); keys we do not
model stay in the archive's raw JSON.
"""

from __future__ import annotations

from typing import Any

from netvigil.records.base import Record
from netvigil.records.templates import DNSQuery, HTTPTransaction, TCPConnect, TLSHandshake


class PsiphonKeys(Record, frozen=True):
    """ts-015: bootstrap a Psiphon tunnel from scratch, then fetch a page through it."""

    bootstrap_time: float | None = None  # seconds; 0 when the bootstrap failed
    failure: str | None = None
    max_runtime: float | None = None
    agent: str | None = None
    socksproxy: str | None = None
    queries: list[DNSQuery] | None = None  # expected null: Psiphon resolves inside
    requests: list[HTTPTransaction] | None = None
    tls_handshakes: list[TLSHandshake] | None = None
    network_events: list[dict[str, Any]] | None = None


class RiseupGateway(Record, frozen=True):
    """One entry of 0.2.x `failing_gateways` (capitalised `IP`, as the probe wrote it)."""

    IP: str | None = None
    port: int | None = None
    transport_type: str | None = None


class RiseupVPNKeys(Record, frozen=True):
    """ts-026: the RiseupVPN API over HTTPS, then TCP connects to its gateways (≤ 0.2.x)."""

    api_failures: list[str] | None = None  # 0.3.x
    api_failure: str | None = None  # 0.2.x
    api_status: str | None = None  # 0.2.x: "ok" | "blocked"
    ca_cert_status: bool | None = None
    failing_gateways: list[RiseupGateway] | None = None  # 0.2.x
    transport_status: dict[str, str] | None = None  # 0.2.x: transport -> "ok" | "blocked"
    failed_operation: str | None = None
    failure: str | None = None
    agent: str | None = None
    queries: list[DNSQuery] | None = None
    requests: list[HTTPTransaction] | None = None
    tcp_connect: list[TCPConnect] | None = None
    tls_handshakes: list[TLSHandshake] | None = None
    network_events: list[dict[str, Any]] | None = None


class OpenVPNHandshake(Record, frozen=True):
    """ts-040 `openvpn_handshake[]`: one handshake attempt against one endpoint."""

    endpoint: str | None = None
    failure: str | None = None
    ip: str | None = None
    port: int | None = None
    transport: str | None = None
    provider: str | None = None
    openvpn_options: dict[str, Any] | None = None
    bootstrap_time: float | None = None
    handshake_time: float | None = None
    t0: float | None = None
    t: float | None = None
    tags: list[str] | None = None
    transaction_id: int | None = None


class OpenVPNKeys(Record, frozen=True):
    """ts-040: an OpenVPN handshake (over TCP or UDP, optionally obfs4) with one endpoint."""

    success: bool | None = None
    failure: str | None = None
    bootstrap_time: float | None = None
    tunnel: str | None = None
    openvpn_handshake: list[OpenVPNHandshake] | None = None
    tcp_connect: list[TCPConnect] | TCPConnect | None = None  # one object in 0.0.x
    network_events: list[dict[str, Any]] | None = None
    # 0.0.x (experimental) keys, as in the corpus's openvpn.json.
    provider: str | None = None
    vpn_protocol: str | None = None
    transport: str | None = None
    remote: str | None = None
    obfuscation: str | None = None
    last_handshake_transaction_id: int | None = None
    success_handshake: bool | None = None
    success_icmp: bool | None = None
    success_urlgrab: bool | None = None
    icmp_pings: list[dict[str, Any]] | None = None
    requests: list[HTTPTransaction] | None = None
    minivpn_version: str | None = None
    obfs4_version: str | None = None
