"""Facebook Messenger (ts-019): do its hosts resolve into Facebook's network and accept TCP?

OONI's probe resolves seven hosts, calls a host's DNS consistent when every answer's AS is
Facebook's (AS32934), and connects on 443 to each (STUN only resolves: it is UDP);
`facebook_dns_blocking` / `facebook_tcp_blocking` when any host fails (probe-cli
internal/experiment/fbmessenger/fbmessenger.go `ComputeEndpointStatus`; ts-019). The
fastpath scores 0.5 per false key and per true blocking key (ooni/backend fastpath core.py
`score_measurement_facebook_messenger`), so one failing host is an anomaly: the same here.

From the raw steps: a lookup that failed, or an answer outside the expected AS, blocks DNS;
a failed connect blocks TCP; ok is a connect that worked to an address inside the AS (the
access layer is TCP: this test sends no HTTP). An answer whose AS the probe did not know
(asn 0 or missing: no ASN database) proves nothing either way. Our probe records the AS it
checked against as `x_facebook_asn` (the lab's own in tests); others mean OONI's.
"""

from __future__ import annotations

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.messaging_rules import MAX_WITNESSES, summary_witness
from netvigil.analysis.messaging_trace import TECHNIQUES, technique
from netvigil.analysis.nettest_verdict import verdict_of
from netvigil.analysis.verdicts import Layer, LayerVerdict, RuleBook, Verdict, Witness
from netvigil.records import AnyMeasurement
from netvigil.records.messaging import (
    FACEBOOK_ASN,
    FACEBOOK_ENDPOINTS,
    FacebookMessengerKeys,
    facebook_messenger_keys,
)

APP = "facebook_messenger"
RULES = RuleBook(
    {
        "facebook_messenger.dns_failure": (0.7, 0.3, 0.0),
        "facebook_messenger.dns_outside_asn": (0.8, 0.1, 0.1),
        "facebook_messenger.dns_asn_unknown": (0.0, 0.0, 0.0),
        "facebook_messenger.dns_consistent": (0.0, 0.0, 0.9),
        "facebook_messenger.tcp_failure": (0.7, 0.3, 0.0),
        "facebook_messenger.tcp_ok": (0.0, 0.0, 0.9),
        "facebook_messenger.tcp_ok_unverified": (0.0, 0.0, 0.0),
        "facebook_messenger.summary_dns_blocking": (0.6, 0.4, 0.0),
        "facebook_messenger.summary_tcp_blocking": (0.6, 0.4, 0.0),
        "facebook_messenger.summary_ok": (0.0, 0.0, 0.6),
    },
    techniques=TECHNIQUES,
)


def _dns(keys: FacebookMessengerKeys, asn: int) -> tuple[LayerVerdict | None, set[str], bool]:
    """The DNS verdict, the addresses inside the AS, and whether any AS was known."""
    hosts = {h.lower() for h in FACEBOOK_ENDPOINTS.values()}
    bad: list[Witness] = []
    good: list[Witness] = []
    inside: set[str] = set()
    known = False
    first: str | None = None
    for i, query in enumerate(keys.queries or ()):
        ref = f"test_keys.queries[{i}]"
        answers = [a for a in query.answers or () if a.answer_type in ("A", "AAAA")]
        if query.hostname.lower() not in hosts and hosts:
            continue
        if query.failure and not answers:
            bad.append(Witness(ref=ref, observed=f"{query.failure} ({query.hostname})"))
            first = first or query.failure
            continue
        for answer in answers:
            if not answer.asn:
                continue
            known = True
            where = f"{answer.address} in AS{answer.asn} ({query.hostname}; expected AS{asn})"
            if answer.asn != asn:
                bad.append(Witness(ref=ref, observed=where))
            else:
                inside.add(answer.address or "")
                good.append(Witness(ref=ref, observed=where))
    if bad:
        failed = first is not None and not any("in AS" in w.observed for w in bad)
        rule = "facebook_messenger.dns_failure" if failed else "facebook_messenger.dns_outside_asn"
        shown = technique(Layer.DNS, first) if failed else "dns_inconsistent"
        return (
            RULES.verdict(Layer.DNS, rule, technique=shown, witnesses=tuple(bad[:MAX_WITNESSES])),
            inside,
            known,
        )
    if good:
        return (
            RULES.verdict(
                Layer.DNS,
                "facebook_messenger.dns_consistent",
                witnesses=tuple(good[:MAX_WITNESSES]),
            ),
            inside,
            known,
        )
    return None, inside, known


