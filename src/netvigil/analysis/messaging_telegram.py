"""Telegram (ts-020): do Telegram's data centres answer HTTP, and does web.telegram.org load?

OONI's probe POSTs to every data centre address on ports 80 and 443 (plain HTTP on both)
and GETs https://web.telegram.org/ (probe-cli internal/experiment/telegram/telegram.go):
`telegram_tcp_blocking` when no access point got past the connect, `telegram_http_blocking`
when none answered, `telegram_web_status: blocked` when the web fetch failed. We read the
same from the raw steps: every DC connect failing is TCP blocking, no DC answering over
HTTP (with some connected) is HTTP blocking, some failing is a finding (a partial result),
and the web fetch counts every step (any failure blocks its layer). ok needs a DC's answer.

A request is a DC's when it is a POST; Measurement Kit's telegram 0.0.3 wrote neither the
method nor the URL (shared/corpus .../telegram_nourl.json), so there an IP-literal `Host`
header marks a DC. Where only the summary keys exist, they decide, and the witness says so.
"""

from __future__ import annotations

from netvigil.addresses import parse_ip
from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.messaging_rules import (
    every_target,
    partial,
    pick,
    summary_witness,
    tampering,
    target_rules,
)
from netvigil.analysis.messaging_trace import TECHNIQUES, Target, request_host, technique, trace
from netvigil.analysis.nettest_verdict import verdict_of
from netvigil.analysis.verdicts import Finding, Layer, LayerVerdict, RuleBook, Verdict, Witness
from netvigil.records import AnyMeasurement
from netvigil.records.base import text_of
from netvigil.records.envelope import decode_keys
from netvigil.records.messaging import TelegramKeys
from netvigil.records.templates import HTTPTransaction

APP = "telegram"
RULES = RuleBook(
    {
        **target_rules(APP, "web_"),
        "telegram.dc_tcp_all_failed": (0.8, 0.2, 0.0),
        "telegram.dc_tcp_ok": (0.0, 0.0, 0.9),
        "telegram.dc_http_all_failed": (0.75, 0.25, 0.0),
        "telegram.dc_http_answered": (0.0, 0.0, 1.0),
        "telegram.summary_tcp_blocking": (0.6, 0.4, 0.0),
        "telegram.summary_http_blocking": (0.6, 0.4, 0.0),
        "telegram.summary_web_blocked": (0.6, 0.4, 0.0),
        "telegram.summary_dc_answered": (0.0, 0.0, 0.6),
    },
    tampering=tampering(APP, "web_"),
    techniques=TECHNIQUES,
)


def _is_dc(request: HTTPTransaction) -> bool:
    if request.request.method:
        return request.request.method.upper() == "POST"
    return parse_ip(request_host(request)) is not None


def _url(request: HTTPTransaction) -> str:
    if request.request.url:
        return request.request.url
    headers = request.request.headers or {}
    host = next((text_of(v) for k, v in headers.items() if k.lower() == "host"), "")
    return f"http://{host}/"


