"""Verdicts of dnscheck (ts-028): does this resolver — Do53, DoT, DoH — work here?

OONI's fastpath does not score dnscheck (it marks every one a measurement failure) and
calls any STUN failure an anomaly (ooni/backend fastpath/core.py score_stunreachability).
Ours follow the steps of each lookup, so a verdict says *where* it stopped:

- dnscheck, per endpoint in `lookups`: answers received → ok at the layer of its transport
  (udp, tcp; tls for DoT; http for DoH: the access layers); a connect reset, or a timeout
  after the bootstrap showed the resolver's name resolves, → blocked at TCP; a TLS handshake
  cut (reset, timeout, EOF) → blocked at TLS; a certificate the roots reject for the
  resolver's name → tampered; an IPv6 endpoint the probe cannot route → no evidence (the
  probe has no IPv6: ooni/probe#2284); a plain-DNS error or bogon for `example.org` → DNS
  blocked (a lying resolver or injection). The bootstrap (the system resolver asked for the
  resolver's name) is a DNS layer: NXDOMAIN or a bogon → blocked, other failures →
  insufficient (an offline probe looks the same).
- stunreachability: see :mod:`netvigil.analysis.stunreachability`.

`bogon` says which answers are bogons (a lab passes the networks it plays the Internet with).
"""

from __future__ import annotations

from typing import Final

from netvigil.addresses import REAL_WORLD, Bogons, join_host_port
from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.nettest_verdict import verdict_of
from netvigil.analysis.stunreachability import TECHNIQUES as STUN_TECHNIQUES
from netvigil.analysis.stunreachability import analyse_stun
from netvigil.analysis.verdicts import Layer, LayerVerdict, RuleBook, Verdict, Witness
from netvigil.failures import Failure, FailureKind, is_misconfigured_ipv6, kind_of
from netvigil.records import AnyMeasurement, DNSQuery, answer_addresses, decode_keys
from netvigil.records.resolvers import DNSCheckKeys, URLGetterResult

# dnscheck's techniques, `<layer>.<how>`, and stunreachability's (the family's vocabulary):
# a DNS answer that lies (a bogon, NXDOMAIN, an error from a plain resolver), a connect or
# handshake cut, a certificate rejected for the resolver's name, and a round trip over the
# resolver's own transport (DNS over TCP, DoT, DoH) cut after the handshake.
_CUT = ("reset", "timeout", "eof")
TECHNIQUES: Final = frozenset(
    {
        *("dns.bogon", "dns.nxdomain", "dns.no_answer", "dns.dns_refused", "dns.dns_server_error"),
        *(f"{layer}.{how}" for layer in ("tcp", "tls", "http") for how in _CUT),
        "tls.certificate_replaced",
        *STUN_TECHNIQUES,
    }
)
RULES = RuleBook(
    {
        "dnscheck.bootstrap_ok": (0.0, 0.0, 1.0),
        "dnscheck.bootstrap_bogon": (0.9, 0.05, 0.05),
        "dnscheck.bootstrap_nxdomain": (0.6, 0.3, 0.1),
        "dnscheck.bootstrap_failed": (0.4, 0.4, 0.0),
        "dnscheck.lookup_ok": (0.0, 0.0, 1.0),
        "dnscheck.lookup_bogon": (0.85, 0.1, 0.05),
        "dnscheck.plain_answer_error": (0.6, 0.3, 0.1),
        "dnscheck.encrypted_answer_error": (0.1, 0.7, 0.2),
        "dnscheck.connect_reset": (0.75, 0.25, 0.0),
        "dnscheck.connect_timeout_bootstrap_ok": (0.6, 0.4, 0.0),
        "dnscheck.connect_timeout": (0.5, 0.5, 0.0),
        "dnscheck.connect_refused": (0.2, 0.7, 0.1),
        "dnscheck.connect_ipv6_unreachable": (0.0, 0.0, 0.0),
        "dnscheck.tls_interrupted": (0.8, 0.2, 0.0),
        "dnscheck.tls_certificate_rejected": (0.7, 0.2, 0.1),
        "dnscheck.round_trip_interrupted": (0.6, 0.4, 0.0),
        "dnscheck.doh_error_status": (0.1, 0.8, 0.1),
        "dnscheck.udp_no_reply": (0.5, 0.5, 0.0),
        "dnscheck.failed_other": (0.5, 0.5, 0.0),
    },
    tampering=frozenset({"dnscheck.tls_certificate_rejected"}),
    techniques=TECHNIQUES,
)
# The layer whose success shows a resolver answering, per transport (OONI's engine names).
SUCCESS_LAYER = {"udp": Layer.UDP, "tcp": Layer.TCP, "dot": Layer.TLS, "doh": Layer.HTTP}
_SCHEMES = {"udp": "udp", "tcp": "tcp", "dot": "dot", "https": "doh"}
ACCESS = frozenset(SUCCESS_LAYER.values())
_INTERRUPTED = (FailureKind.RESET, FailureKind.TIMEOUT, FailureKind.EOF)
DNS_KINDS = (
    FailureKind.NXDOMAIN,
    FailureKind.NO_ANSWER,
    FailureKind.DNS_REFUSED,
    FailureKind.DNS_SERVER_ERROR,
)


