"""The DNS layer: was the system resolver's answer the site's, and if not, how was it wrong?

Rules in order; the first that applies decides (scores in web_rules.RULES). They follow
OONI's new pipeline (ooni/data analysis/rules.py, ooni.md §9) and add what it lacks:
a check of every answer against DNS blockpage fingerprints with the confirmation rule of
docs/fingerprints.md, "ghost" answers for names the control says do not exist
(ooni/probe#2308), a validated-TLS check by the test helper (`ip_info` flag 8), and
lookups that fail after a redirect.
"""

from __future__ import annotations

from netvigil.addresses import is_loopback, parse_ip
from netvigil.analysis.fingerprints import FingerprintDB, confirms
from netvigil.analysis.model import Observed, ObservedLookup
from netvigil.analysis.trust import (
    SAME_AS,
    VALID_FOR_DOMAIN,
    control_asns,
    tls_validated,
    vouched,
)
from netvigil.analysis.verdicts import Finding, Layer, LayerVerdict, Witness
from netvigil.analysis.web_rules import layer_verdict
from netvigil.failures import Failure, FailureKind, kind_of

_TECHNIQUE = {
    FailureKind.NXDOMAIN: "dns_nxdomain",
    FailureKind.NO_ANSWER: "dns_no_answer",
    FailureKind.DNS_REFUSED: "dns_refused",
    FailureKind.DNS_SERVER_ERROR: "dns_servfail",
    FailureKind.TIMEOUT: "dns_timeout",
    FailureKind.DNS_BOGON: "dns_bogon",
}


def _witness(lookup: ObservedLookup, seen: Observed) -> Witness:
    observed = lookup.failure or ("answers " + ", ".join(sorted(lookup.addrs)) or "no answer")
    control = None
    if seen.control is not None and lookup.depth == 0:
        ctrl = seen.control
        control = ctrl.dns_failure or "answers " + (", ".join(sorted(ctrl.dns_addrs)) or "none")
    return Witness(ref=f"test_keys.queries[{lookup.index}]", observed=observed, control=control)


def _ignored(lookup: ObservedLookup) -> bool:
    # A missing AAAA record is not censorship (ooni/probe#2290 and ooni.md §1.5).
    return lookup.query_type == "AAAA" and lookup.failure == Failure.DNS_NO_ANSWER


