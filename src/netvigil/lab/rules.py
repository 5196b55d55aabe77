"""What the lab's censor does, as data: one record per technique, read from the scenario table.

The censor is a router namespace between the probe's and the servers' (docs/design/011-lab.md).
Each rule names one technique governments use (ooni.md §1.5, reliability.md §4.3 and §5,
shutdowns.md §7) and its parameters, never how it is carried out: lab/censor.py turns rules
into nftables/iptables rulesets and tc qdiscs, or into the censor's own small servers (a
forging DNS proxy, a blockpage injector, a TLS interceptor). Keeping the two apart lets the
table be checked without root and lets a technique change its mechanism without a table edit.

Names are host names or addresses of the lab's own world (lab/topology.py); nothing routes
past the three namespaces, so no rule can reach another network.
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "Blackout",
    "DNSAnswer",
    "DNSInjection",
    "Drop",
    "HTTPBlockpage",
    "HTTPHostReset",
    "Loss",
    "OneWayCut",
    "Reset",
    "Rule",
    "TLSIntercept",
    "TLSSNIBlock",
    "Throttle",
]


class _Rule(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="kind"
):
    """Every rule; `kind` (the tag) names the technique."""


class DNSAnswer(_Rule, frozen=True, tag="dns_answer"):
    """The censor answers queries for `domain` itself (the real resolver never sees them):
    NXDOMAIN, SERVFAIL, REFUSED, or A records (a bogon such as 10.10.34.35, a blockpage IP)."""

    domain: str
    rcode: Literal["NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED"] = "NOERROR"
    addresses: tuple[str, ...] = ()


class DNSInjection(_Rule, frozen=True, tag="dns_injection"):
    """A forged reply for `domain` races the real one, which is let through `delay` seconds
    later (the probe must keep both: ooni/spec tq-002's second reply)."""

    domain: str
    addresses: tuple[str, ...]
    delay: float = 0.5


class Drop(_Rule, frozen=True, tag="drop"):
    """Packets to `address` (and `port`, TCP or UDP) are dropped: a black hole."""

    address: str
    port: int | None = None
    protocol: Literal["tcp", "udp"] = "tcp"


class Reset(_Rule, frozen=True, tag="reset"):
    """Connects to `address`:`port` are answered with a TCP RST by the censor."""

    address: str
    port: int


class HTTPHostReset(_Rule, frozen=True, tag="http_host_reset"):
    """A cleartext HTTP request whose Host header names `host` is reset."""

    host: str


class HTTPBlockpage(_Rule, frozen=True, tag="http_blockpage"):
    """Cleartext HTTP to `host` gets the censor's page (`status`, `body`) instead of the site's."""

    host: str
    status: int = 200
    body: str = "<html><body><h1>Access denied</h1></body></html>"


class TLSSNIBlock(_Rule, frozen=True, tag="tls_sni"):
    """A TLS ClientHello whose SNI is `sni` is reset, dropped, or held until the probe's
    deadline (`timeout`: the connection is kept, no byte passes)."""

    sni: str
    action: Literal["reset", "drop", "timeout"] = "reset"


class TLSIntercept(_Rule, frozen=True, tag="tls_intercept"):
    """TLS to `sni` is terminated by the censor with a certificate from its own CA (`issuer`,
    the CA's common name), unknown to the probe."""

    sni: str
    issuer: str = "Censor CA"


class Throttle(_Rule, frozen=True, tag="throttle"):
    """Traffic towards the client is shaped to `rate_kbit`: all of it (tc tbf), or only what
    comes from `host`'s address (tc htb and a u32 filter), as a censor slows one service
    (Roskomnadzor's 2021 throttling of Twitter's hosts, ooni.md §1.5) and not the whole link,
    which would slow the probe's control request as well."""

    rate_kbit: int
    host: str | None = None


class Loss(_Rule, frozen=True, tag="loss"):
    """A share `percent` of packets in both directions is dropped at random."""

    percent: int


class OneWayCut(_Rule, frozen=True, tag="one_way_cut"):
    """Everything in one direction is dropped: `upstream` (client to servers) or `downstream`."""

    direction: Literal["upstream", "downstream"]


class Blackout(_Rule, frozen=True, tag="blackout"):
    """Nothing is forwarded at all (a shutdown). `devices_dark` says the servers' side is down
    too (a power cut, not a government shutdown: the detector must call it an outage)."""

    devices_dark: bool = False


Rule = (
    DNSAnswer
    | DNSInjection
    | Drop
    | Reset
    | HTTPHostReset
    | HTTPBlockpage
    | TLSSNIBlock
    | TLSIntercept
    | Throttle
    | Loss
    | OneWayCut
    | Blackout
)
