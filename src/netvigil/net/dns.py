"""DNS lookups as OONI records them: the system resolver, and DNS over UDP with late replies.

The wire format is dnspython's (`dns.message`); this module only decides what a reply
means (df-007: NXDOMAIN is `dns_nxdomain_error`, an empty answer `dns_no_answer`, ...) and
records it (df-002). Over UDP we keep listening after the first reply, because an on-path
censor's injected answer usually arrives first and the genuine one later (ooni/spec
tq-002 "second DNS reply"; ooni/probe-cli dnsoverudp.go keeps duplicates for 500 ms and
stores them as `x_dns_duplicate_responses`).
"""

from __future__ import annotations

import base64
import random
from collections.abc import Sequence
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from netvigil.failures import Failure, failure_of
from netvigil.net.backend import Backend
from netvigil.net.trace import Trace, tags
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


async def lookup_system(backend: Backend, trace: Trace, hostname: str, depth: int) -> list[str]:
    """The system resolver (getaddrinfo by default), recorded as one `ANY` query (df-002)."""
    tx, t0 = trace.dns_transaction(), trace.now()
    failure: str | None = None
    addresses: list[str] = []
    try:
        addresses = await backend.resolve(hostname)
    except Exception as exc:  # every failure becomes a df-007 string
        failure = failure_of(exc)
    answers = [
        DNSAnswer(answer_type="AAAA", ipv6=a, **_NO_AS)
        if ":" in a
        else DNSAnswer(answer_type="A", ipv4=a, **_NO_AS)
        for a in addresses
    ]
    trace.queries.append(
        DNSQuery(
            answers=answers or None,
            engine=backend.system_engine,
            failure=failure,
            hostname=hostname,
            query_type="ANY",
            resolver_address="",
            t0=t0,
            t=trace.now(),
            tags=tags(depth=depth, classic=True),
            transaction_id=tx,
        )
    )
    return addresses


async def lookup_udp(
    backend: Backend,
    trace: Trace,
    server: tuple[str, int],
    hostname: str,
    depth: int,
    query_types: Sequence[str] = ("A", "AAAA"),
    *,
    timeout: float = 4.0,
    linger: float = 0.5,
) -> list[str]:
    """A and AAAA over UDP to `server`; late or duplicate replies are kept as evidence."""
    found: list[str] = []
    for query_type in query_types:
        tx, t0 = trace.dns_transaction(), trace.now()
        query = build_query(hostname, query_type)
        address = f"[{server[0]}]:{server[1]}" if ":" in server[0] else f"{server[0]}:{server[1]}"
        try:
            replies = await backend.exchange_udp(server, query.to_wire(), timeout, linger)
        except Exception as exc:
            replies, silent_failure = [], failure_of(exc)
        else:
            silent_failure = Failure.GENERIC_TIMEOUT
        if not replies:
            trace.queries.append(
                DNSQuery(
                    engine="udp",
                    failure=silent_failure,
                    hostname=hostname,
                    query_type=query_type,
                    resolver_address=address,
                    t0=t0,
                    t=trace.now(),
                    tags=tags(depth=depth),
                    transaction_id=tx,
                )
            )
            continue
        for position, (after, wire) in enumerate(replies):
            answers, failure, rcode = interpret(query, wire)
            record = DNSQuery(
                answers=answers or None,
                engine="udp",
                failure=failure,
                hostname=hostname,
                query_type=query_type,
                resolver_address=address,
                raw_response=base64.b64encode(wire).decode(),
                rcode=rcode,
                t0=t0,
                t=round(t0 + after, 9),
                tags=tags(depth=depth),
                transaction_id=tx,
            )
            if position == 0:
                trace.queries.append(record)
                found += [a.ipv4 or a.ipv6 or "" for a in answers if a.answer_type in ("A", "AAAA")]
            else:
                trace.duplicate_replies.append(record)
    return found
