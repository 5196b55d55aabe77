"""web_connectivity test keys (ts-017) and the test helper's control (ooni.md §2)."""

from __future__ import annotations

from typing import Any

from netvigil.records.base import HeaderValue, Record
from netvigil.records.templates import (
    DNSQuery,
    HTTPTransaction,
    NetworkEvent,
    TCPConnect,
    TLSHandshake,
)

# --- the test helper's control (ooni.md §2, THRequest / THResponse) ----------------------


class ControlTCPConnect(Record, frozen=True):
    status: bool | None = None
    failure: str | None = None


class ControlTLSHandshake(Record, frozen=True):
    server_name: str | None = None
    status: bool | None = None
    failure: str | None = None


class ControlHTTPRequest(Record, frozen=True):
    body_length: int | None = None
    failure: str | None = None
    title: str | None = None
    headers: dict[str, HeaderValue] | None = None
    status_code: int | None = None
    discovered_h3_endpoint: str | None = None


class ControlDNS(Record, frozen=True):
    failure: str | None = None
    addrs: list[str] | None = None


class ControlIPInfo(Record, frozen=True):
    asn: int | None = None
    flags: int | None = None


class ControlResponse(Record, frozen=True):
    tcp_connect: dict[str, ControlTCPConnect] | None = None
    tls_handshake: dict[str, ControlTLSHandshake] | None = None
    quic_handshake: dict[str, ControlTLSHandshake] | None = None
    http_request: ControlHTTPRequest | None = None
    http3_request: ControlHTTPRequest | None = None
    dns: ControlDNS | None = None
    ip_info: dict[str, ControlIPInfo] | None = None


class ControlRequest(Record, frozen=True):
    http_request: str = ""
    http_request_headers: dict[str, list[str]] | None = None
    tcp_connect: list[str] | None = None
    x_quic_enabled: bool | None = None


# --- web_connectivity (ts-017) -----------------------------------------------------------


class SecondaryTrace(Record, frozen=True):
    """`x_doh` / `x_do53`: the traces of extra resolvers, kept apart from the classic ones."""

    queries: list[DNSQuery] | None = None
    network_events: list[NetworkEvent] | None = None
    tcp_connect: list[TCPConnect] | None = None
    tls_handshakes: list[TLSHandshake] | None = None
    requests: list[HTTPTransaction] | None = None


class WebConnectivityKeys(Record, frozen=True):
    # Observations.
    queries: list[DNSQuery] | None = None
    tcp_connect: list[TCPConnect] | None = None
    tls_handshakes: list[TLSHandshake] | None = None
    requests: list[HTTPTransaction] | None = None
    network_events: list[NetworkEvent] | None = None
    x_dns_duplicate_responses: list[DNSQuery] | None = None
    x_doh: SecondaryTrace | None = None
    x_do53: SecondaryTrace | None = None
    client_resolver: str | None = None
    agent: str | None = None
    retries: int | None = None
    socksproxy: str | None = None
    x_dns_whoami: dict[str, Any] | None = None
    x_conn_priority_log: list[dict[str, Any]] | None = None
    # Control.
    x_control_request: ControlRequest | None = None
    control: ControlResponse | None = None
    control_failure: str | None = None
    # Failures summarised by the probe.
    dns_experiment_failure: str | None = None
    http_experiment_failure: str | None = None
    # The probe's own verdict keys (kept, never trusted: verdicts are recomputed).
    dns_consistency: str | None = None
    body_proportion: float | None = None
    body_length_match: bool | None = None
    headers_match: bool | None = None
    status_code_match: bool | None = None
    title_match: bool | None = None
    blocking: str | bool | None = None
    accessible: bool | None = None
    x_blocking_flags: int | None = None
    x_dns_flags: int | None = None
    x_null_null_flags: int | None = None