def _engine(url: str, result: URLGetterResult) -> str:
    for query in result.queries or ():
        if query.engine in SUCCESS_LAYER:
            return query.engine
    return _SCHEMES.get(url.split("://", 1)[0], "udp")


def _bootstrap(keys: DNSCheckKeys, bogon: Bogons) -> LayerVerdict | None:
    if keys.bootstrap is None and keys.bootstrap_failure is None:
        return None  # an address input: nothing to bootstrap
    failure = keys.bootstrap_failure
    addresses = [
        a
        for q in (keys.bootstrap.queries if keys.bootstrap else None) or ()
        for a in answer_addresses(q.answers)
    ]
    seen = Witness(ref="test_keys.bootstrap", observed=failure or ", ".join(addresses) or "none")
    kind = kind_of(failure)
    if kind is FailureKind.DNS_BOGON or (failure is None and any(bogon(a) for a in addresses)):
        return RULES.verdict(
            Layer.DNS, "dnscheck.bootstrap_bogon", technique="dns.bogon", witnesses=(seen,)
        )
    if kind in (FailureKind.NXDOMAIN, FailureKind.NO_ANSWER):
        return RULES.verdict(
            Layer.DNS, "dnscheck.bootstrap_nxdomain", technique="dns.nxdomain", witnesses=(seen,)
        )
    rule = "dnscheck.bootstrap_ok" if failure is None else "dnscheck.bootstrap_failed"
    return RULES.verdict(Layer.DNS, rule, witnesses=(seen,))


def _lookup(url: str, result: URLGetterResult, bootstrap_ok: bool, bogon: Bogons) -> LayerVerdict:
    """The verdict of one endpoint: the first step that failed, or the answer it got."""
    base = f'test_keys.lookups["{url}"]'
    engine = _engine(url, result)
    layer = SUCCESS_LAYER[engine]
    queries = result.queries or []
    for n, query in enumerate(queries):
        seen = Witness(ref=f"{base}.queries[{n}]", observed=_observed(query))
        got = answer_addresses(query.answers)
        if kind_of(query.failure) is FailureKind.DNS_BOGON or any(bogon(a) for a in got):
            return RULES.verdict(
                Layer.DNS, "dnscheck.lookup_bogon", technique="dns.bogon", witnesses=(seen,)
            )
        if query.failure is None and got:
            return RULES.verdict(layer, "dnscheck.lookup_ok", witnesses=(seen,))
    for n, tcp in enumerate(result.tcp_connect or ()):
        failure = tcp.status.failure
        if not failure:
            continue
        seen = Witness(
            ref=f"{base}.tcp_connect[{n}]", observed=f"{join_host_port(tcp.ip, tcp.port)} {failure}"
        )
        kind = kind_of(failure)
        if _probe_lacks_ipv6(failure, tcp.ip):
            rule, technique = "dnscheck.connect_ipv6_unreachable", None
        elif kind is FailureKind.RESET:
            rule, technique = "dnscheck.connect_reset", "tcp.reset"
        elif kind is FailureKind.TIMEOUT:
            rule = "dnscheck.connect_timeout"
            if bootstrap_ok:  # the resolver's name resolved: the network was up
                rule = "dnscheck.connect_timeout_bootstrap_ok"
            technique = "tcp.timeout"
        elif kind is FailureKind.REFUSED:
            rule, technique = "dnscheck.connect_refused", None
        else:
            rule, technique = "dnscheck.failed_other", None
        return RULES.verdict(Layer.TCP, rule, technique=technique, witnesses=(seen,))
    for n, handshake in enumerate(result.tls_handshakes or ()):
        kind = kind_of(handshake.failure)
        if kind is FailureKind.NONE:
            continue
        seen = Witness(
            ref=f"{base}.tls_handshakes[{n}]",
            observed=f"{handshake.server_name} {handshake.failure}",
        )
        if kind in _INTERRUPTED:
            return RULES.verdict(
                Layer.TLS,
                "dnscheck.tls_interrupted",
                technique=f"tls.{kind.value}",
                witnesses=(seen,),
            )
        if handshake.failure in (Failure.SSL_UNKNOWN_AUTHORITY, Failure.SSL_INVALID_HOSTNAME):
            return RULES.verdict(
                Layer.TLS,
                "dnscheck.tls_certificate_rejected",
                technique="tls.certificate_replaced",
                witnesses=(seen,),
            )
        return RULES.verdict(Layer.TLS, "dnscheck.failed_other", witnesses=(seen,))
    return _round_trip(base, engine, layer, queries)


