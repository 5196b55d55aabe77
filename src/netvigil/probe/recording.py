"""Recording each network step as an OONI observation (df-001/002/005/006/008).

Theory of operation: the probe records facts, not verdicts (DESIGN.md principle 1). Each
network step of `net/` returns the frozen record of what it saw; the probe stamps it with
its `transaction_id` and tags and keeps it in a :class:`Trace`, in the order the steps
completed: the DNS lookup with its answers and failure string, the TCP connect, the TLS
handshake, the HTTP round trip. `t0`/`t` are seconds since the measurement started
(df-000), read from the trace's clock, which the caller passes in so tests can drive time.
Each DNS lookup and each endpoint gets its own `transaction_id`, shared by the endpoint's
TCP, TLS and HTTP records (ts-017 v0.5; ooni.md §1.2), and every record carries the
`classic`, `depth=N` and `fetch_body=` tags OONI's analysis reads.

The HTTP record is built here, scrubbed before anything is encoded: the probe's own address
can come back in a body or a header (a "your IP is" page, a redirect carrying it). Scrubbing
runs on the raw bytes, *before* a non-UTF-8 body is base64-encoded (ooni.md §6 notes OONI's
text scrubber cannot see inside base64); the whole serialized measurement is scrubbed once
more when it is written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import msgspec

from netvigil.net.connect import Connection
from netvigil.net.http import Exchange
from netvigil.records import (
    DNSQuery,
    HeaderValue,
    HTTPRequest,
    HTTPResponse,
    HTTPTransaction,
    MaybeBinary,
    NetworkEvent,
    TCPConnect,
    TLSHandshake,
    TorInfo,
    maybe_binary,
)

Scrub = Callable[[bytes], bytes]
Step = TypeVar("Step", DNSQuery, TCPConnect, TLSHandshake, HTTPTransaction)


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

    def record(self, step: Step, transaction_id: int, step_tags: list[str]) -> None:
        """Keep a step's record, stamped with its transaction and tags."""
        stamped = msgspec.structs.replace(step, tags=step_tags, transaction_id=transaction_id)
        if isinstance(stamped, DNSQuery):
            self.queries.append(stamped)
        elif isinstance(stamped, TCPConnect):
            self.tcp_connect.append(stamped)
        elif isinstance(stamped, TLSHandshake):
            self.tls_handshakes.append(stamped)
        else:
            self.requests.append(stamped)

    def event(self, event: NetworkEvent, transaction_id: int, step_tags: list[str]) -> None:
        """Keep a df-008 network event of one endpoint, stamped as its steps are."""
        stamped = msgspec.structs.replace(event, tags=step_tags, transaction_id=transaction_id)
        self.network_events.append(stamped)

    def duplicate(self, reply: DNSQuery, transaction_id: int, step_tags: list[str]) -> None:
        """Keep a DNS reply that came after the first (`x_dns_duplicate_responses`)."""
        self.duplicate_replies.append(
            msgspec.structs.replace(reply, tags=step_tags, transaction_id=transaction_id)
        )


def no_scrub(data: bytes) -> bytes:
    return data


def _text(value: str, scrub: Scrub) -> str:
    return scrub(value.encode("utf-8", "surrogateescape")).decode("utf-8", "surrogateescape")


def http_record(
    url: str,
    connection: Connection,
    sent: list[tuple[str, str]],
    exchange: Exchange,
    failure: str | None,
    t0: float,
    t: float,
    scrub: Scrub,
) -> HTTPTransaction:
    """The df-001 transaction for one GET (`failure` may differ from the exchange's own),
    without tags or id: :meth:`Trace.record` adds them."""
    received = [(name, _text(value, scrub)) for name, value in exchange.headers]
    first: dict[str, HeaderValue] = {}
    for name, value in received:
        first.setdefault(name, value)
    response = None
    if exchange.status or exchange.failure is None:
        body: MaybeBinary = maybe_binary(scrub(exchange.body))
        response = HTTPResponse(
            code=exchange.status,
            headers=first,
            headers_list=[[name, value] for name, value in received],
            body=body,
            body_is_truncated=exchange.truncated,
        )
    return HTTPTransaction(
        network="tcp",
        address=connection.address,
        alpn="http/1.1" if connection.tls else "",
        failure=failure,
        request=HTTPRequest(
            url=url,
            method="GET",
            headers=dict(sent),
            headers_list=[[name, value] for name, value in sent],
            body="",
            body_is_truncated=False,
            tor=TorInfo(),
            x_transport="tcp",
        ),
        response=response or HTTPResponse(code=0, headers={}, headers_list=[], body=""),
        t0=t0,
        t=t,
    )
