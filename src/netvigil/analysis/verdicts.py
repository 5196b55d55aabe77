"""Layered verdicts: what each layer says, how sure we are, and the witnesses behind it.

Model (docs/design/003-verdict-model.md): every layer (dns, tcp, tls, http) gets a
`(blocked, down, ok)` triple from the first rule that applies, as in OONI's new pipeline
(ooni/data docs/ontology.md; ooni.md §9), plus what OONI's lacks: a technique name, the
witness observations (with the control's view beside them), the counter-evidence, and an
HTTP layer. Scores are data in :data:`RULES`, so a rule's weight can be reviewed in one
place and old data re-analysed when it changes (bump :data:`RULES_VERSION`).

"insufficient" is a first-class outcome: when no outcome scores above the others, we say
so rather than guess (ooni.md §9, key idea 4).
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

RULES_VERSION = "2026.12.3"  # issue 13 (docs/design/003: "Issue 13")


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


# rule id -> (blocked, down, ok). Numbers from ooni/data analysis/rules.py where a rule
# has an equivalent there (ooni.md §9); ours are marked "new" in docs/design/003.
RULES: dict[str, tuple[float, float, float]] = {
    "dns.no_data": (0.0, 0.0, 0.0),
    "dns.blockpage_answer": (1.0, 0.0, 0.0),
    "dns.bogon_not_in_control": (0.95, 0.05, 0.0),
    "dns.bogon_in_control": (0.1, 0.9, 0.0),
    "dns.bogon_in_control_page_ok": (0.0, 0.1, 0.9),
    "dns.answer_for_nonexistent_domain": (0.9, 0.05, 0.05),
    "dns.answer_not_valid_for_domain": (0.9, 0.05, 0.05),
    "dns.answer_matches_control": (0.0, 0.0, 0.9),
    "dns.answer_tls_valid": (0.0, 0.0, 1.0),
    "dns.answer_asn_matches_control": (0.2, 0.0, 0.8),
    "dns.answer_serves_control_page": (0.1, 0.0, 0.9),
    "dns.answer_unmatched": (0.75, 0.0, 0.25),
    "dns.answer_no_control": (0.0, 0.0, 0.0),
    "dns.failure_control_ok": (0.9, 0.1, 0.0),
    "dns.failure_control_also_failing": (0.1, 0.9, 0.0),
    "dns.no_answer_control_empty": (0.1, 0.9, 0.0),
    "dns.failure_after_redirect_page_ok": (0.8, 0.2, 0.0),
    "dns.failure_no_control": (0.5, 0.5, 0.0),
    "tcp.no_data": (0.0, 0.0, 0.0),
    "tcp.connect_ok": (0.0, 0.0, 1.0),
    "tcp.failure_control_ok": (0.75, 0.25, 0.0),
    "tcp.failure_control_also_failing": (0.25, 0.75, 0.0),
    "tcp.failure_after_redirect_page_ok": (0.7, 0.3, 0.0),
    "tcp.failure_no_control": (0.5, 0.5, 0.0),
    "tls.no_data": (0.0, 0.0, 0.0),
    "tls.handshake_ok": (0.0, 0.0, 1.0),
    "tls.certificate_control_ok": (0.9, 0.1, 0.0),
    "tls.failure_control_ok_reset": (0.8, 0.2, 0.0),
    "tls.failure_control_ok_other": (0.7, 0.3, 0.0),
    "tls.failure_control_also_failing": (0.1, 0.9, 0.0),
    "tls.failure_after_redirect_page_ok": (0.7, 0.3, 0.0),
    "tls.failure_no_control": (0.5, 0.5, 0.0),
    "http.no_data": (0.0, 0.0, 0.0),
    "http.blockpage_fingerprint": (1.0, 0.0, 0.0),
    "http.final_over_tls": (0.0, 0.0, 1.0),
    "http.server_challenge": (0.05, 0.1, 0.85),
    "http.matches_control": (0.0, 0.0, 0.9),
    "http.diff": (0.7, 0.0, 0.3),
    "http.final_no_control": (0.0, 0.0, 0.0),
    "http.final_control_failed": (0.0, 0.0, 0.0),
    "http.failure_control_also_failing": (0.1, 0.9, 0.0),
    "http.server_protocol_error": (0.1, 0.8, 0.1),
    "http.redirect_to_bogon": (0.9, 0.05, 0.05),
    "http.throttled": (0.8, 0.2, 0.0),
    "http.failure_control_ok": (0.8, 0.2, 0.0),
    "http.failure_no_control": (0.5, 0.5, 0.0),
}


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


def rule_outcome(rule: str) -> Outcome:
    """The outcome a web_connectivity rule gives (the strict argmax of its scores)."""
    return WEB_RULES.outcome(rule)


def rule_confidence(rule: str) -> float:
    """The confidence a web_connectivity rule gives: its winning score, 0 when insufficient."""
    return WEB_RULES.verdict(Layer.DNS, rule).confidence


def layer_verdict(
    layer: Layer,
    rule: str,
    *,
    technique: str | None = None,
    confirmed: bool = False,
    witnesses: tuple[Witness, ...] = (),
    counter_evidence: tuple[str, ...] = (),
) -> LayerVerdict:
    """A web_connectivity layer's verdict from a rule id (see :class:`RuleBook`)."""
    return WEB_RULES.verdict(
        layer,
        rule,
        technique=technique,
        confirmed=confirmed,
        witnesses=witnesses,
        counter_evidence=counter_evidence,
    )


class RuleBook:
    """One nettest's rules: rule id -> (blocked, down, ok), as :data:`RULES` is for
    web_connectivity, with the same strict-argmax semantics as :func:`layer_verdict`.

    A rule in `tampering` whose argmax is "blocked" gives the outcome TAMPERED: the scores
    weigh "something interfered" against "down" and "ok" alike, the outcome says how.
    """

    def __init__(
        self,
        rules: dict[str, tuple[float, float, float]],
        tampering: frozenset[str] = frozenset(),
    ) -> None:
        unknown = tampering - rules.keys()
        if unknown:
            raise ValueError(f"tampering rules not in the book: {sorted(unknown)}")
        self.rules = dict(rules)
        self.tampering = tampering
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
        """A layer's verdict from one of this book's rules (KeyError for any other id)."""
        blocked, down, ok = self.rules[rule]
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


WEB_RULES = RuleBook(RULES)
