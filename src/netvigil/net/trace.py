"""Recording each network step as an OONI observation (df-001/002/005/006/008).

Theory of operation: the probe records facts, not verdicts (DESIGN.md principle 1). Every
step appends one frozen record to a :class:`Trace`: the DNS lookup with its answers and
failure string, the TCP connect, the TLS handshake, the HTTP round trip. `t0`/`t` are
seconds since the measurement started (df-000), read from a clock the caller passes in,
so tests can drive time. Each DNS lookup and each endpoint gets its own `transaction_id`,
shared by the endpoint's TCP, TLS and HTTP records (ts-017 v0.5; ooni.md §1.2), and every
record carries the `classic`, `depth=N` and `fetch_body=` tags OONI's analysis reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from netvigil.records import (
    DNSQuery,
    HTTPTransaction,
    NetworkEvent,
    TCPConnect,
    TLSHandshake,
)


def tags(*, depth: int, classic: bool = False, fetch_body: bool | None = None) -> list[str]:
    """The tags of one step, in OONI's order (`classic` first, `depth=N`, `fetch_body=`)."""
    out = ["classic"] if classic else []
    out.append(f"depth={depth}")
    if fetch_body is not None:
        out.append(f"fetch_body={'true' if fetch_body else 'false'}")
    return out


class Trace:
    """The observations of one measurement, in the order they completed."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._zero = clock()
        self._next_dns = 10_000
        self._next_endpoint = 40_000
        self.queries: list[DNSQuery] = []
        self.duplicate_replies: list[DNSQuery] = []
        self.tcp_connect: list[TCPConnect] = []
        self.tls_handshakes: list[TLSHandshake] = []
        self.requests: list[HTTPTransaction] = []
        self.network_events: list[NetworkEvent] = []

    def now(self) -> float:
        """Seconds since the measurement started (df-000 `t0`/`t`)."""
        return round(self._clock() - self._zero, 9)

    def dns_transaction(self) -> int:
        self._next_dns += 1
        return self._next_dns

    def endpoint_transaction(self) -> int:
        self._next_endpoint += 1
        return self._next_endpoint
