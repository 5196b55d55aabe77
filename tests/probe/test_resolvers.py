"""dnscheck, stunreachability and whoami measured against loopback servers, then judged.

Each test runs the probe's nettest against real servers on 127.0.0.1 (tests/probe/
resolver_lab.py: the lab DNS server over UDP, framed DNS over TCP and TLS, DoH over HTTPS
with the lab CA, a STUN responder), in a working and a blocked variant, and checks the
measurement's facts and the verdict the analysis gives it. The probe's backend refuses
every destination outside 127.0.0.0/8 (world.CensoredBackend), as a network that drops it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import msgspec
import pytest

from netvigil.addresses import Bogons
from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.resolvers import analyse_dnscheck
from netvigil.analysis.stunreachability import analyse_stun
from netvigil.analysis.verdicts import Layer, Outcome, Verdict
from netvigil.lab.ca import TestCA
from netvigil.lab.dnsserver import Answer, serve_dns
from netvigil.lab.webserver import server_tls_context
from netvigil.probe.dnscheck import DNSCheck
from netvigil.probe.nettest import Context, EndpointError, Endpoints, Settings
from netvigil.probe.recording import Trace
from netvigil.probe.report import Location, nettest_envelope
from netvigil.probe.stun import STUNReachability
from netvigil.probe.whoami import learn_resolver, with_client_resolver, with_resolver
from netvigil.records import Measurement, Record, WebConnectivityKeys
from netvigil.records.resolvers import DNSCheckKeys, STUNReachabilityKeys
from netvigil.scrub import Scrubber
from tests.probe.keyset import missing_or_different
from tests.probe.resolver_lab import LIE, DoHServer, StreamDNS, running, stun_server
from tests.probe.world import CensoredBackend

T = TypeVar("T")
LAB = Bogons.with_lab(["127.0.0.0/8"])  # loopback plays the public Internet here
EXAMPLE_ORG = "93.184.215.14"  # the answer the honest resolvers give (data, never contacted)
NAME = "dns.lab.test"
SYSTEM_ZONE = {
    NAME: Answer(addresses=("127.0.0.1",)),
    "stun.lab.test": Answer(addresses=("127.0.0.1",)),
    "whoami.v4.powerdns.org": Answer(addresses=("198.51.100.53",)),
}
ZONE = {"example.org": EXAMPLE_ORG}
QUICK = Settings(connect_timeout=1.0, tls_timeout=2.0, http_timeout=1.0, dns_timeout=0.5)
FINGERPRINTS = FingerprintDB([], [])


def run(work: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(60):
            return await work()

    return asyncio.run(bounded())


async def _measure(
    nettest: DNSCheck | STUNReachability,
    input: str | None,
    *,
    blackholes: set[tuple[str, int]] | None = None,
    ca: TestCA | None = None,
    endpoints: tuple[str, ...] = (),
) -> Measurement:
    system = await serve_dns(SYSTEM_ZONE)
    try:
        ctx = Context(
            backend=CensoredBackend(("127.0.0.1", system.port), blackholes or set()),
            trace=Trace(),
            endpoints=Endpoints.parse(endpoints),
            settings=dataclasses.replace(QUICK, ca_file=str(ca.cert_file)) if ca else QUICK,
        )
        keys = await nettest.measure(input, ctx)
    finally:
        assert system.transport is not None
        system.transport.close()
    return _envelope(nettest.name, nettest.version, input, keys)


def _envelope(name: str, version: str, input: str | None, keys: Record) -> Measurement:
    now = dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC)
    return nettest_envelope(
        name,
        version,
        input,
        keys,
        location=Location(),
        report="r",
        started=now,
        test_started=now,
        runtime=0.1,
    )


def _dnscheck(measurement: Measurement) -> tuple[DNSCheckKeys, Verdict]:
    keys = msgspec.json.decode(measurement.test_keys, type=DNSCheckKeys)
    return keys, analyse_dnscheck(measurement, FINGERPRINTS, LAB)


def _tls(folder: Path) -> tuple[TestCA, Any]:
    # A folder per CA: the probe caches one TLS context per CA file path (net/connect.py).
    folder.mkdir(parents=True, exist_ok=True)
    ca = TestCA(folder, now=dt.datetime.now(dt.UTC))
    leaf = ca.issue(NAME, "127.0.0.1")
    return ca, server_tls_context(str(leaf.cert_file), str(leaf.key_file))


@pytest.mark.parametrize(
    ("zone_answer", "expected"),
    [
        (Answer(addresses=(EXAMPLE_ORG,)), (None, Outcome.OK, "dnscheck.lookup_ok")),
        (Answer(addresses=(LIE,)), ("dns_bogon_error", Outcome.BLOCKED, "dnscheck.lookup_bogon")),
        (
            Answer(silent=True),
            ("generic_timeout_error", Outcome.INSUFFICIENT, "dnscheck.udp_no_reply"),
        ),
    ],
    ids=["honest", "lying", "black-hole"],
)
def test_do53_over_udp(zone_answer: Answer, expected: tuple[str | None, Outcome, str]) -> None:
    async def scenario() -> Measurement:
        resolver = await serve_dns({"example.org": zone_answer})
        try:
            # no input: the resolver and the name come from --endpoint, as on the command line
            given = (f"resolver=udp://127.0.0.1:{resolver.port}", "domain=example.org")
            return await _measure(DNSCheck(bogon=LAB), None, endpoints=given)
        finally:
            assert resolver.transport is not None
            resolver.transport.close()

    keys, verdict = _dnscheck(run(scenario))
    assert keys.bootstrap is None and keys.domain == "example.org"
    (lookup,) = (keys.lookups or {}).values()
    engines = [(q.engine, q.query_type) for q in lookup.queries or ()]
    assert engines == [("udp", "A"), ("udp", "AAAA")]
    assert (lookup.failure, verdict.outcome, verdict.rule) == expected


def test_do53_over_tcp_honest_then_reset() -> None:
    async def scenario(behaviour: str) -> Measurement:
        server = StreamDNS(ZONE, behaviour)
        async with running(server) as port:
            return await _measure(DNSCheck(bogon=LAB), f"tcp://127.0.0.1:{port}")

    keys, verdict = _dnscheck(run(lambda: scenario("honest")))
    (lookup,) = (keys.lookups or {}).values()
    a = (lookup.queries or [])[0]
    assert (a.engine, [x.ipv4 for x in a.answers or ()], len(lookup.tcp_connect or ())) == (
        "tcp",
        [EXAMPLE_ORG],
        2,  # one connection per query, as OONI's netxlite
    )
    assert (verdict.outcome, verdict.layers[0].layer) == (Outcome.OK, Layer.TCP)
    keys, verdict = _dnscheck(run(lambda: scenario("reset")))
    (lookup,) = (keys.lookups or {}).values()
    assert (lookup.failure, lookup.failed_operation) == ("connection_reset", "read")
    assert (verdict.outcome, verdict.layer, verdict.rule) == (
        Outcome.BLOCKED,
        Layer.TCP,
        "dnscheck.round_trip_interrupted",
    )


def _dot(
    tmp_path: Path, behaviour: str, *, blackhole: bool = False, trust: bool = True
) -> Measurement:
    async def scenario() -> Measurement:
        ca, tls = _tls(tmp_path)
        server = StreamDNS(ZONE, behaviour, tls=tls)
        async with running(server) as port:
            other = (
                TestCA(tmp_path / "other", now=ca.now, name="a middlebox CA") if not trust else ca
            )
            holes = {("127.0.0.1", port)} if blackhole else set()
            return await _measure(
                DNSCheck(bogon=LAB), f"dot://{NAME}:{port}", blackholes=holes, ca=other
            )

    (tmp_path / "other").mkdir(exist_ok=True)
    return run(scenario)


def test_dot_through_a_bootstrapped_name_is_ok_and_keyed_by_address(tmp_path: Path) -> None:
    measurement = _dot(tmp_path, "honest")
    keys, verdict = _dnscheck(measurement)
    assert keys.bootstrap_failure is None
    assert [q.hostname for q in (keys.bootstrap.queries if keys.bootstrap else None) or ()] == [
        NAME
    ]
    (url,) = keys.lookups or {}
    assert url.startswith("dot://127.0.0.1:")
    lookup = (keys.lookups or {})[url]
    handshakes = [(h.server_name, h.failure) for h in lookup.tls_handshakes or ()]
    assert handshakes == [(NAME, None), (NAME, None)]
    operations = [e.operation for e in lookup.network_events or ()]
    assert operations[:5] == [
        "resolve_start",
        "dns_round_trip_start",
        "connect",
        "tls_handshake_start",
        "tls_handshake_done",
    ]
    assert (verdict.outcome, verdict.rule, verdict.layers[1].layer) == (
        Outcome.OK,
        "dnscheck.lookup_ok",
        Layer.TLS,
    )


@pytest.mark.parametrize(
    ("behaviour", "blackhole", "trust", "expected"),
    [
        ("reset", False, True, (Outcome.BLOCKED, Layer.TLS, "dnscheck.tls_interrupted")),
        (
            "honest",
            True,
            True,
            (Outcome.BLOCKED, Layer.TCP, "dnscheck.connect_timeout_bootstrap_ok"),
        ),
        (
            "honest",
            False,
            False,
            (Outcome.TAMPERED, Layer.TLS, "dnscheck.tls_certificate_rejected"),
        ),
    ],
    ids=["tls-reset", "black-hole", "certificate-replaced"],
)
def test_dot_blocked(
    tmp_path: Path,
    behaviour: str,
    blackhole: bool,
    trust: bool,
    expected: tuple[Outcome, Layer, str],
) -> None:
    keys, verdict = _dnscheck(_dot(tmp_path, behaviour, blackhole=blackhole, trust=trust))
    assert (verdict.outcome, verdict.layer, verdict.rule) == expected
    (url,) = keys.lookups or {}
    assert verdict.layers[1].witnesses[0].ref.startswith(f'test_keys.lookups["{url}"]')


def _doh(tmp_path: Path, behaviour: str) -> tuple[Measurement, list[tuple[str, str]]]:
    async def scenario() -> tuple[Measurement, list[tuple[str, str]]]:
        ca, tls = _tls(tmp_path / behaviour)
        server = DoHServer(ZONE, tls, behaviour)
        async with running(server) as port:
            url = f"https://{NAME}:{port}/dns-query"
            return await _measure(DNSCheck(bogon=LAB), url, ca=ca), server.posts

    return run(scenario)


def test_doh_honest_forbidden_and_reset(tmp_path: Path) -> None:
    measurement, posts = _doh(tmp_path, "honest")
    keys, verdict = _dnscheck(measurement)
    host = urlsplit(measurement.url).netloc  # dns.lab.test:PORT
    assert posts == [(host, "/dns-query"), (host, "/dns-query")]  # the name, not the address
    (lookup,) = (keys.lookups or {}).values()
    requests = [
        (r.request.method, r.response.code if r.response else None) for r in lookup.requests or ()
    ]
    assert requests == [("POST", 200), ("POST", 200)]
    assert [q.engine for q in lookup.queries or ()] == ["doh", "doh"]
    assert (verdict.outcome, verdict.layers[1].layer) == (Outcome.OK, Layer.HTTP)
    _, forbidden = _dnscheck(_doh(tmp_path, "forbidden")[0])
    assert (forbidden.outcome, forbidden.rule) == (Outcome.DOWN, "dnscheck.doh_error_status")
    _, reset = _dnscheck(_doh(tmp_path, "reset")[0])
    assert (reset.outcome, reset.layer, reset.technique) == (
        Outcome.BLOCKED,
        Layer.TLS,
        "tls.reset",
    )


def test_a_bootstrap_denied_is_dns_blocking_and_contacts_nobody() -> None:
    keys, verdict = _dnscheck(
        run(lambda: _measure(DNSCheck(bogon=LAB), "dot://dns.censored.test:853"))
    )
    assert (keys.bootstrap_failure, keys.lookups) == ("dns_nxdomain_error", {})
    assert (verdict.outcome, verdict.layer, verdict.rule) == (
        Outcome.BLOCKED,
        Layer.DNS,
        "dnscheck.bootstrap_nxdomain",
    )


def test_bad_resolver_urls_and_endpoint_keys_are_one_line_errors() -> None:
    with pytest.raises(EndpointError, match=r"'ftp://x' is not a resolver URL"):
        run(lambda: _measure(DNSCheck(), "ftp://x"))
    with pytest.raises(EndpointError, match=r"'resolvr' is not one this test takes"):
        run(lambda: _measure(DNSCheck(), None, endpoints=("resolvr=udp://127.0.0.1:53",)))


def _stun(behaviour: str | None, host: str = "127.0.0.1") -> tuple[Measurement, int]:
    async def scenario() -> tuple[Measurement, int]:
        if behaviour is None:  # nothing listens: the kernel answers ICMP port unreachable
            async with stun_server() as closed:
                port = closed.port
            return await _measure(STUNReachability(bogon=LAB), f"stun://{host}:{port}"), 0
        async with stun_server(behaviour) as server:
            measurement = await _measure(
                STUNReachability(bogon=LAB), None, endpoints=(f"stun={host}:{server.port}",)
            )
            return measurement, server.requests

    return run(scenario)


@pytest.mark.parametrize(
    ("behaviour", "host", "expected"),
    [
        ("honest", "stun.lab.test", (None, 1, Outcome.OK, Layer.UDP, "stun.binding_ok")),
        (
            "silent",
            "127.0.0.1",
            ("generic_timeout_error", 2, Outcome.BLOCKED, Layer.UDP, "stun.timeout"),
        ),
        (None, "127.0.0.1", ("connection_refused", 0, Outcome.DOWN, Layer.UDP, "stun.refused")),
        (
            "honest",
            "stun.censored.test",
            ("dns_nxdomain_error", 0, Outcome.INSUFFICIENT, Layer.DNS, "stun.dns_failed"),
        ),
    ],
    ids=["honest", "black-hole", "port-closed", "dns-denied"],
)
def test_stunreachability(behaviour: str | None, host: str, expected: tuple[Any, ...]) -> None:
    measurement, requests = _stun(behaviour, host)
    keys = msgspec.json.decode(measurement.test_keys, type=STUNReachabilityKeys)
    verdict = analyse_stun(measurement, FINGERPRINTS)
    layer = verdict.layers[0]
    assert (keys.failure, requests, verdict.outcome, layer.layer, layer.rule) == expected
    assert keys.endpoint.endswith(f"{host}:{keys.endpoint.rsplit(':', 1)[1]}")


def test_stun_a_reply_that_is_not_stun_is_a_failure_and_the_mapped_address_is_never_kept() -> None:
    garbage, _ = _stun("garbage")
    keys = msgspec.json.decode(garbage.test_keys, type=STUNReachabilityKeys)
    assert keys.failure == "unknown_failure: the reply is not a STUN Binding response"
    honest, _ = _stun("honest")
    # The honest server maps the probe's source, 127.0.0.2 (world.PROBE): it must not appear.
    text = msgspec.json.encode(honest).decode()
    assert "127.0.0.2" not in text
    events = msgspec.json.decode(honest.test_keys, type=STUNReachabilityKeys).network_events
    assert [(e.operation, e.num_bytes) for e in events or ()][-2:] == [("write", 20), ("read", 32)]


# Key sets of the spec examples (values elided): ooni/spec ts-028-dnscheck.md "Example output
# sample" (a lookup's entry: its urlgetter keys, one query, one tcp_connect, one TLS handshake)
# and ts-025-stun-reachability.md.
_QUERY = {
    "answers": [{"asn": 0, "as_org_name": "", "answer_type": "A", "ipv4": "", "ttl": None}],
    "engine": "dot",
    "failure": None,
    "hostname": "",
    "query_type": "A",
    "resolver_hostname": None,
    "resolver_port": None,
    "resolver_address": "",
    "t": 0.0,
}
_EVENTS = [  # the examples' first events, as the spec writes them
    {"failure": None, "operation": "resolve_start", "t": 0.0},
    {"address": "", "failure": None, "operation": "connect", "proto": "", "t": 0.0},
]
SPEC_DNSCHECK_KEYS = {
    "domain": "",
    "bootstrap": {
        "agent": "",
        "failed_operation": None,
        "failure": None,
        "network_events": None,
        "queries": [{**_QUERY, "engine": "system"}],
        "requests": None,
        "tcp_connect": None,
        "tls_handshakes": None,
    },
    "bootstrap_failure": None,
    "lookups": {
        "dot://x": {
            "agent": "",
            "failed_operation": None,
            "failure": None,
            "network_events": _EVENTS,
            "queries": [_QUERY],
            "requests": None,
            "tcp_connect": [
                {"ip": "", "port": 0, "status": {"failure": None, "success": True}, "t": 0.0}
            ],
            "tls_handshakes": [
                {
                    "cipher_suite": "",
                    "failure": None,
                    "negotiated_protocol": "",
                    "no_tls_verify": False,
                    "peer_certificates": [{"data": "", "format": ""}],
                    "server_name": "",
                    "t": 0.0,
                    "tls_version": "",
                }
            ],
        }
    },
}
SPEC_STUN_KEYS = {
    "endpoint": "",
    "failure": None,
    "network_events": _EVENTS,
    "queries": [{**_QUERY, "engine": "system"}],
}
SPEC_ENVELOPE = {
    "data_format_version": "",
    "extensions": {},
    "input": "",
    "measurement_start_time": "",
    "probe_asn": "",
    "probe_cc": "",
    "probe_ip": "",
    "probe_network_name": "",
    "report_id": "",
    "resolver_asn": "",
    "resolver_ip": "",
    "resolver_network_name": "",
    "software_name": "",
    "software_version": "",
    "test_name": "",
    "test_runtime": 0.0,
    "test_start_time": "",
    "test_version": "",
}


def _lookup_key_set(data: dict[str, Any]) -> dict[str, Any]:
    """Our lookups map keyed like the spec's one entry, so the check compares the entries."""
    keys = data["test_keys"]
    keys["lookups"] = {"dot://x": next(iter(keys["lookups"].values()))}
    return data


