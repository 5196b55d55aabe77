"""Test keys of the resolver nettests: `dnscheck` (ts-028) and `stunreachability` (ts-025).

Keys as OONI writes them (ooni/probe-cli internal/experiment/dnscheck/dnscheck.go v0.9.2,
stunreachability/stunreachability.go v0.4.0; ooni/spec nettests/ts-028-dnscheck.md and
ts-025-stun-reachability.md): dnscheck's `bootstrap` and each of its `lookups` are a
ts-027 urlgetter result (urlgetter TestKeys: `agent`, `failed_operation`, `failure`,
`network_events`, `queries`, `requests`, `tcp_connect`, `tls_handshakes`; its omitempty
keys `bootstrap_time`, `dns_cache`, `socksproxy`, `tunnel` are never set by dnscheck and
are left out). The corpus holds no full measurement of either nettest; the spec examples'
key sets are the reference (tests/probe/test_resolvers.py carries them as data).

Every field is defaulted and nullable where OONI's Go writes a nil slice or pointer as
`null` (df-000: consumers tolerate null or missing keys).
"""

from __future__ import annotations

from netvigil.records.base import Record
from netvigil.records.templates import (
    DNSQuery,
    HTTPTransaction,
    NetworkEvent,
    TCPConnect,
    TLSHandshake,
)

DNSCHECK = "dnscheck"
DNSCHECK_VERSION = "0.9.2"  # probe-cli dnscheck.go testVersion
STUNREACHABILITY = "stunreachability"
STUNREACHABILITY_VERSION = "0.4.0"  # probe-cli stunreachability.go testVersion


class URLGetterResult(Record, frozen=True):
    """A ts-027 urlgetter result: one lookup through one resolver endpoint, or a bootstrap."""

    agent: str = ""
    failed_operation: str | None = None
    failure: str | None = None
    network_events: list[NetworkEvent] | None = None
    queries: list[DNSQuery] | None = None
    requests: list[HTTPTransaction] | None = None
    tcp_connect: list[TCPConnect] | None = None
    tls_handshakes: list[TLSHandshake] | None = None


class DNSCheckKeys(Record, frozen=True):
    """ts-028 test keys. `lookups` maps a resolver URL with an address (`dot://8.8.4.4:853`,
    `https://1.1.1.1/dns-query`) to its lookup; `bootstrap` is null for an address input."""

    domain: str = ""
    bootstrap: URLGetterResult | None = None
    bootstrap_failure: str | None = None
    lookups: dict[str, URLGetterResult] | None = None
    x_default_addrs: str | None = None
    x_residual: bool | None = None


class STUNReachabilityKeys(Record, frozen=True):
    """ts-025 test keys. The server's reply (which carries the probe's own address) is never
    stored (ts-025 "Privacy considerations")."""

    endpoint: str = ""
    failure: str | None = None
    network_events: list[NetworkEvent] | None = None
    queries: list[DNSQuery] | None = None
