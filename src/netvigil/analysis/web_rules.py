"""web_connectivity's rule book: every rule's scores and every technique its layers name.

The rules (analysis/dns_rules.py, transport_rules.py, http_rules.py) are applied in order,
first match wins; their scores live here so a weight is reviewed in one place
(docs/design/003). A technique is `<layer>_<how>` — the failure kind as the rules name it —
or a blockpage's fingerprint, `http_blockpage:<name>` (analysis/fingerprints.py).
"""

from __future__ import annotations

from typing import Final

from netvigil.analysis.verdicts import Layer, LayerVerdict, Outcome, RuleBook, Witness

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

_FAILURES = ("timeout", "reset", "refused", "eof", "unreachable", "failure")
TECHNIQUES: Final = frozenset(
    {
        *(
            f"dns_{t}"
            for t in (
                "nxdomain", "no_answer", "refused", "servfail", "timeout", "bogon", "loopback",
                "failure", "injection", "blockpage_ip",
            )
        ),
        *(f"tcp_{t}" for t in _FAILURES),
        *(f"tls_{t}" for t in _FAILURES),
        "tls_mitm_certificate",
        *(f"http_{t}" for t in ("diff", "reset", "eof", "timeout", "failure", "redirect_bogon")),
        "server_challenge",
        "throttling",
    }
)  # fmt: skip
BLOCKPAGE_PREFIX: Final = "http_blockpage:"  # + a fingerprint's name

WEB_RULES = RuleBook(RULES, techniques=TECHNIQUES, named=(BLOCKPAGE_PREFIX,))


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
