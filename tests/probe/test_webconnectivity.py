"""Web Connectivity on the fake network: what each step records, and that a bug raises."""

from __future__ import annotations

import asyncio

import pytest

from netvigil.failures import NO_TEST_HELPER, TOO_MANY_REDIRECTS, Failure
from netvigil.net.fake import FakeNetwork, dns_answers, http_response
from netvigil.probe.recording import Trace
from netvigil.probe.runner import RunConfig, run
from netvigil.probe.webconnectivity import MAX_REDIRECTS, Settings, measure
from netvigil.records import WebConnectivityKeys, WebMeasurement

SITE = "192.0.2.1"
NAMES = {"www.example.com": [SITE]}
PAGE = http_response(200, b"<html><title>Example</title></html>")
RESOLVER = ("192.0.2.53", 53)


def measured(network: FakeNetwork, url: str = "http://www.example.com/") -> WebConnectivityKeys:
    keys, helper = asyncio.run(measure(url, network, Settings(connect_timeout=1), Trace()))
    assert helper is None
    return keys


def test_every_step_is_recorded_with_its_transaction_and_tags() -> None:
    keys = measured(FakeNetwork(names=NAMES, endpoints={(SITE, 80): PAGE}))
    [query] = keys.queries or []
    assert (query.transaction_id, query.tags, query.failure) == (
        10_001,
        ["classic", "depth=0"],
        None,
    )
    by_port = {tcp.port: tcp for tcp in keys.tcp_connect or []}
    assert sorted(by_port) == [80, 443]  # 443: the E001 connectivity check, refused here
    assert by_port[80].tags == ["classic", "depth=0", "fetch_body=true"]
    assert by_port[443].tags == ["classic", "depth=0", "fetch_body=false"]
    assert by_port[443].status.failure == "connection_refused"
    assert {tcp.transaction_id for tcp in by_port.values()} == {40_001, 40_002}
    [request] = keys.requests or []
    assert request.response is not None and request.response.code == 200
    assert (request.transaction_id, request.tags) == (by_port[80].transaction_id, by_port[80].tags)
    assert keys.tls_handshakes == []
    assert keys.control_failure == NO_TEST_HELPER


def test_udp_lookups_and_their_late_replies_are_recorded() -> None:
    injected, genuine = dns_answers("10.10.34.35"), dns_answers(SITE, after=0.2)

    def censored(payload: bytes) -> list[tuple[float, bytes]]:
        return [*injected(payload), *genuine(payload)]

    network = FakeNetwork(names=NAMES, endpoints={(SITE, 80): PAGE}, udp={RESOLVER: censored})
    settings = Settings(resolver=RESOLVER, connect_timeout=1)
    keys, _ = asyncio.run(measure("http://www.example.com/", network, settings, Trace()))
    udp = [q for q in keys.queries or [] if q.engine == "udp"]
    assert [(q.query_type, q.tags) for q in udp] == [("A", ["depth=0"]), ("AAAA", ["depth=0"])]
    late = keys.x_dns_duplicate_responses or []  # each query had a second reply
    assert [(q.query_type, q.transaction_id) for q in late] == [
        (q.query_type, q.transaction_id) for q in udp
    ]
    assert [q.answers[0].ipv4 for q in late if q.answers] == [SITE]


@pytest.mark.parametrize("location", ["http://www.example.com:99999/", "http://[x/", "ftp://x/"])
def test_a_redirect_to_an_unusable_location_is_the_server_s_failure(location: str) -> None:
    moved = http_response(302, headers=[("Location", location)])
    network = FakeNetwork(names=NAMES, endpoints={(SITE, 80): moved})
    [request] = measured(network).requests or []
    assert request.failure == Failure.HTTP_INVALID_REDIRECT_LOCATION_HOST
    assert network.resolved == ["www.example.com"]  # and nothing after it


def test_a_redirect_loop_stops_after_ten() -> None:
    loop = http_response(302, headers=[("Location", "/again")])
    keys = measured(FakeNetwork(names=NAMES, endpoints={(SITE, 80): loop}))
    requests = keys.requests or []
    assert len(requests) == MAX_REDIRECTS + 1
    assert requests[0].failure == TOO_MANY_REDIRECTS  # newest first
    assert [r.tags for r in requests][-1] == ["classic", "depth=0", "fetch_body=true"]


BUGS: list[tuple[FakeNetwork, Settings, type[Exception]]] = [
    (
        FakeNetwork(names=NAMES, endpoints={(SITE, 80): RuntimeError("bug")}),
        Settings(),
        RuntimeError,
    ),
    (FakeNetwork(names={"www.example.com": ValueError("bug")}), Settings(), ValueError),
    (
        FakeNetwork(names=NAMES, endpoints={(SITE, 80): PAGE}, udp={RESOLVER: TypeError("bug")}),
        Settings(resolver=RESOLVER),
        TypeError,
    ),
]


@pytest.mark.parametrize(("network", "settings", "bug"), BUGS, ids=["connect", "resolve", "udp"])
def test_a_bug_raises_out_of_the_measurement_instead_of_becoming_data(
    network: FakeNetwork, settings: Settings, bug: type[Exception]
) -> None:
    with pytest.raises(BaseExceptionGroup) as raised:
        asyncio.run(measure("http://www.example.com/", network, settings, Trace()))
    assert raised.group_contains(bug)


def test_a_bug_ends_the_run_and_writes_nothing() -> None:
    network = FakeNetwork(names=NAMES, endpoints={(SITE, 80): KeyError("bug")})
    written: list[WebMeasurement] = []
    config = RunConfig(settings=Settings())
    with pytest.raises(BaseExceptionGroup) as raised:
        asyncio.run(run(["http://www.example.com/"], network, config, written.append))
    assert raised.group_contains(KeyError)
    assert written == []