def test_key_sets_and_types_match_the_spec_examples(tmp_path: Path) -> None:
    dot = _lookup_key_set(msgspec.json.decode(msgspec.json.encode(_dot(tmp_path, "honest"))))
    stun_ok = msgspec.json.decode(msgspec.json.encode(_stun("honest", "stun.lab.test")[0]))
    problems = missing_or_different({**SPEC_ENVELOPE, "test_keys": SPEC_DNSCHECK_KEYS}, dot)
    problems += missing_or_different(
        {**SPEC_ENVELOPE, "input": None, "test_keys": SPEC_STUN_KEYS}, stun_ok
    )
    assert problems == [], "\n".join(problems)


async def _learn(
    probe_addresses: list[str], zone: dict[str, Answer] = SYSTEM_ZONE, deadline: float = 10.0
) -> tuple[Any, list[str]]:
    """The identity learnt through a loopback system resolver, and the names it was asked."""
    system = await serve_dns(zone)
    try:
        backend = CensoredBackend(("127.0.0.1", system.port), set())
        backend.timeout = 3600.0  # the stub resolver waits on: only whoami's deadline ends it
        # TEST-NET-2 plays the public Internet here (a bogon otherwise, never an identity)
        public = Bogons.with_lab(["198.51.100.0/24"])
        scrubber = Scrubber(probe_addresses)
        found = await learn_resolver(backend, scrubber, bogon=public, deadline=deadline)
        return found, system.queries
    finally:
        assert system.transport is not None
        system.transport.close()


