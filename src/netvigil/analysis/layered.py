"""The layered verdict of one measurement: per-layer scores, then one explained outcome.

Combination rule (docs/design/003-verdict-model.md): the outcome is "blocked" when any
layer is blocked, and it names the earliest *confirmed* blocked layer, else the *earliest*
blocked layer in connection order (DNS, TCP, TLS, HTTP), because a later failure on the way
to a censor-chosen address is a consequence, not a second finding. Otherwise "down" when a
layer shows the site failing for the control too, "ok" when the page (or a layer on the way
to it) was reached, and "insufficient" when nothing scores. Every layer verdict is kept in
the result with its witnesses, so the outcome can always be checked against the measurement.

No control, no verdict: when the test helper did not answer, only a confirmed artefact (a
blockpage fingerprint whose country fits) can decide; anything else is "insufficient" with
the reason "no control", however well the fetch went.
"""

from __future__ import annotations

from collections.abc import Iterable

from netvigil.addresses import REAL_WORLD, Bogons
from netvigil.analysis.dns_rules import dns_layer
from netvigil.analysis.fingerprint_attribution import blockpage_vendor
from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.http_rules import diff_of, http_layer
from netvigil.analysis.model import Observed
from netvigil.analysis.nettest_verdict import identity
from netvigil.analysis.nettests import ANALYSERS
from netvigil.analysis.observe import observe
from netvigil.analysis.tls_interception import tls_interception
from netvigil.analysis.transport_rules import transport_layers
from netvigil.analysis.trust import untrusted
from netvigil.analysis.verdicts import (
    LAYER_ORDER,
    Finding,
    Layer,
    LayerVerdict,
    Outcome,
    Verdict,
)
from netvigil.records import AnyMeasurement, WebConnectivityKeys, web_connectivity_keys


def judge(
    seen: Observed, fingerprints: FingerprintDB, probe_cc: str
) -> tuple[tuple[LayerVerdict, ...], tuple[Finding, ...]]:
    """All four layer verdicts and the findings, from the model of one measurement."""
    # The deepest HTTP step is where the fetch ended; its diff serves the DNS and HTTP rules.
    last = max(seen.http, key=lambda step: step.depth) if seen.http else None
    diff = diff_of(last, seen) if last is not None and last.final else None
    page_matches_control = diff is not None and not diff.differs
    dns, dns_findings = dns_layer(seen, fingerprints, probe_cc, page_matches_control)
    # Only mask addresses when DNS itself was found wanting (OONI v5 `dns_untrusted`).
    masked = untrusted(seen) if dns.outcome is Outcome.BLOCKED else frozenset()
    tcp, tls = transport_layers(seen, masked)
    ips = {o.transaction_id: o.ip or "" for o in seen.endpoints}
    http, http_findings = http_layer(seen, fingerprints, probe_cc, masked, ips, diff)
    return (dns, tcp, tls, http), tuple(dns_findings + http_findings)


def combine(layers: tuple[LayerVerdict, ...]) -> tuple[Outcome, LayerVerdict | None]:
    by_layer = {v.layer: v for v in layers}
    ordered = [by_layer[layer] for layer in LAYER_ORDER if layer in by_layer]
    # A confirmed artefact is the censor's signature and names the finding, even when an
    # earlier layer also failed: a censor's 302 to its blockpage, then a blockpage host the
    # probe cannot resolve, is the blockpage, not an NXDOMAIN.
    for verdict in ordered:
        if verdict.outcome is Outcome.BLOCKED and verdict.confirmed:
            return Outcome.BLOCKED, verdict
    for outcome in (Outcome.BLOCKED, Outcome.DOWN):
        for verdict in ordered:
            if verdict.outcome is outcome:
                return outcome, verdict
    # "ok" means the page was reached: a clean DNS answer and connection prove nothing
    # when the fetch itself produced no usable result (e.g. a probe-side bug).
    http = by_layer.get(Layer.HTTP)
    if http is not None and http.outcome is Outcome.OK:
        return Outcome.OK, http
    return Outcome.INSUFFICIENT, _saying_why(ordered)


