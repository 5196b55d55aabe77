"""Layered verdicts: what each layer says, how sure we are, and the witnesses behind it.

Model (docs/design/003-verdict-model.md): every layer (dns, tcp, tls, http) gets a
`(blocked, down, ok)` triple from the first rule that applies, as in OONI's new pipeline
(ooni/data docs/ontology.md; ooni.md §9), plus what OONI's lacks: a technique name, the
witness observations (with the control's view beside them), the counter-evidence, and an
HTTP layer. Scores are data in each nettest's :class:`RuleBook` (web_connectivity's is
analysis/web_rules.py), so a rule's weight can be reviewed in one place and old data
re-analysed when it changes (bump :data:`RULES_VERSION`). A book also declares the techniques
its verdicts may name, so the data API and the explorer know them all (analysis/nettests.py).

"insufficient" is a first-class outcome: when no outcome scores above the others, we say
so rather than guess (ooni.md §9, key idea 4).
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

RULES_VERSION = "2026.12.4"  # issue 13 (docs/design/003: "Issue 13")


class Layer(StrEnum):
    DNS = "dns"
    TCP = "tcp"
    UDP = "udp"  # STUN, Do53 over UDP: a datagram and its reply (issue 13)
    TLS = "tls"
    HTTP = "http"
    TUNNEL = "tunnel"  # a circumvention tool's bootstrap or tunnel handshake (issue 13)


# Connection order: a later layer's failure on the way to a censor's answer is a consequence.
LAYER_ORDER = (Layer.DNS, Layer.TCP, Layer.UDP, Layer.TLS, Layer.HTTP, Layer.TUNNEL)


class Outcome(StrEnum):
    BLOCKED = "blocked"
    # Traffic altered in transit (a middlebox rewrote headers or a request line, a
    # certificate was replaced): an anomaly, but the thing asked for was not refused.
    TAMPERED = "tampered"
    DOWN = "down"
    OK = "ok"
    INSUFFICIENT = "insufficient"


class Witness(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One observation behind a verdict, and what the control saw of the same thing."""

    ref: str  # a JSON-pointer-like path into the measurement, e.g. "test_keys.queries[2]"
    observed: str
    control: str | None = None


class LayerVerdict(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    layer: Layer
    outcome: Outcome
    blocked: float
    down: float
    ok: float
    rule: str
    technique: str | None = None
    confidence: float = 0.0
    confirmed: bool = False
    witnesses: tuple[Witness, ...] = ()
    counter_evidence: tuple[str, ...] = ()


class Finding(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Something worth knowing that does not decide the outcome (e.g. a transparent proxy)."""

    kind: str
    layer: Layer
    detail: str
    witnesses: tuple[Witness, ...] = ()


class Verdict(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    measurement_uid: str | None
    report_id: str | None
    input: str | None
    test_name: str
    probe_cc: str | None
    probe_asn: str | None
    measurement_start_time: str | None
    outcome: Outcome
    layer: Layer | None
    technique: str | None
    rule: str | None
    confidence: float
    confirmed: bool
    layers: tuple[LayerVerdict, ...]
    findings: tuple[Finding, ...] = ()
    rules_version: str = RULES_VERSION
    # Why the outcome is `insufficient`, in words (e.g. "no control: ..."); None otherwise.
    reason: str | None = None
    # The product a blockpage fingerprint or a middlebox's behaviour identifies (issue 13).
    vendor: str | None = None


def _argmax(scores: tuple[float, float, float]) -> tuple[Outcome, float]:
    best = max(scores)
    winners = [
        o
        for o, s in zip((Outcome.BLOCKED, Outcome.DOWN, Outcome.OK), scores, strict=True)
        if s == best
    ]
    return (winners[0], best) if best > 0 and len(winners) == 1 else (Outcome.INSUFFICIENT, best)


class RuleBook:
    """One nettest's rules: rule id -> (blocked, down, ok), with a strict argmax (the
    outcome whose score is highest, alone and above 0; else insufficient).

    A rule in `tampering` whose argmax is "blocked" gives the outcome TAMPERED: the scores
    weigh "something interfered" against "down" and "ok" alike, the outcome says how.

    `techniques` are the only ids a verdict of this book may name (stable, lowercase; counts
    and phases go in its witnesses), and `named` the prefixes of techniques that carry a
    name (`http_blockpage:<fingerprint>`). Another technique is this code's mistake, refused
    where it is made rather than stored where no filter finds it.
    """

    def __init__(
        self,
        rules: dict[str, tuple[float, float, float]],
        tampering: frozenset[str] = frozenset(),
        *,
        techniques: frozenset[str] = frozenset(),
        named: tuple[str, ...] = (),
    ) -> None:
        unknown = tampering - rules.keys()
        if unknown:
            raise ValueError(f"tampering rules not in the book: {sorted(unknown)}")
        self.rules = dict(rules)
        self.tampering = tampering
        self.techniques = techniques
        self.named = named
        self._outcomes = {rule: _argmax(scores) for rule, scores in rules.items()}

    def outcome(self, rule: str) -> Outcome:
        outcome = self._outcomes[rule][0]
        if outcome is Outcome.BLOCKED and rule in self.tampering:
            return Outcome.TAMPERED
        return outcome

    def verdict(
        self,
        layer: Layer,
        rule: str,
        *,
        technique: str | None = None,
        confirmed: bool = False,
        witnesses: tuple[Witness, ...] = (),
        counter_evidence: tuple[str, ...] = (),
    ) -> LayerVerdict:
        """A layer's verdict from one of this book's rules (KeyError for any other id;
        ValueError for a technique the book does not declare)."""
        blocked, down, ok = self.rules[rule]
        if technique is not None and not (
            technique in self.techniques or technique.startswith(self.named)
        ):
            raise ValueError(f"{rule}: technique {technique!r} is not one the book declares")
        outcome, best = self.outcome(rule), self._outcomes[rule][1]
        judged = outcome is not Outcome.INSUFFICIENT
        return LayerVerdict(
            layer=layer,
            outcome=outcome,
            blocked=blocked,
            down=down,
            ok=ok,
            rule=rule,
            technique=technique if judged else None,
            confidence=best if judged else 0.0,
            confirmed=confirmed and outcome is Outcome.BLOCKED,
            witnesses=witnesses,
            counter_evidence=counter_evidence,
        )