def test_whoami_names_the_resolver_but_never_the_probe() -> None:
    def learn(probe_address: str) -> Any:
        return run(lambda: _learn([probe_address]))[0]

    identity = learn("203.0.113.9")
    assert (identity.ip, identity.asn) == ("198.51.100.53", "AS0")
    filled = with_resolver(_envelope("dnscheck", "0.9.2", None, DNSCheckKeys()), identity)
    assert (filled.resolver_ip, filled.resolver_asn) == ("198.51.100.53", "AS0")
    web = with_client_resolver(WebConnectivityKeys(), identity)
    assert web.client_resolver == "198.51.100.53"
    # A probe that is its own recursive resolver: the whoami answer is its own address.
    assert learn("198.51.100.53") is None


def test_whoami_has_a_deadline_and_asks_nothing_without_the_probe_s_address() -> None:
    silent = {**SYSTEM_ZONE, "whoami.v4.powerdns.org": Answer(silent=True)}
    # Without the deadline this would wait past run()'s bound and fail.
    assert run(lambda: _learn(["203.0.113.9"], silent, deadline=0.2)) == (
        None,
        ["whoami.v4.powerdns.org"],
    )
    # An answer could not be checked against the probe's own address: none is asked for.
    assert run(lambda: _learn([])) == (None, [])