def _dc_layers(
    keys: TelegramKeys, dcs: list[Target], web: list[Target]
) -> tuple[list[LayerVerdict], list[Finding]]:
    """TCP over every connect the web fetch does not account for (a DC may have connects
    and no request: Measurement Kit's 0.0.3), HTTP over the DCs' requests."""
    verdicts: list[LayerVerdict] = []
    findings: list[Finding] = []
    used = {s.ref for t in web for s in t.at(Layer.TCP)}
    connects = [
        (f"test_keys.tcp_connect[{i}]", tcp)
        for i, tcp in enumerate(keys.tcp_connect or ())
        if f"test_keys.tcp_connect[{i}]" not in used
    ]
    failed = [
        Witness(ref=ref, observed=f"{tcp.status.failure or 'failed'} ({tcp.ip}:{tcp.port})")
        for ref, tcp in connects
        if not tcp.status.success
    ]
    if connects and len(failed) == len(connects):
        first = next(tcp.status.failure for _, tcp in connects)
        verdicts.append(
            RULES.verdict(
                Layer.TCP,
                "telegram.dc_tcp_all_failed",
                technique=technique(Layer.TCP, first),
                witnesses=tuple(failed),
            )
        )
        return verdicts, findings
    if connects:
        ok = tuple(
            Witness(ref=ref, observed=f"connected ({tcp.ip}:{tcp.port})")
            for ref, tcp in connects
            if tcp.status.success
        )
        verdicts.append(RULES.verdict(Layer.TCP, "telegram.dc_tcp_ok", witnesses=ok))
        if failed:
            findings.append(partial(APP, "dc_connects", Layer.TCP, failed, len(connects)))
    tcp_failed = [t for t in dcs if (f := t.failure()) and f[0] is Layer.TCP]
    reached = [t for t in dcs if t.at(Layer.HTTP) and t not in tcp_failed]
    answered = [t for t in reached if t.answered()]
    if reached and not answered:
        steps = [s for t in reached for s in t.at(Layer.HTTP)]
        verdicts.append(
            RULES.verdict(
                Layer.HTTP,
                "telegram.dc_http_all_failed",
                technique=technique(Layer.HTTP, steps[0].failure),
                witnesses=tuple(s.witness() for s in steps),
            )
        )
    elif answered:
        verdicts.append(
            RULES.verdict(
                Layer.HTTP,
                "telegram.dc_http_answered",
                witnesses=tuple(
                    s.witness(f" ({t.name})") for t in answered for s in t.at(Layer.HTTP)
                ),
                counter_evidence=tuple(
                    f"{t.name}: no answer" for t in reached if t not in answered
                ),
            )
        )
        silent = [
            s.witness(f" ({t.name})")
            for t in reached
            if t not in answered
            for s in t.steps
            if s.failure
        ]
        if silent:
            findings.append(partial(APP, "dc_requests", Layer.HTTP, silent, len(reached)))
    return verdicts, findings


def _from_summary(keys: TelegramKeys) -> list[LayerVerdict]:
    out = []
    if keys.telegram_tcp_blocking:
        w = (summary_witness("telegram_tcp_blocking", True),)
        out.append(RULES.verdict(Layer.TCP, "telegram.summary_tcp_blocking", witnesses=w))
    elif keys.telegram_http_blocking:
        w = (summary_witness("telegram_http_blocking", True),)
        out.append(RULES.verdict(Layer.HTTP, "telegram.summary_http_blocking", witnesses=w))
    elif keys.telegram_http_blocking is False:
        w = (summary_witness("telegram_http_blocking", False),)
        out.append(RULES.verdict(Layer.HTTP, "telegram.summary_dc_answered", witnesses=w))
    if keys.telegram_web_status == "blocked":
        web = (
            summary_witness("telegram_web_status", "blocked"),
            summary_witness("telegram_web_failure", keys.telegram_web_failure),
        )
        out.append(RULES.verdict(Layer.HTTP, "telegram.summary_web_blocked", witnesses=web))
    return out


def analyse(measurement: AnyMeasurement, fingerprints: FingerprintDB) -> Verdict:
    keys = decode_keys(measurement, TelegramKeys)
    if keys is None:
        return verdict_of(measurement, (), access=Layer.HTTP, reason="the probe wrote no test keys")
    requests = keys.requests or []
    if not requests:
        return verdict_of(
            measurement,
            _from_summary(keys),
            access=Layer.HTTP,
            reason="no request recorded and no summary key saying a data centre answered",
        )
    dcs = [trace(keys, _url(r), i) for i, r in enumerate(requests) if _is_dc(r)]
    web = [trace(keys, _url(r), i) for i, r in enumerate(requests) if not _is_dc(r)]
    dc_verdicts, findings = _dc_layers(keys, dcs, web)
    layers = pick([*dc_verdicts, *every_target(APP, web, RULES, "web_")])
    return verdict_of(
        measurement,
        layers,
        findings,
        access=Layer.HTTP,
        reason="no data centre request reached HTTP",
    )


ANALYSERS = {APP: analyse}
