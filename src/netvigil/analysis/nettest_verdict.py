"""One verdict from a nettest's layer verdicts, combined as web_connectivity's are.

The rule (docs/design/003, "Issue 13"): blocked when any layer is blocked, naming the
earliest *confirmed* blocked layer, else the earliest blocked one in connection order
(:data:`LAYER_ORDER`); else tampered when a layer shows traffic altered in transit; else
down when a layer shows the service failing for everyone; else **ok only when one of the
`access` layers is ok** — the layer whose success shows the app or tool works (a Telegram
data centre answering over HTTP, a tunnel bootstrapped), because a clean DNS answer or TCP
connection alone proves nothing about the service (DESIGN.md: "ok" needs evidence of
access); else insufficient, with the reason in words.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from netvigil.analysis.verdicts import LAYER_ORDER, Finding, Layer, LayerVerdict, Outcome, Verdict
from netvigil.records import AnyMeasurement

_NOTHING = "no layer has evidence for an outcome"


def _ordered(layers: Iterable[LayerVerdict]) -> list[LayerVerdict]:
    rank = {layer: n for n, layer in enumerate(LAYER_ORDER)}
    return sorted(layers, key=lambda v: rank[v.layer])  # stable: a layer's verdicts keep order


def decide(
    layers: Iterable[LayerVerdict], access: frozenset[Layer]
) -> tuple[Outcome, LayerVerdict | None]:
    """The outcome and the layer verdict that decides it (None: nothing scored)."""
    ordered = _ordered(layers)
    for verdict in ordered:
        if verdict.outcome is Outcome.BLOCKED and verdict.confirmed:
            return Outcome.BLOCKED, verdict
    for outcome in (Outcome.BLOCKED, Outcome.TAMPERED, Outcome.DOWN):
        for verdict in ordered:
            if verdict.outcome is outcome:
                return outcome, verdict
    for verdict in ordered:
        if verdict.outcome is Outcome.OK and verdict.layer in access:
            return Outcome.OK, verdict
    return Outcome.INSUFFICIENT, None


def identity(measurement: AnyMeasurement) -> dict[str, Any]:
    """The measurement's part of its verdict: which measurement, where and when."""
    return {
        "measurement_uid": measurement.measurement_uid,
        "report_id": measurement.report_id,
        "input": measurement.url or None,
        "test_name": measurement.test_name,
        "probe_cc": measurement.probe_cc,
        "probe_asn": measurement.probe_asn,
        "measurement_start_time": measurement.measurement_start_time,
    }


def verdict_of(
    measurement: AnyMeasurement,
    layers: Iterable[LayerVerdict],
    findings: Iterable[Finding] = (),
    *,
    access: Layer | frozenset[Layer],
    reason: str | None = None,
    vendor: str | None = None,
) -> Verdict:
    """The verdict of one measurement of any nettest from its layer verdicts.

    `reason` says why the outcome is insufficient (kept only then); `vendor` is kept only
    when the outcome is an anomaly (blocked or tampered) — a product is named by evidence of
    interference, not by a page that was reached.
    """
    judged = tuple(layers)
    wanted = frozenset((access,)) if isinstance(access, Layer) else access
    outcome, primary = decide(judged, wanted)
    anomalous = outcome in (Outcome.BLOCKED, Outcome.TAMPERED)
    if outcome is Outcome.INSUFFICIENT:
        reason = reason or _NOTHING
        primary = next((v for v in judged if v.outcome is Outcome.INSUFFICIENT), None)
    else:
        reason = None
    decisive = primary if outcome in (Outcome.BLOCKED, Outcome.TAMPERED, Outcome.DOWN) else None
    return Verdict(
        **identity(measurement),
        outcome=outcome,
        layer=decisive.layer if decisive else None,
        technique=primary.technique if primary else None,
        rule=primary.rule if primary else None,
        confidence=primary.confidence if primary else 0.0,
        confirmed=outcome is Outcome.BLOCKED and any(v.confirmed for v in judged),
        layers=judged,
        findings=tuple(findings),
        reason=reason,
        vendor=vendor if anomalous else None,
    )
