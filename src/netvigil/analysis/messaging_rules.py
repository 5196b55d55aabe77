"""Layer verdicts shared by the messaging nettests, from traced targets (messaging_trace).

Two readings of a set of targets, both OONI's:

- **every target counts** (signal's backends, whatsapp's registration and web, telegram's
  web): one target failing at a layer makes that layer blocked, as OONI sets
  `signal_backend_status`, `registration_server_status`, `telegram_web_status` to "blocked"
  on any failure (probe-cli signal.go, whatsapp.go, telegram.go `Update`);
- **any target suffices** (telegram's data centres, whatsapp's e1–e16 endpoints): the
  layer is blocked only when every target failed there (`telegram_tcp_blocking`,
  `whatsapp_endpoints_status`); a partial failure is a finding, not a block.

There is no control in these tests: a failure scores blocked over down, never certain. A
certificate the pinned/system roots reject is a replaced certificate: `tampered`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from netvigil.analysis.messaging_trace import Target, technique
from netvigil.analysis.verdicts import (
    LAYER_ORDER,
    Finding,
    Layer,
    LayerVerdict,
    Outcome,
    RuleBook,
    Witness,
)
from netvigil.failures import FailureKind, kind_of

MAX_WITNESSES = 40
_SEVERITY = (Outcome.BLOCKED, Outcome.TAMPERED, Outcome.DOWN, Outcome.OK, Outcome.INSUFFICIENT)


def target_rules(app: str, part: str = "") -> dict[str, tuple[float, float, float]]:
    """The per-layer rules of :func:`every_target` for `app` (blocked, down, ok); `part`
    names a group of targets in the rule id ("web_" gives "telegram.web_dns_failure")."""
    name = f"{app}.{part}"
    return {
        f"{name}dns_failure": (0.7, 0.3, 0.0),
        f"{name}tcp_failure": (0.7, 0.3, 0.0),
        f"{name}tls_failure": (0.75, 0.25, 0.0),
        f"{name}tls_certificate_invalid": (0.8, 0.2, 0.0),  # tampering
        f"{name}http_failure": (0.7, 0.3, 0.0),
        f"{name}dns_ok": (0.0, 0.0, 0.8),
        f"{name}tcp_ok": (0.0, 0.0, 0.9),
        f"{name}tls_ok": (0.0, 0.0, 0.9),
        f"{name}http_ok": (0.0, 0.0, 1.0),
    }


def tampering(app: str, part: str = "") -> frozenset[str]:
    return frozenset({f"{app}.{part}tls_certificate_invalid"})


def every_target(
    app: str, targets: Sequence[Target], rules: RuleBook, part: str = ""
) -> list[LayerVerdict]:
    """One verdict per layer with data: blocked if any target failed there, else ok."""
    name = f"{app}.{part}"
    out: list[LayerVerdict] = []
    for layer in LAYER_ORDER:
        failing = [(t, f[1]) for t in targets if (f := t.failure()) and f[0] is layer]
        passing = [t for t in targets if t.passed(layer)]
        if failing:
            first = failing[0][1][0].failure
            cert = layer is Layer.TLS and kind_of(first) is FailureKind.TLS_CERTIFICATE
            rule = f"{name}tls_certificate_invalid" if cert else f"{name}{layer.value}_failure"
            witnesses = [s.witness(f" ({t.name})") for t, steps in failing for s in steps]
            out.append(
                rules.verdict(
                    layer,
                    rule,
                    technique="tls_mitm_certificate" if cert else technique(layer, first),
                    witnesses=tuple(witnesses[:MAX_WITNESSES]),
                    counter_evidence=tuple(f"{t.name}: {layer.value} worked" for t in passing),
                )
            )
        elif passing:
            steps = [s for t in passing for s in t.at(layer) if not s.failure]
            out.append(
                rules.verdict(
                    layer,
                    f"{name}{layer.value}_ok",
                    witnesses=tuple(s.witness() for s in steps[:MAX_WITNESSES]),
                )
            )
    return out


def partial(app: str, what: str, layer: Layer, failed: Sequence[Witness], total: int) -> Finding:
    """Some, not all, of a group failed: worth knowing, not a block."""
    return Finding(
        kind=f"{app}.partial_{what}",
        layer=layer,
        detail=f"{len(failed)} of {total} {what} failed; the others worked",
        witnesses=tuple(failed[:MAX_WITNESSES]),
    )


def pick(candidates: Iterable[LayerVerdict]) -> list[LayerVerdict]:
    """One verdict per layer: the most severe (blocked, tampered, down, ok), first wins."""
    best: dict[Layer, LayerVerdict] = {}
    for verdict in candidates:
        held = best.get(verdict.layer)
        if held is None or _SEVERITY.index(verdict.outcome) < _SEVERITY.index(held.outcome):
            best[verdict.layer] = verdict
    return [best[layer] for layer in LAYER_ORDER if layer in best]


def summary_witness(key: str, value: object) -> Witness:
    """A witness that is only the probe's own summary key (no raw observation to show)."""
    shown = "null" if value is None else str(value).lower() if isinstance(value, bool) else value
    return Witness(
        ref=f"test_keys.{key}",
        observed=f"{shown} (the probe's summary only: no raw observation recorded)",
    )