def _saying_why(layers: Iterable[LayerVerdict]) -> LayerVerdict | None:
    """The layer whose rule says why nothing can be said (e.g. "http.final_no_control")."""
    return next(
        (v for v in layers if "no_control" in v.rule or v.rule in _NOTHING_TO_COMPARE), None
    )


# A page the probe got while the test helper's own fetch failed has nothing to be compared
# with: it may be the site or an unknown blockpage, so it does not show access either.
_NOTHING_TO_COMPARE = frozenset({"http.final_control_failed"})


def no_control_reason(keys: WebConnectivityKeys) -> str:
    failure = f" ({keys.control_failure})" if keys.control_failure else ""
    return f"no control: the test helper did not answer{failure}"


def analyze_web(
    measurement: AnyMeasurement,
    keys: WebConnectivityKeys | None,
    fingerprints: FingerprintDB,
    bogon: Bogons = REAL_WORLD,
) -> Verdict:
    """The layered verdict of a web_connectivity measurement (keys may be missing).

    `bogon` says which addresses are bogons; a lab passes the networks it uses as "public".
    """
    probe_cc = (measurement.probe_cc or "ZZ").upper()
    layers: tuple[LayerVerdict, ...] = ()
    findings: tuple[Finding, ...] = ()
    tls_vendor: str | None = None  # a product a forged certificate's issuer names
    no_control = False
    answers: tuple[str, ...] = ()
    if keys is not None:
        seen = observe(keys, measurement.url, bogon)
        layers, findings = judge(seen, fingerprints, probe_cc)
        interception, tls_vendor = tls_interception(keys, seen)
        findings += interception
        no_control = seen.control is None
        answers = tuple(ip for lookup in seen.lookups if lookup.depth == 0 for ip in lookup.addrs)
    outcome, primary = combine(layers)
    reason: str | None = None
    if no_control and not (outcome is Outcome.BLOCKED and primary and primary.confirmed):
        # The rules already hold back without a control; this makes it a guarantee.
        if outcome is not Outcome.INSUFFICIENT:
            outcome, primary = Outcome.INSUFFICIENT, _saying_why(layers)
        assert keys is not None
        reason = no_control_reason(keys)
    elif outcome is Outcome.INSUFFICIENT:
        if any(v.rule in _NOTHING_TO_COMPARE for v in layers):
            reason = "no control: the test helper could not fetch the page to compare with"
        else:
            reason = "no layer has evidence for an outcome" if layers else "no test keys"
    decisive = primary if outcome in (Outcome.BLOCKED, Outcome.DOWN) else None
    return Verdict(
        **identity(measurement),
        outcome=outcome,
        layer=decisive.layer if decisive else None,
        technique=primary.technique if primary else None,
        rule=primary.rule if primary else None,
        confidence=primary.confidence if primary else 0.0,
        confirmed=any(v.confirmed for v in layers) and outcome is Outcome.BLOCKED,
        layers=layers,
        findings=findings,
        reason=reason,
        # The blockpage's product first (the decisive evidence), else the one a forged
        # certificate's issuer names.
        vendor=blockpage_vendor(decisive, fingerprints, probe_cc, answers)
        or (tls_vendor if outcome is Outcome.BLOCKED else None),
    )


def analyze(
    measurement: AnyMeasurement, fingerprints: FingerprintDB, bogon: Bogons = REAL_WORLD
) -> Verdict:
    """Layered verdict of any measurement; raises MeasurementFormatError on bad test keys
    and UnsupportedTest for a nettest no analyser judges (analysis/nettests.py)."""
    if measurement.test_name == "web_connectivity":
        return analyze_web(measurement, web_connectivity_keys(measurement), fingerprints, bogon)
    analyser = ANALYSERS.get(measurement.test_name)
    if analyser is None:
        raise UnsupportedTest(measurement.test_name)
    return analyser(measurement, fingerprints)


class UnsupportedTest(ValueError):
    """A nettest the layered engine does not judge yet (its keys are kept, not analysed)."""

    def __init__(self, test_name: str) -> None:
        super().__init__(f"no layered analysis for test_name {test_name!r}")
        self.test_name = test_name


__all__ = ["Layer", "UnsupportedTest", "analyze", "analyze_web", "combine", "judge"]
