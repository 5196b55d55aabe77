"""One model of a web_connectivity measurement, decoded once and read by both engines.

A measurement is a set of traces (DNS lookups, TCP connects, TLS handshakes, HTTP round
trips) joined by `transaction_id`, plus the test helper's view of the same URL. `observe`
(:mod:`netvigil.analysis.observe`) reads the test keys once into these records:

- :class:`ObservedLookup`, one per query, as written (tags and failures not defaulted);
- :class:`ObservedEndpoint`, one per TCP endpoint, with the TLS handshake and the HTTP
  request of its transaction joined to it and the furthest step it reached (TCP, then TLS,
  then HTTP), beside what the test helper saw of the same endpoint;
- :class:`ObservedHTTP`, one per request, its response read once (text, title, headers);
- :class:`ObservedControl`, the test helper's answer.

The classic engine (:mod:`netvigil.analysis.classic`) walks every record as OONI's
minipipeline does (ooni/probe-cli internal/minipipeline, observation.go). The layered rules
read "the path": what the system resolver and the page fetch saw (the user's experience,
ts-017's "classic" observations). Connections to addresses only the test helper found, and
connectivity-only checks, are kept aside as `extra_endpoints`: a validated TLS handshake
there vouches for an address (`trust.py`), but they never decide a verdict (ts-017 E005).

Web Connectivity v0.5 tags every step (`depth=N`, `fetch_body=`) and joins the steps of one
connection by `transaction_id`; v0.4 and Measurement Kit probes (0.0.1–0.4.x) do neither:
their `tcp_connect` list is the connectivity check, their `requests` list is the redirect
chain, newest first (df-001). On the path both read the same (`legacy` says which it was),
so the rules rarely branch on the probe's version.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum

import msgspec

from netvigil.addresses import REAL_WORLD, Bogons


class Kind(IntEnum):
    """How far a connection got (the order matters: the classic walk sorts by it)."""

    DNS = 0
    TCP = 1
    TLS = 2
    HTTP = 3


ORIGIN_DNS = "dns"  # the address came from one of the probe's lookups
ORIGIN_TH = "th"  # only the test helper's resolver knew the address

# The system resolver's engines. OONI's v0.5 writes getaddrinfo or golang_net_resolver; our
# probe writes "system" when it resolves through an in-process stub resolver (the lab's
# configuration; see net/backend.py), the df-002 name older probes used for the same role.
CLASSIC_ENGINES = frozenset(("getaddrinfo", "golang_net_resolver", "system"))


class ObservedLookup(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    index: int  # position in `queries`, the witness
    transaction_id: int
    hostname: str
    engine: str  # as written ("" when absent)
    query_type: str
    depth: int  # the `depth=` tag; 0 when untagged
    tagged: bool  # the tag was written (OONI's classic walk ranks untagged lookups last)
    failure: str | None  # None: the resolver answered
    addrs: frozenset[str]  # the A and AAAA answers


class ObservedEndpoint(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    kind: Kind  # the furthest step the connection reached
    failure: str  # that step's failure ("" = success)
    transaction_id: int
    depth: int | None  # the `depth=` tag
    fetch_body: bool | None  # the `fetch_body=` tag: False for connectivity-only checks
    origin: str | None  # ORIGIN_DNS, ORIGIN_TH, or None (e.g. an IP in the URL)
    ip: str
    endpoint: str  # "ip:port", as the control's maps are keyed
    connected: bool  # `status.success`, as written
    tcp_failure: str
    tls_failure: str | None  # None: no handshake was attempted
    tls_server_name: str | None
    http_failure: str | None  # None: no request was sent
    request: int | None  # position in `requests` of the request of this transaction
    # What the test helper saw of the same endpoint (None: nothing to compare with).
    ctrl_tcp_failure: str | None
    ctrl_tls_failure: str | None


class ObservedHTTP(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    index: int  # position in `requests`
    url: str
    depth: int  # the redirect depth: the `depth=` tag, or for legacy probes the chain's order
    transaction_id: int
    fetch_body: bool | None  # the `fetch_body=` tag
    over_tls: bool
    failure: str | None  # None: the round trip completed
    responded: bool  # a response was recorded
    status: int  # 0 when no response arrived
    body: str
    body_length: int  # of `body` in UTF-8
    wire_length: int  # of the body as received (OONI's classic diff counts these bytes)
    truncated: bool
    headers: dict[str, str]  # lower-case names, their text
    header_names: frozenset[str]  # as the server spelled them
    title: str

    @property
    def final(self) -> bool:
        """2xx, 4xx and 5xx end a redirect chain (minipipeline/utils.go)."""
        return not self.failure and self.status // 100 in (2, 4, 5)


class ObservedControl(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    domain: str
    dns_failure: str | None  # as written; None also when the answer has no `dns` part
    dns_addrs: frozenset[str]
    http_answered: bool  # the answer has an `http_request` part
    http_failure: str | None  # as written
    http_status: int
    http_body_length: int
    http_title: str
    http_headers: frozenset[str]
    ip_flags: dict[str, int]  # ooni.md §2: 1 probe, 2 TH, 4 bogon, 8 valid for domain

    @property
    def page_failure(self) -> str:
        """Why the control's own fetch failed: "" when it did not, "unknown_error" when the
        answer has no `http_request` part (then there is no page to compare with)."""
        return (self.http_failure or "") if self.http_answered else "unknown_error"


class Observed(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    url: str
    domain: str
    legacy: bool
    # Every record, in the order of the test keys.
    all_lookups: tuple[ObservedLookup, ...]
    all_endpoints: tuple[ObservedEndpoint, ...]
    requests: tuple[ObservedHTTP, ...]
    # The path (see the module's docstring).
    lookups: tuple[ObservedLookup, ...]
    endpoints: tuple[ObservedEndpoint, ...]
    extra_endpoints: tuple[ObservedEndpoint, ...]
    http: tuple[ObservedHTTP, ...]  # oldest first
    # The control every verdict compares with; None when the test helper gave none usable.
    control: ObservedControl | None
    # The test helper's answer as recorded, also one `control_failure` says is unusable: the
    # classic keys read it as OONI's code did.
    answer: ObservedControl | None
    control_requested: bool  # the probe recorded its request to the test helper
    control_failure: str | None
    dns_experiment_failure: str | None  # as the probe wrote it (v0.4's keys start from it)
    asns: Mapping[str, int]
    bogon: Bogons = REAL_WORLD


def system_lookups(lookups: tuple[ObservedLookup, ...], legacy: bool) -> tuple[ObservedLookup, ...]:
    """The system resolver's lookups (UDP, DoH and DoT ones only corroborate, via endpoints);
    legacy probes name their resolver differently, so only those three are set aside."""
    return tuple(
        lookup
        for lookup in lookups
        if (lookup.engine or "system") in CLASSIC_ENGINES
        or (legacy and lookup.engine not in ("udp", "doh", "dot"))
    )


def classic_endpoints(
    endpoints: tuple[ObservedEndpoint, ...], system_addresses: frozenset[str]
) -> tuple[ObservedEndpoint, ...]:
    """The endpoints a v0.4 probe would have measured (minipipeline ClassicFilter)."""
    kept = []
    for obs in endpoints:
        if obs.origin == ORIGIN_TH:
            continue  # ts-017 E005: TH-only addresses stay out of the classic verdict
        if obs.origin == ORIGIN_DNS and obs.ip not in system_addresses:
            continue  # found by another resolver (UDP, DoH)
        if not obs.fetch_body:
            continue  # connectivity-only checks (E001)
        kept.append(obs)
    return tuple(kept)
