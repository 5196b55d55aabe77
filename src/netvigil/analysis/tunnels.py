"""Layered verdicts of the tunnel nettests: psiphon (ts-015), riseupvpn (ts-026), openvpn (ts-040).

None of them has a control: a tunnel that did not come up may be blocked, or the provider's
servers or this network may be down, and the data cannot tell which. So a failure is
"insufficient" with that reason, never "blocked" on its own (docs/design/003, "Issue 13"),
where OONI's fastpath calls psiphon's and openvpn's failures anomalies (core.py
`score_psiphon`, `score_openvpn`). "ok" needs the tool itself to have worked: the Psiphon
tunnel bootstrapped (layer TUNNEL), the OpenVPN handshake completed (TUNNEL), or for
RiseupVPN, whose test brings up no tunnel, its API answered over HTTPS (HTTP) *and* a
gateway accepted a TCP connection (TCP, the access layer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.nettest_verdict import verdict_of
from netvigil.analysis.verdicts import (
    Finding,
    Layer,
    LayerVerdict,
    Outcome,
    RuleBook,
    Verdict,
    Witness,
)
from netvigil.records import AnyMeasurement, TCPConnect, decode_keys
from netvigil.records.tunnels import OpenVPNKeys, PsiphonKeys, RiseupVPNKeys

_NO_CONTROL = "without a control a failure cannot be told from an outage"

# What worked, named only on ok: a failure here has no control, so it names no technique.
TECHNIQUES: Final = frozenset(
    {"tunnel.bootstrapped", "tunnel.handshake", "tcp.connected", "http.ok"}
)
RULES = RuleBook(
    {
        "psiphon.bootstrapped": (0.0, 0.0, 1.0),
        "psiphon.bootstrap_failed": (0.5, 0.5, 0.0),
        "psiphon.no_bootstrap_time": (0.0, 0.0, 0.0),  # spec: "invalid, should not happen"
        "riseupvpn.api_ok": (0.0, 0.0, 1.0),
        "riseupvpn.api_failed": (0.5, 0.5, 0.0),
        "riseupvpn.gateways_reachable": (0.0, 0.0, 1.0),
        "riseupvpn.some_gateways_failed": (0.1, 0.0, 0.9),
        "riseupvpn.all_gateways_failed": (0.5, 0.5, 0.0),
        "openvpn.tcp_ok": (0.0, 0.0, 1.0),
        "openvpn.tcp_failed": (0.5, 0.5, 0.0),
        "openvpn.handshake_ok": (0.0, 0.0, 1.0),
        "openvpn.handshake_failed": (0.5, 0.5, 0.0),
        "openvpn.no_result": (0.0, 0.0, 0.0),
    },
    techniques=TECHNIQUES,
)


def analyze_psiphon(measurement: AnyMeasurement, fingerprints: FingerprintDB) -> Verdict:
    keys = decode_keys(measurement, PsiphonKeys)
    if keys is None:
        return verdict_of(measurement, (), access=Layer.TUNNEL, reason="no test keys")
    boot = keys.bootstrap_time or 0.0
    seen = Witness(ref="test_keys.bootstrap_time", observed=f"{boot}s, failure {keys.failure}")
    findings: list[Finding] = []
    if keys.queries:  # ts-015: Psiphon resolves inside its tunnel, so queries should be null
        names = sorted({q.hostname for q in keys.queries})
        detail = f"{len(keys.queries)} DNS queries outside the tunnel: {', '.join(names)}"
        seen_dns = (Witness(ref="test_keys.queries[0]", observed=keys.queries[0].hostname),)
        findings.append(
            Finding(kind="dns_outside_tunnel", layer=Layer.DNS, detail=detail, witnesses=seen_dns)
        )
    if boot > 0:
        tunnel = RULES.verdict(
            Layer.TUNNEL, "psiphon.bootstrapped", technique="tunnel.bootstrapped", witnesses=(seen,)
        )
        if keys.failure is not None:  # spec: "error in using Psiphon", past the tunnel
            detail = f"the fetch through the tunnel failed: {keys.failure}"
            findings.append(Finding(kind="tunnel_use_failed", layer=Layer.TUNNEL, detail=detail))
        reason = None
    elif keys.failure is not None:
        tunnel = RULES.verdict(Layer.TUNNEL, "psiphon.bootstrap_failed", witnesses=(seen,))
        reason = f"Psiphon did not bootstrap ({keys.failure}); {_NO_CONTROL}"
    else:
        tunnel = RULES.verdict(Layer.TUNNEL, "psiphon.no_bootstrap_time", witnesses=(seen,))
        reason = "no bootstrap time and no failure: the probe's result is invalid (ts-015)"
    return verdict_of(measurement, (tunnel,), findings, access=Layer.TUNNEL, reason=reason)


def _openvpn_tcp(keys: OpenVPNKeys) -> LayerVerdict | None:
    raw = keys.tcp_connect
    listed = isinstance(raw, list)
    connects: list[TCPConnect] = raw if isinstance(raw, list) else [] if raw is None else [raw]
    for n, tcp in enumerate(connects):
        ref = "test_keys.tcp_connect" + (f"[{n}]" if listed else "")
        seen = Witness(ref=ref, observed=f"{tcp.ip}:{tcp.port} {tcp.status.failure or 'connected'}")
        if tcp.status.success is False or tcp.status.failure is not None:
            return RULES.verdict(Layer.TCP, "openvpn.tcp_failed", witnesses=(seen,))
        if n == len(connects) - 1:
            return RULES.verdict(
                Layer.TCP, "openvpn.tcp_ok", technique="tcp.connected", witnesses=(seen,)
            )
    return None


def _openvpn_handshake(keys: OpenVPNKeys, tcp_failed: bool) -> tuple[LayerVerdict, str | None]:
    tries = keys.openvpn_handshake or []
    witnesses = tuple(
        Witness(ref=f"test_keys.openvpn_handshake[{n}]", observed=f"{h.endpoint}: {h.failure}")
        for n, h in enumerate(tries)
    )
    # 0.0.x: `success` also needs the ICMP pings and the fetch through the tunnel; the
    # handshake is `success_handshake`. No handshake can follow a failed TCP connect.
    ok = keys.success is True or keys.success_handshake is True
    if tries:
        ok = any(h.failure is None for h in tries) and keys.success is not False
    if ok and not tcp_failed:
        key = "success" if keys.success is True else "success_handshake"
        seen = witnesses or (Witness(ref=f"test_keys.{key}", observed="true"),)
        return RULES.verdict(
            Layer.TUNNEL, "openvpn.handshake_ok", technique="tunnel.handshake", witnesses=seen
        ), None
    failure = keys.failure or next((h.failure for h in tries if h.failure), None)
    if keys.success is False or failure is not None:
        seen = witnesses or (Witness(ref="test_keys.failure", observed=str(failure)),)
        verdict = RULES.verdict(Layer.TUNNEL, "openvpn.handshake_failed", witnesses=seen)
        return verdict, f"the OpenVPN handshake failed ({failure}); {_NO_CONTROL}"
    none = (Witness(ref="test_keys.success", observed=str(keys.success)),)
    verdict = RULES.verdict(Layer.TUNNEL, "openvpn.no_result", witnesses=none)
    return verdict, "the probe wrote neither success nor a failure"


def analyze_openvpn(measurement: AnyMeasurement, fingerprints: FingerprintDB) -> Verdict:
    keys = decode_keys(measurement, OpenVPNKeys)
    if keys is None:
        return verdict_of(measurement, (), access=Layer.TUNNEL, reason="no test keys")
    tcp = _openvpn_tcp(keys)
    tcp_failed = tcp is not None and tcp.rule == "openvpn.tcp_failed"
    tunnel, reason = _openvpn_handshake(keys, tcp_failed)
    if tcp is not None and tcp.outcome is Outcome.INSUFFICIENT and reason is not None:
        reason = f"the TCP connection to the server failed; {_NO_CONTROL}"
    layers = (tcp, tunnel) if tcp is not None else (tunnel,)
    return verdict_of(measurement, layers, access=Layer.TUNNEL, reason=reason)


def _riseup_api(keys: RiseupVPNKeys) -> tuple[LayerVerdict, str | None]:
    requests = keys.requests or []
    failed = [(n, r) for n, r in enumerate(requests) if r.failure is not None]
    listed = [f for f in (keys.api_failures or []) if f] + (
        [keys.api_failure] if keys.api_failure else []
    )
    witnesses = tuple(
        Witness(ref=f"test_keys.requests[{n}]", observed=f"{r.request.url}: {r.failure}")
        for n, r in failed
    ) + tuple(
        Witness(ref="test_keys.api_failures", observed=f) for f in listed if keys.api_failures
    )
    flags = [("ca_cert_status", "false")] if keys.ca_cert_status is False else []
    flags += [("api_status", "blocked")] if keys.api_status == "blocked" else []
    witnesses += tuple(Witness(ref=f"test_keys.{key}", observed=value) for key, value in flags)
    if failed or listed or flags:
        said = [r.failure for _, r in failed] + listed + [f"{k} {v}" for k, v in flags]
        first = said[0]
        reason = f"the RiseupVPN API did not answer ({first}); {_NO_CONTROL}"
        return RULES.verdict(Layer.HTTP, "riseupvpn.api_failed", witnesses=witnesses), reason
    seen = tuple(
        Witness(ref=f"test_keys.requests[{n}]", observed=f"{r.request.url}: ok")
        for n, r in enumerate(requests)
    ) or (Witness(ref="test_keys.api_failures", observed="null"),)
    return RULES.verdict(Layer.HTTP, "riseupvpn.api_ok", technique="http.ok", witnesses=seen), None


def _riseup_gateways(keys: RiseupVPNKeys) -> LayerVerdict | None:
    api_ips = {a.ipv4 for q in keys.queries or [] for a in q.answers or [] if a.ipv4}
    api_ips |= {a.ipv6 for q in keys.queries or [] for a in q.answers or [] if a.ipv6}
    gateways = [(n, c) for n, c in enumerate(keys.tcp_connect or []) if c.ip not in api_ips]
    if not gateways:
        return None  # 0.3.x measures no gateways; 0.2.x stops when the API fails
    seen = tuple(
        Witness(
            ref=f"test_keys.tcp_connect[{n}]",
            observed=f"{c.ip}:{c.port} {c.status.failure or 'connected'}",
        )
        for n, c in gateways
    )
    reached = sum(c.status.success is True for _, c in gateways)
    if reached == len(gateways):
        rule = "riseupvpn.gateways_reachable"
    else:
        rule = "riseupvpn.some_gateways_failed" if reached else "riseupvpn.all_gateways_failed"
    technique = "tcp.connected" if reached else None
    return RULES.verdict(Layer.TCP, rule, technique=technique, witnesses=seen)


def analyze_riseupvpn(measurement: AnyMeasurement, fingerprints: FingerprintDB) -> Verdict:
    keys = decode_keys(measurement, RiseupVPNKeys)
    if keys is None:
        return verdict_of(measurement, (), access=Layer.TCP, reason="no test keys")
    api, reason = _riseup_api(keys)
    gateways = _riseup_gateways(keys)
    layers = (api,) if gateways is None else (api, gateways)
    if reason is None and gateways is None:
        reason = "the API answered but no gateway was measured"
    elif reason is None and gateways is not None and gateways.outcome is Outcome.INSUFFICIENT:
        reason = f"no gateway accepted a TCP connection; {_NO_CONTROL}"
    # A gateway is of no use to a client that cannot reach the API: access needs both.
    access = frozenset({Layer.TCP}) if api.outcome is Outcome.OK else frozenset()
    return verdict_of(measurement, layers, access=access, reason=reason)


# analysis/nettests.py merges this (it cannot be imported from here: it imports us).
ANALYSERS: dict[str, Callable[[AnyMeasurement, FingerprintDB], Verdict]] = {
    "psiphon": analyze_psiphon,
    "riseupvpn": analyze_riseupvpn,
    "openvpn": analyze_openvpn,
}