def _round_trip(base: str, engine: str, layer: Layer, queries: list[DNSQuery]) -> LayerVerdict:
    """The endpoint was reached (and TLS held) but no query got an answer."""
    failed = next(((n, q) for n, q in enumerate(queries) if q.failure), None)
    if failed is None:
        seen = Witness(ref=f"{base}.queries", observed="no query recorded")
        return RULES.verdict(layer, "dnscheck.failed_other", witnesses=(seen,))
    n, query = failed
    seen = Witness(ref=f"{base}.queries[{n}]", observed=_observed(query))
    kind = kind_of(query.failure)
    if kind in DNS_KINDS or query.failure == Failure.DNS_WRONG_QUERY_ID:
        if engine in ("dot", "doh"):  # the answer came from the genuine, verified server
            return RULES.verdict(layer, "dnscheck.encrypted_answer_error", witnesses=(seen,))
        return RULES.verdict(
            Layer.DNS,
            "dnscheck.plain_answer_error",
            technique=f"dns.{kind.value}",
            witnesses=(seen,),
        )
    if engine == "udp":
        rule = "dnscheck.udp_no_reply" if kind is FailureKind.TIMEOUT else "dnscheck.failed_other"
        return RULES.verdict(Layer.UDP, rule, witnesses=(seen,))
    if kind is FailureKind.HTTP_PROTOCOL:
        return RULES.verdict(layer, "dnscheck.doh_error_status", witnesses=(seen,))
    if kind in _INTERRUPTED:
        return RULES.verdict(
            layer,
            "dnscheck.round_trip_interrupted",
            technique=f"{layer.value}.{kind.value}",
            witnesses=(seen,),
        )
    return RULES.verdict(layer, "dnscheck.failed_other", witnesses=(seen,))


def _probe_lacks_ipv6(failure: str, ip: str) -> bool:
    """An IPv6 endpoint the probe cannot route to (Go's "connect: no route to host", as the
    ts-028 example shows for dns.google's IPv6 addresses) is the probe's network, not a
    censor's (ooni/probe#2284)."""
    return is_misconfigured_ipv6(failure, ip) or (":" in ip and "no route to host" in failure)


def _observed(query: DNSQuery) -> str:
    got = ", ".join(sorted(answer_addresses(query.answers)))
    return f"{query.query_type} {query.hostname} via {query.resolver_address}: " + (
        query.failure or got or "no address"
    )


def analyse_dnscheck(
    measurement: AnyMeasurement, fingerprints: FingerprintDB, bogon: Bogons = REAL_WORLD
) -> Verdict:
    keys = decode_keys(measurement, DNSCheckKeys)
    if keys is None:
        return verdict_of(measurement, (), access=ACCESS, reason="no test keys")
    layers: list[LayerVerdict] = []
    bootstrap = _bootstrap(keys, bogon)
    if bootstrap is not None:
        layers.append(bootstrap)
    bootstrap_ok = bootstrap is not None and bootstrap.rule == "dnscheck.bootstrap_ok"
    for url, result in (keys.lookups or {}).items():
        layers.append(_lookup(url, result, bootstrap_ok, bogon))
    reason = None if keys.lookups else "no lookup: the bootstrap gave no address to test"
    return verdict_of(measurement, layers, access=ACCESS, reason=reason)


# ts-025's example (v0.0.1) spells the name "stun_reachability"; probes since write it as one word.
ANALYSERS = {
    "dnscheck": analyse_dnscheck,
    "stunreachability": analyse_stun,
    "stun_reachability": analyse_stun,
}
