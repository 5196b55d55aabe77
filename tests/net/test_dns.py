"""DNS lookups return their df-002 records; late replies are kept; a bug raises."""

from __future__ import annotations

import asyncio
import socket

import dns.message
import pytest

from netvigil.net.dns import addresses_of, lookup_system, lookup_udp
from netvigil.net.fake import FakeNetwork, Replier, dns_answers
from netvigil.records import DNSQuery

RESOLVER = ("192.0.2.53", 53)


def test_the_system_resolver_as_one_any_query() -> None:
    network = FakeNetwork(names={"www.example.com": ["192.0.2.1", "2001:db8::1"]})
    query = asyncio.run(lookup_system(network, "www.example.com"))
    assert addresses_of(query) == ["192.0.2.1", "2001:db8::1"]
    assert [a.answer_type for a in query.answers or ()] == ["A", "AAAA"]
    assert (query.engine, query.query_type, query.failure) == ("getaddrinfo", "ANY", None)
    assert query.tags is None and query.transaction_id == 0  # the caller's to give


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (None, "dns_nxdomain_error"),  # a name the script does not know
        (socket.gaierror(socket.EAI_AGAIN, "again"), "dns_temporary_failure"),
        (socket.gaierror(socket.EAI_NODATA, "no data"), "dns_no_answer"),
    ],
)
def test_system_resolver_failures(error: Exception | None, failure: str) -> None:
    names = {} if error is None else {"www.example.com": error}
    query = asyncio.run(lookup_system(FakeNetwork(names=names), "www.example.com"))
    assert (query.failure, query.answers, addresses_of(query)) == (failure, None, [])


def test_a_bug_in_the_resolver_raises() -> None:
    network = FakeNetwork(names={"www.example.com": ValueError("bug")})
    with pytest.raises(ValueError, match="bug"):
        asyncio.run(lookup_system(network, "www.example.com"))


def udp(replier: Replier | Exception, query_type: str = "A") -> tuple[DNSQuery, list[DNSQuery]]:
    network = FakeNetwork(udp={RESOLVER: replier})
    ticks = iter([10.0, 11.0])
    return asyncio.run(
        lookup_udp(
            network,
            RESOLVER,
            "www.example.com",
            query_type,
            timeout=1,
            linger=0.5,
            clock=lambda: next(ticks),
        )
    )


def test_a_udp_answer() -> None:
    first, late = udp(dns_answers("192.0.2.1", "2001:db8::1"), "AAAA")
    assert addresses_of(first) == ["2001:db8::1"]
    assert (first.failure, first.rcode, first.engine, late) == (None, 0, "udp", [])
    assert first.resolver_address == "192.0.2.53:53" and first.raw_response


def test_an_injected_reply_first_and_the_genuine_one_later() -> None:
    injected, genuine = dns_answers("10.10.34.35", after=0.01), dns_answers("192.0.2.1", after=0.3)
    too_late = dns_answers("192.0.2.9", after=0.9)  # past the 0.5 s linger

    def censored(payload: bytes) -> list[tuple[float, bytes]]:
        return [*injected(payload), *genuine(payload), *too_late(payload)]

    first, late = udp(censored)
    assert addresses_of(first) == ["10.10.34.35"]
    assert [addresses_of(reply) for reply in late] == [["192.0.2.1"]]
    assert (first.t0, first.t, late[0].t) == (10.0, 10.01, 10.3)


def test_udp_failures() -> None:
    silent, _ = udp(lambda payload: [])
    assert silent.failure == "generic_timeout_error"
    refused, _ = udp(ConnectionRefusedError(111, "refused"))
    assert refused.failure == "connection_refused"
    nxdomain, _ = udp(dns_answers(rcode="NXDOMAIN"))
    assert (nxdomain.failure, nxdomain.rcode) == ("dns_nxdomain_error", 3)
    empty, _ = udp(dns_answers())
    assert empty.failure == "dns_no_answer"


def test_a_reply_to_another_query_is_a_wrong_query_id() -> None:
    def wrong_id(payload: bytes) -> list[tuple[float, bytes]]:
        response = dns.message.make_response(dns.message.from_wire(payload))
        response.id ^= 1
        return [(0.0, response.to_wire())]

    first, _ = udp(wrong_id)
    assert first.failure == "dns_reply_with_wrong_query_id"


def test_garbage_is_a_misbehaving_server() -> None:
    first, _ = udp(lambda payload: [(0.0, b"\x00garbage")])
    assert first.failure == "dns_server_misbehaving"


def test_a_bug_in_the_exchange_raises() -> None:
    with pytest.raises(RuntimeError):
        udp(RuntimeError("bug"))
