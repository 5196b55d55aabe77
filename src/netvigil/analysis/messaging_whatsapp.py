"""WhatsApp (ts-018): do the chat endpoints accept connections, do registration and web answer?

OONI's probe connects to e1–e16.whatsapp.net on 443 and 5222, GETs
https://v.whatsapp.net/v2/register and https://web.whatsapp.com/ (probe-cli
internal/experiment/whatsapp/whatsapp.go): `whatsapp_endpoints_status` is blocked only when
no endpoint connected; registration and web are blocked on any failure. OONI's fastpath
reads the raw requests, not the probe's web status (ooni/backend fastpath core.py
`score_measurement_whatsapp`: anomaly when the web or registration request failed, or no
connect worked), because probes before 2022-12-02 wanted a 302 that web.whatsapp.com no
longer sends (fastpath tests `test_score_whatsapp_failure`, shared/corpus .../whatsapp.json).
We judge the same from the raw steps; a summary key that the steps contradict is a finding.
"""

from __future__ import annotations

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.messaging_rules import (
    every_target,
    partial,
    pick,
    summary_witness,
    tampering,
    target_rules,
)
from netvigil.analysis.messaging_trace import TECHNIQUES, Target, host_port, technique, trace
from netvigil.analysis.nettest_verdict import verdict_of
from netvigil.analysis.verdicts import Finding, Layer, LayerVerdict, RuleBook, Verdict, Witness
from netvigil.records import AnyMeasurement
from netvigil.records.envelope import decode_keys
from netvigil.records.messaging import WhatsAppKeys

APP = "whatsapp"
REGISTRATION_HOST = "v.whatsapp.net"
RULES = RuleBook(
    {
        **target_rules(APP),
        "whatsapp.endpoints_all_failed": (0.8, 0.2, 0.0),
        "whatsapp.endpoints_dns_all_failed": (0.75, 0.25, 0.0),
        "whatsapp.endpoints_tcp_ok": (0.0, 0.0, 0.9),
        "whatsapp.summary_endpoints_blocked": (0.6, 0.4, 0.0),
        "whatsapp.summary_registration_blocked": (0.6, 0.4, 0.0),
        "whatsapp.summary_web_blocked": (0.6, 0.4, 0.0),
        "whatsapp.summary_ok": (0.0, 0.0, 0.6),
    },
    tampering=tampering(APP),
    techniques=TECHNIQUES,
)


def _endpoint_layers(
    keys: WhatsAppKeys, used: set[str]
) -> tuple[list[LayerVerdict], list[Finding]]:
    """The chat endpoints as one group: the connects no request target accounts for."""
    steps = [
        (f"test_keys.tcp_connect[{i}]", tcp)
        for i, tcp in enumerate(keys.tcp_connect or ())
        if f"test_keys.tcp_connect[{i}]" not in used
    ]
    if not steps:
        return _endpoint_dns(keys), []
    failed = [
        Witness(ref=ref, observed=f"{tcp.status.failure or 'failed'} ({tcp.ip} port {tcp.port})")
        for ref, tcp in steps
        if not tcp.status.success
    ]
    if len(failed) == len(steps):
        first = next(tcp.status.failure for _, tcp in steps)
        verdict = RULES.verdict(
            Layer.TCP,
            "whatsapp.endpoints_all_failed",
            technique=technique(Layer.TCP, first),
            witnesses=tuple(failed[:40]),
        )
        return [verdict], []
    worked = [
        Witness(ref=ref, observed=f"connected ({tcp.ip} port {tcp.port})")
        for ref, tcp in steps
        if tcp.status.success
    ]
    findings = [partial(APP, "endpoint_connects", Layer.TCP, failed, len(steps))] if failed else []
    return [
        RULES.verdict(Layer.TCP, "whatsapp.endpoints_tcp_ok", witnesses=tuple(worked[:40]))
    ], findings


