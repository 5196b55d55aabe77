"""DNS lookups as OONI records them: the system resolver, and DNS over UDP with late replies.

The wire format is dnspython's (`dns.message`); this module only decides what a reply
means (df-007: NXDOMAIN is `dns_nxdomain_error`, an empty answer `dns_no_answer`, ...) and
returns its df-002 record, timed by the caller's clock, for the caller to record with its
tags and `transaction_id`. Over UDP we keep listening after the first reply, because an
on-path censor's injected answer usually arrives first and the genuine one later
(ooni/spec tq-002 "second DNS reply"; ooni/probe-cli dnsoverudp.go keeps duplicates for
500 ms and stores them as `x_dns_duplicate_responses`).
"""

from __future__ import annotations

import base64
import random
import time
from collections.abc import Callable
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from netvigil.addresses import join_host_port
from netvigil.failures import Failure
from netvigil.net.backend import Backend
from netvigil.net.errors import map_failures
from netvigil.records import DNSAnswer, DNSQuery

_RCODE_FAILURES = {
    dns.rcode.NXDOMAIN: Failure.DNS_NXDOMAIN,
    dns.rcode.SERVFAIL: Failure.DNS_SERVFAIL,
    dns.rcode.REFUSED: Failure.DNS_REFUSED,
}


_NO_AS: dict[str, Any] = {"asn": 0, "as_org_name": ""}


def build_query(hostname: str, query_type: str) -> dns.message.QueryMessage:
    query = dns.message.make_query(hostname, query_type)
    query.id = random.SystemRandom().randrange(1 << 16)
    return query


def interpret(
    query: dns.message.QueryMessage, wire: bytes
) -> tuple[list[DNSAnswer], str | None, int | None]:
    """(answers, failure, rcode) of one reply to `query`; never raises on hostile bytes."""
    try:
        reply = dns.message.from_wire(wire)
    except dns.exception.DNSException:
        return [], Failure.DNS_SERVER_MISBEHAVING, None
    if reply.id != query.id or not reply.flags & dns.flags.QR:
        return [], Failure.DNS_WRONG_QUERY_ID, reply.rcode()
    rcode = reply.rcode()
    if rcode in _RCODE_FAILURES:
        return [], _RCODE_FAILURES[rcode], rcode
    if rcode != dns.rcode.NOERROR:
        return [], Failure.DNS_SERVER_MISBEHAVING, rcode
    answers = [answer for rrset in reply.answer for answer in _answers(rrset)]
    wanted = query.question[0].rdtype
    if not any(a.answer_type == dns.rdatatype.to_text(wanted) for a in answers):
        return answers, Failure.DNS_NO_ANSWER, rcode
    return answers, None, rcode


def _answers(rrset: dns.rrset.RRset) -> list[DNSAnswer]:
    kind = dns.rdatatype.to_text(rrset.rdtype)
    out = []
    for rdata in rrset:
        # asn 0 and an empty organisation: what OONI writes when it has no ASN database.
        if kind == "A":
            out.append(DNSAnswer(answer_type="A", ipv4=rdata.address, ttl=rrset.ttl, **_NO_AS))
        elif kind == "AAAA":
            out.append(DNSAnswer(answer_type="AAAA", ipv6=rdata.address, ttl=rrset.ttl, **_NO_AS))
        elif kind == "CNAME":
            target = str(rdata.target)
            out.append(DNSAnswer(answer_type="CNAME", hostname=target, ttl=rrset.ttl, **_NO_AS))
    return out


def addresses_of(query: DNSQuery) -> list[str]:
    """The A and AAAA addresses of a lookup's answers, in the order they came."""
    return [a.ipv4 or a.ipv6 or "" for a in query.answers or () if a.answer_type in ("A", "AAAA")]


async def lookup_system(
    backend: Backend, hostname: str, *, clock: Callable[[], float] = time.monotonic
) -> DNSQuery:
    """The system resolver (getaddrinfo by default), as one `ANY` query (df-002)."""
    t0 = clock()
    addresses: list[str] = []
    with map_failures() as caught:
        addresses = await backend.resolve(hostname)
    answers = [
        DNSAnswer(answer_type="AAAA", ipv6=a, **_NO_AS)
        if ":" in a
        else DNSAnswer(answer_type="A", ipv4=a, **_NO_AS)
        for a in addresses
    ]
    return DNSQuery(
        answers=answers or None,
        engine=backend.system_engine,
        failure=caught.failure,
        hostname=hostname,
        query_type="ANY",
        resolver_address="",
        t0=t0,
        t=clock(),
    )


async def lookup_udp(
    backend: Backend,
    server: tuple[str, int],
    hostname: str,
    query_type: str,
    *,
    timeout: float = 4.0,
    linger: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[DNSQuery, list[DNSQuery]]:
    """One query over UDP to `server`: the record of its first reply (or of its failure),
    and those of the late or duplicate replies, kept as evidence."""
    t0 = clock()
    query = build_query(hostname, query_type)
    common: dict[str, Any] = {
        "engine": "udp",
        "hostname": hostname,
        "query_type": query_type,
        "resolver_address": join_host_port(*server),
    }
    replies: list[tuple[float, bytes]] = []
    with map_failures() as caught:
        replies = await backend.exchange_udp(server, query.to_wire(), timeout, linger)
    if not replies:
        silent = caught.failure or Failure.GENERIC_TIMEOUT  # silence until the deadline
        return DNSQuery(failure=silent, t0=t0, t=clock(), **common), []
    records = []
    for after, wire in replies:
        answers, failure, rcode = interpret(query, wire)
        records.append(
            DNSQuery(
                answers=answers or None,
                failure=failure,
                raw_response=base64.b64encode(wire).decode(),
                rcode=rcode,
                t0=t0,
                t=round(t0 + after, 9),
                **common,
            )
        )
    return records[0], records[1:]