def _tcp(keys: FacebookMessengerKeys, inside: set[str]) -> LayerVerdict | None:
    entries = [(f"test_keys.tcp_connect[{i}]", t) for i, t in enumerate(keys.tcp_connect or ())]
    failed = [
        Witness(ref=ref, observed=f"{t.status.failure or 'failed'} ({t.ip}:{t.port})")
        for ref, t in entries
        if not t.status.success
    ]
    if failed:
        first = next(t.status.failure for _, t in entries if not t.status.success)
        return RULES.verdict(
            Layer.TCP,
            "facebook_messenger.tcp_failure",
            technique=technique(Layer.TCP, first),
            witnesses=tuple(failed[:MAX_WITNESSES]),
        )
    verified = [
        Witness(ref=ref, observed=f"connected ({t.ip}:{t.port})")
        for ref, t in entries
        if t.ip in inside
    ]
    if verified:
        return RULES.verdict(
            Layer.TCP, "facebook_messenger.tcp_ok", witnesses=tuple(verified[:MAX_WITNESSES])
        )
    if entries:
        unverified = tuple(
            Witness(ref=ref, observed=f"connected ({t.ip}:{t.port}), AS unknown")
            for ref, t in entries
        )
        return RULES.verdict(
            Layer.TCP, "facebook_messenger.tcp_ok_unverified", witnesses=unverified[:MAX_WITNESSES]
        )
    return None


def _from_summary(keys: FacebookMessengerKeys) -> list[LayerVerdict]:
    out = []
    bad_dns = [e for e in FACEBOOK_ENDPOINTS if keys.consistent(e) is False]
    bad_tcp = [e for e in FACEBOOK_ENDPOINTS if e != "stun" and keys.reachable(e) is False]
    if keys.facebook_dns_blocking or bad_dns:
        w = [summary_witness(f"facebook_{e}_dns_consistent", False) for e in bad_dns]
        w.append(summary_witness("facebook_dns_blocking", keys.facebook_dns_blocking))
        out.append(
            RULES.verdict(Layer.DNS, "facebook_messenger.summary_dns_blocking", witnesses=tuple(w))
        )
    if keys.facebook_tcp_blocking or bad_tcp:
        w = [summary_witness(f"facebook_{e}_reachable", False) for e in bad_tcp]
        w.append(summary_witness("facebook_tcp_blocking", keys.facebook_tcp_blocking))
        out.append(
            RULES.verdict(Layer.TCP, "facebook_messenger.summary_tcp_blocking", witnesses=tuple(w))
        )
    reachable = [e for e in FACEBOOK_ENDPOINTS if e != "stun" and keys.reachable(e)]
    # ok only when the probe also found every host inside the AS: a connect to an address of
    # unknown AS (consistency null: no ASN database) shows nothing about Facebook.
    consistent = all(keys.consistent(e) is True for e in FACEBOOK_ENDPOINTS)
    if not out and reachable and consistent and keys.facebook_tcp_blocking is False:
        seen = tuple(summary_witness(f"facebook_{e}_reachable", True) for e in reachable)
        out.append(RULES.verdict(Layer.TCP, "facebook_messenger.summary_ok", witnesses=seen))
    return out


def analyse(measurement: AnyMeasurement, fingerprints: FingerprintDB) -> Verdict:
    keys = facebook_messenger_keys(measurement)
    if keys is None:
        return verdict_of(measurement, (), access=Layer.TCP, reason="the probe wrote no test keys")
    asn = keys.x_facebook_asn or FACEBOOK_ASN
    dns, inside, known = _dns(keys, asn)
    raw = [v for v in (dns, _tcp(keys, inside)) if v is not None]
    # Without any answer's AS (Measurement Kit wrote none; ts-019's example), the raw steps
    # cannot show consistency: the probe's own booleans decide, and the witnesses say so.
    layers = raw if known or dns is not None else (_from_summary(keys) or raw)
    return verdict_of(
        measurement,
        layers,
        access=Layer.TCP,
        reason="no connect to an address known to be in Facebook's network",
    )


ANALYSERS = {APP: analyse}