def dns_layer(
    seen: Observed, fingerprints: FingerprintDB, probe_cc: str, page_matches_control: bool
) -> tuple[LayerVerdict, list[Finding]]:
    """The DNS layer's verdict and findings. `page_matches_control`: the HTTP layer's say."""
    findings: list[Finding] = []
    reached = max((step.depth for step in seen.http), default=-1)
    for lookup in seen.lookups:
        # A failed lookup while following redirects stops the chain there.
        if lookup.depth > 0 and lookup.failure and not _ignored(lookup) and lookup.depth > reached:
            witness = (_witness(lookup, seen),)
            technique = _TECHNIQUE.get(kind_of(lookup.failure), "dns_failure")
            page_ok = seen.control is not None and not seen.control.page_failure
            rule = "dns.failure_after_redirect_page_ok" if page_ok else "dns.failure_no_control"
            return layer_verdict(Layer.DNS, rule, technique=technique, witnesses=witness), findings
    first = [lookup for lookup in seen.lookups if lookup.depth == 0 and not _ignored(lookup)]
    if not first:
        return layer_verdict(Layer.DNS, "dns.no_data"), findings
    witnesses = tuple(_witness(lookup, seen) for lookup in first)
    answers = frozenset(ip for lookup in first for ip in lookup.addrs)
    ctrl = seen.control

    def verdict(rule: str, technique: str | None = None, confirmed: bool = False) -> LayerVerdict:
        return layer_verdict(
            Layer.DNS, rule, technique=technique, confirmed=confirmed, witnesses=witnesses
        )

    # 1. A known blockpage address, confirmed when its country fits (docs/fingerprints.md).
    for ip in sorted(answers):
        for match in fingerprints.match_dns(ip):
            if confirms(match.fingerprint, probe_cc):
                return verdict("dns.blockpage_answer", "dns_blockpage_ip", confirmed=True), findings
            findings.append(
                Finding(
                    kind="dns_fingerprint_unconfirmed",
                    layer=Layer.DNS,
                    detail=f"{ip} matches {match.fingerprint.name} ({match.fingerprint.scope}, "
                    f"{','.join(match.fingerprint.expected_countries) or 'no country'})",
                    witnesses=witnesses,
                )
            )
    # 2. Bogons: a censor's sinkhole unless the site's own DNS says the same.
    bogons = frozenset(ip for ip in answers if seen.bogon(ip))
    if bogons and ctrl is not None:
        if bogons & ctrl.dns_addrs or (ctrl.dns_addrs and all(map(seen.bogon, ctrl.dns_addrs))):
            if page_matches_control:
                # The site's own DNS publishes the private address too, and the probe
                # fetched the control's page: neither down nor interference.
                findings.append(
                    Finding(
                        kind="dns_bogon_in_control",
                        layer=Layer.DNS,
                        detail=f"the resolver's private answer(s) {', '.join(sorted(bogons))} "
                        "are also the control's, and the page fetched matches the control's",
                        witnesses=witnesses,
                    )
                )
                return verdict("dns.bogon_in_control_page_ok"), findings
            return verdict("dns.bogon_in_control"), findings
        technique = "dns_loopback" if all(map(is_loopback, bogons)) else "dns_bogon"
        return verdict("dns.bogon_not_in_control", technique, confirmed=True), findings
    # 3. Failures with no answer at all.
    if not answers:
        failure = next((lookup.failure for lookup in first if lookup.failure), "")
        technique = _TECHNIQUE.get(kind_of(failure), "dns_failure")
        if ctrl is None:
            return verdict("dns.failure_no_control", technique), findings
        if ctrl.dns_failure:
            return verdict("dns.failure_control_also_failing"), findings
        # An address, not a name: OONI's older test helper put the CNAMEs it followed in
        # `addrs` too (a closed site's control answer can be its own name and nothing else),
        # and a name the control could not turn into an address is no sign the site resolves.
        if not any(parse_ip(a) for a in ctrl.dns_addrs):
            return verdict("dns.no_answer_control_empty"), findings
        return verdict("dns.failure_control_ok", technique), findings
    # 4. Answers: are they the site's?
    if ctrl is not None and answers & ctrl.dns_addrs:
        return verdict("dns.answer_matches_control"), findings
    validated = tls_validated(seen)
    if ctrl is None:
        rule = "dns.answer_tls_valid" if answers & validated else "dns.answer_no_control"
        return verdict(rule), findings
    asns = control_asns(seen)
    reasons = {ip: vouched(seen, ip, validated, asns) for ip in sorted(answers)}
    if any(reasons.values()):
        detail = "; ".join(f"{ip}: {why}" for ip, why in reasons.items() if why)
        findings.append(
            Finding(
                kind="dns_answer_not_in_control",
                layer=Layer.DNS,
                detail="the resolver's answer differs from the control's but is vouched for "
                f"({detail}): a transparent proxy, a CDN or geo-DNS",
                witnesses=witnesses,
            )
        )
        weakest = all(why in (None, SAME_AS) for why in reasons.values())
        rule = "dns.answer_asn_matches_control" if weakest else "dns.answer_tls_valid"
        return verdict(rule), findings
    if ctrl.dns_failure:
        # "Ghost" blocking: the site's name does not exist, yet the resolver answers.
        return verdict("dns.answer_for_nonexistent_domain", "dns_injection"), findings
    if any(flags & VALID_FOR_DOMAIN for flags in ctrl.ip_flags.values()):
        # The control validated TLS on its own addresses and on none of ours.
        return verdict("dns.answer_not_valid_for_domain", "dns_injection"), findings
    if page_matches_control:
        findings.append(
            Finding(
                kind="dns_answer_not_in_control",
                layer=Layer.DNS,
                detail="the resolver's answer differs from the control's, but the page fetched "
                "from it matches the control's: a transparent proxy",
                witnesses=witnesses,
            )
        )
        return verdict("dns.answer_serves_control_page"), findings
    return verdict("dns.answer_unmatched", "dns_injection"), findings