def _endpoint_dns(keys: WhatsAppKeys) -> list[LayerVerdict]:
    """No endpoint connect at all: blocked at DNS when every endpoint lookup failed."""
    asked = {host_port(r.request.url)[0] for r in keys.requests or ()}
    lookups = [(i, q) for i, q in enumerate(keys.queries or ()) if q.hostname.lower() not in asked]
    if not lookups or any(q.answers and not q.failure for _, q in lookups):
        return []
    first = lookups[0][1].failure
    witnesses = tuple(
        Witness(
            ref=f"test_keys.queries[{i}]", observed=f"{q.failure or 'no answer'} ({q.hostname})"
        )
        for i, q in lookups
    )
    return [
        RULES.verdict(
            Layer.DNS,
            "whatsapp.endpoints_dns_all_failed",
            technique=technique(Layer.DNS, first),
            witnesses=witnesses[:40],
        )
    ]


def _disagreements(keys: WhatsAppKeys, targets: list[Target]) -> list[Finding]:
    """Summary keys saying blocked where every traced step of the part worked."""
    out = []
    for part, status, failure in (
        ("registration", keys.registration_server_status, keys.registration_server_failure),
        ("web", keys.whatsapp_web_status, keys.whatsapp_web_failure),
    ):
        mine = [
            t
            for t in targets
            if (host_port(t.name)[0] == REGISTRATION_HOST) == (part == "registration")
        ]
        if status == "blocked" and mine and all(t.answered() for t in mine):
            answers = [s.witness(f" ({t.name})") for t in mine for s in t.at(Layer.HTTP)]
            key = "registration_server" if part == "registration" else "whatsapp_web"
            out.append(
                Finding(
                    kind="whatsapp.summary_contradicted",
                    layer=Layer.HTTP,
                    detail=f"{key}_status is blocked ({failure}) but the server answered: the "
                    "probe's own check failed, not the network (OONI's fastpath reads the "
                    "request too)",
                    witnesses=(summary_witness(f"{key}_status", status), *answers),
                )
            )
    return out


def _from_summary(keys: WhatsAppKeys) -> list[LayerVerdict]:
    out = []
    for layer, key, status, rule in (
        (Layer.TCP, "whatsapp_endpoints_status", keys.whatsapp_endpoints_status, "endpoints"),
        (Layer.HTTP, "registration_server_status", keys.registration_server_status, "registration"),
        (Layer.HTTP, "whatsapp_web_status", keys.whatsapp_web_status, "web"),
    ):
        if status == "blocked":
            w = (summary_witness(key, status),)
            out.append(RULES.verdict(layer, f"whatsapp.summary_{rule}_blocked", witnesses=w))
    if not out and keys.registration_server_status == "ok" and keys.whatsapp_web_status == "ok":
        both = (
            summary_witness("registration_server_status", "ok"),
            summary_witness("whatsapp_web_status", "ok"),
        )
        out.append(RULES.verdict(Layer.HTTP, "whatsapp.summary_ok", witnesses=both))
    return out


def analyse(measurement: AnyMeasurement, fingerprints: FingerprintDB) -> Verdict:
    keys = decode_keys(measurement, WhatsAppKeys)
    if keys is None:
        return verdict_of(measurement, (), access=Layer.HTTP, reason="the probe wrote no test keys")
    requests = keys.requests or []
    targets = [trace(keys, r.request.url, i) for i, r in enumerate(requests) if r.request.url]
    if not targets:
        return verdict_of(
            measurement,
            _from_summary(keys),
            access=Layer.HTTP,
            reason="no registration or web request recorded",
        )
    used = {s.ref for t in targets for s in t.at(Layer.TCP)}
    endpoint_verdicts, findings = _endpoint_layers(keys, used)
    layers = pick([*endpoint_verdicts, *every_target(APP, targets, RULES)])
    return verdict_of(
        measurement,
        layers,
        [*findings, *_disagreements(keys, targets)],
        access=Layer.HTTP,
        reason="neither registration nor web reached HTTP",
    )


ANALYSERS = {APP: analyse}
